import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Template } from 'aws-cdk-lib/assertions';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.js';
import type { SignedCallbacksStack } from '../../infra/stack.js';
import { createDedupeTable, LOCAL_AWS_ENV, startDynamoStandIn, type DynamoStandIn } from '../../local/stand-ins/dynamodb.js';
import { startEventBridgeStandIn, type EventBridgeStandIn } from '../../local/stand-ins/eventbridge.js';
import { startSecretsManagerStandIn, type SecretsManagerStandIn } from '../../local/stand-ins/secrets-manager.js';
import { functionUrlEvent } from '../support/events.js';
import { logicalId, testApp } from './support.js';

/**
 * The Standard Webhooks function exactly as `cdk synth` bundles it (the generic webhook handler,
 * told its provider by the environment the stack sets), run against stand-ins that speak the AWS
 * wire protocols: a delivery signed by the official library reaches the bus once.
 */
const SECRET = `whsec_${Buffer.from('bundle-test-standard-webhooks-key').toString('base64')}`;

let outdir: string;
let stack: SignedCallbacksStack;
let template: Template;
let dynamo: DynamoStandIn;
let bus: EventBridgeStandIn;
let secretsManager: SecretsManagerStandIn;
const saved = { ...process.env };

beforeAll(async () => {
  outdir = mkdtempSync(join(tmpdir(), 'cdk-generic-webhook-'));
  ({ stack } = buildApp(testApp({ providers: 'standardwebhooks' }, outdir)));
  template = Template.fromStack(stack);
  [dynamo, bus, secretsManager] = await Promise.all([startDynamoStandIn(), startEventBridgeStandIn(), startSecretsManagerStandIn({ secrets: { 'standardwebhooks-signing': JSON.stringify({ signingSecret: SECRET }) } })]);
  await createDedupeTable(dynamo.client, 'dedupe');
});

afterAll(async () => {
  process.env = saved;
  await Promise.all([dynamo?.close(), bus?.close(), secretsManager?.close()]);
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

interface FunctionResource {
  readonly Properties: { Code: { S3Key: string }; Environment: { Variables: Record<string, unknown> } };
}

describe('standardwebhooks: the synthesised function', () => {
  it('bundles functions/webhook/handler.ts, told its provider by PROVIDER_ID; a library-signed delivery reaches the bus once (Standard Webhooks spec)', async () => {
    const fn = template.findResources('AWS::Lambda::Function')[logicalId(stack.endpoints.standardwebhooks!.function)] as FunctionResource;
    const variables = fn.Properties.Environment.Variables;
    expect(variables).toMatchObject({ PROVIDER_ID: 'standardwebhooks', EVENT_SINK: 'eventbridge' });

    // The stack's own environment, with the resources it points at replaced by the stand-ins.
    const literal = Object.fromEntries(Object.entries(variables).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
    Object.assign(process.env, literal, LOCAL_AWS_ENV, {
      SIGNING_SECRET_ID: 'standardwebhooks-signing',
      EVENT_BUS_NAME: 'webhooks',
      DEDUPE_TABLE: 'dedupe',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: bus.endpoint,
    });
    const bundle = join(outdir, `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, '')}`, 'index.mjs');
    const { handler } = (await import(pathToFileURL(bundle).href)) as { handler: (event: unknown) => Promise<{ statusCode: number; body: string }> };

    const body = JSON.stringify({ type: 'invoice.paid', timestamp: new Date().toISOString(), data: { invoiceId: 'in_bundle_1', amount: 1e400 } });
    const deliver = (at: Date) =>
      handler(
        functionUrlEvent({
          method: 'POST',
          path: '/standardwebhooks/events',
          headers: [
            ['content-type', 'application/json'],
            ['webhook-id', 'msg_bundle_1'],
            ['webhook-timestamp', String(Math.floor(at.getTime() / 1000))],
            ['webhook-signature', new Webhook(SECRET).sign('msg_bundle_1', at, body)],
          ],
          body,
        }),
      );
    expect((await deliver(new Date())).statusCode).toBe(200);
    const retry = await deliver(new Date(Date.now() + 2_000));
    expect(retry.statusCode).toBe(200);
    expect(JSON.parse(retry.body)).toEqual({ received: true, duplicate: true });
    expect(bus.entries()).toHaveLength(1);
    expect(bus.entries()[0]).toMatchObject({ Source: 'webhooks.standardwebhooks', DetailType: 'invoice.paid', EventBusName: 'webhooks' });
  });
});
