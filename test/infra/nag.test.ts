import { beforeAll, describe, expect, it } from 'vitest';
import { App, Validations } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks, ServerlessChecks, type NagPack } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { buildApp } from '../../infra/app.js';
import { ACCESS_LOG_NAG_REASON } from '../../infra/constructs/callback-api.js';
import { CONSUMER_NAG_REASONS } from '../../infra/constructs/example-consumer.js';
import { NAG_REASONS } from '../../infra/constructs/provider-endpoint.js';
import type { SignedCallbacksStack } from '../../infra/stack.js';
import { PROVIDER_IDS, PROVIDERS } from '../../shared/providers.js';
import { cdkJsonContext, INLINE_CODE, testApp } from './support.js';

/** Every acknowledgement recorded with Validations.of(construct).acknowledge(), by construct path. */
function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ path: c.node.path, id: id.replace(/^annotation::/i, ''), reason }))),
  );
}

const REASONS: readonly string[] = [...Object.values(NAG_REASONS), ACCESS_LOG_NAG_REASON, ...Object.values(CONSUMER_NAG_REASONS)];

describe('cdk-nag AwsSolutions and Serverless (as the app runs them: CDK policy-validation plugins), example consumer on', () => {
  let app: App;
  let stack: SignedCallbacksStack;
  beforeAll(() => {
    // As `cdk synth` builds it (CloudFormation schema validation included); inline code instead of bundles.
    ({ app, stack } = buildApp(new App({ context: { ...cdkJsonContext(), exampleConsumer: 'true' } }), { functionCode: () => INLINE_CODE }));
  });

  it('synthesises: no unacknowledged error (an error would make synth throw)', () => {
    expect(stack.exampleConsumer).toBeDefined();
    expect(() => app.synth()).not.toThrow();
  });

  it.each([
    ['AwsSolutions', (scope: App): NagPack => new AwsSolutionsChecks(scope)],
    ['Serverless', (scope: App): NagPack => new ServerlessChecks(scope)],
  ])('%s: zero unacknowledged findings, errors or warnings', (_name, pack) => {
    const report = pack(app).validateScope(app);
    expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('acknowledges only what is argued: public routes (HMAC is the auth), the pinned runtime, platform-driven rotation, synchronous-only invocation, no X-Ray, the access-log template, the DLQ at the end of the line, the scheduled redrive, delivery-bucket prefixes and access logs', () => {
    const acks = acknowledgements(stack);
    const routeCount = PROVIDER_IDS.reduce((n, id) => n + PROVIDERS[id].routes.length, 0);
    const webhooks = PROVIDER_IDS.filter((id) => PROVIDERS[id].kind === 'webhook');
    const webhookCount = webhooks.length;
    const byId = (id: string) => acks.filter((a) => a.id === id);
    const prefixGrants = acks.filter((a) => a.id.startsWith('AwsSolutions-IAM5['));
    expect(new Set(acks.filter((a) => !prefixGrants.includes(a)).map((a) => a.id))).toEqual(
      new Set([
        'AwsSolutions-APIG4',
        'AwsSolutions-L1',
        'AwsSolutions-SMG4',
        'AwsSolutions-S1',
        'Serverless-LambdaLatestVersion',
        'Serverless-LambdaDLQ',
        'Serverless-LambdaTracing',
        'Serverless-APIGWStructuredLogging',
        'Serverless-SQSRedrivePolicy',
        'Serverless-EventBusDLQ',
      ]),
    );
    expect(byId('AwsSolutions-APIG4')).toHaveLength(routeCount);
    expect(byId('AwsSolutions-SMG4')).toHaveLength(PROVIDER_IDS.length);
    // Each provider's function, and the redrive's.
    for (const id of ['AwsSolutions-L1', 'Serverless-LambdaLatestVersion', 'Serverless-LambdaDLQ', 'Serverless-LambdaTracing']) {
      expect(byId(id)).toHaveLength(PROVIDER_IDS.length + 1);
    }
    // The redrive's schedule (a scheduled event carries nothing to keep), and the delivery bucket's access logs.
    expect(byId('Serverless-EventBusDLQ').map((a) => a.path)).toEqual([expect.stringMatching(/Redrive\/Schedule$/)]);
    expect(byId('AwsSolutions-S1').map((a) => a.path)).toEqual([expect.stringMatching(/Deliveries\/Bucket$/)]);
    // One finding per wildcard prefix: claims/<id>/ and parked/<id>/ per webhook function, parked/ and claims/ for the redrive.
    expect(prefixGrants.map((a) => a.id.replace(/<[^>]+>/, '<bucket>')).sort()).toEqual(
      [
        ...webhooks.flatMap((id) => [`AwsSolutions-IAM5[Resource::<bucket>/claims/${id}/*]`, `AwsSolutions-IAM5[Resource::<bucket>/parked/${id}/*]`]),
        'AwsSolutions-IAM5[Resource::<bucket>/claims/*]',
        'AwsSolutions-IAM5[Resource::<bucket>/parked/*]',
      ].sort(),
    );
    expect(byId('Serverless-APIGWStructuredLogging')).toHaveLength(1);
    // Only the dead-letter queues, never a consumer queue.
    expect(byId('Serverless-SQSRedrivePolicy')).toHaveLength(webhookCount);
    for (const ack of byId('Serverless-SQSRedrivePolicy')) expect(ack.path).toMatch(/DeadLetters$/);
    // Acknowledged on the single resource concerned, never on the stack or the app.
    for (const ack of acks) expect(ack.path.split('/').length).toBeGreaterThan(2);
  });

  it('every acknowledgement carries a reason a security reviewer can check', () => {
    for (const ack of acknowledgements(stack)) expect(REASONS).toContain(ack.reason);
    expect(NAG_REASONS.functionUrlAndRouteAuth).toMatch(/HMAC/);
    expect(NAG_REASONS.functionUrlAndRouteAuth).toMatch(/cannot sign AWS requests/);
    expect(NAG_REASONS.secretRotation).toMatch(/docs\/deploy\.md/);
    expect(NAG_REASONS.synchronousOnly).toMatch(/asynchronous/);
    for (const reason of REASONS) expect(reason.length).toBeGreaterThan(150);
  });

  it('with every optional part on (example consumer, Bullseye rotation): both packs still clean', () => {
    const { app: full } = buildApp(testApp({ exampleConsumer: 'true', bullseyeRotationDays: '30' }), { functionCode: () => INLINE_CODE });
    for (const pack of [new AwsSolutionsChecks(full), new ServerlessChecks(full)]) {
      const report = pack.validateScope(full);
      expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    }
  });

  it('an unacknowledged finding fails the synth (so CI catches a new one)', () => {
    const { app: other, stack: otherStack } = buildApp(testApp({ providers: 'helper' }), { functionCode: () => INLINE_CODE });
    new Secret(otherStack, 'UnreviewedSecret');
    expect(() => other.synth()).toThrow(/AwsSolutions-SMG4/);
  });
});
