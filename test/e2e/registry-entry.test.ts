import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type * as Registry from '../../shared/providers.js';

/**
 * "Adding a Standard Webhooks sender is one registry entry" (docs/adding-a-provider.md): a throwaway
 * sender, Acme, is added to a copy of the registry and nothing else. The local server serves its
 * route and verifies its deliveries, and the stack synthesises its own function, URL, secret and alarms.
 */
const ACME = {
  id: 'acme',
  title: 'Acme webhooks',
  kind: 'webhook',
  doc: 'https://docs.acme.example/webhooks',
  routes: [{ method: 'POST', path: '/acme/events', secretKey: 'signingSecret' }],
  signature: { scheme: 'standard-webhooks', toleranceSeconds: 300 },
  secretKeys: ['signingSecret'],
  genericWebhook: { typeFields: ['type'], deliveryIdHeader: 'webhook-id' },
  budget: { platformTimeoutMs: 15_000, dependencyDeadlineMs: 6_000, functionTimeoutSeconds: 15, memoryMb: 512 },
  maxBodyBytes: 240 * 1024,
} as const satisfies Registry.ProviderDefinition;

vi.mock('../../shared/providers.js', async (importOriginal) => {
  const original = await importOriginal<typeof Registry>();
  const PROVIDERS = { ...original.PROVIDERS, acme: ACME };
  return {
    ...original,
    PROVIDERS,
    PROVIDER_IDS: Object.keys(PROVIDERS),
    providerById: (id: string) => (Object.hasOwn(PROVIDERS, id) ? PROVIDERS[id as keyof typeof PROVIDERS] : undefined),
  };
});

const { startLocalStack } = await import('../../local/app.js');
const { synthStack, logicalId } = await import('../infra/support.js');

const SECRET = `whsec_${Buffer.from('acme-signing-key-for-this-test').toString('base64')}`;
let dir: string;
let stack: Awaited<ReturnType<typeof startLocalStack>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'registry-entry-'));
  const committed = JSON.parse(await readFile(join(import.meta.dirname, '../../local/secrets.json'), 'utf8')) as Record<string, unknown>;
  await writeFile(join(dir, 'secrets.json'), JSON.stringify({ ...committed, acme: { signingSecret: SECRET } }));
  stack = await startLocalStack({ port: 0, secretsFile: join(dir, 'secrets.json'), eventsFile: join(dir, 'events.jsonl'), quiet: true });
});

afterAll(async () => {
  await stack?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function deliver(body: string, id: string, signer: string): Promise<number> {
  const now = new Date();
  const response = await fetch(`${stack.url}/acme/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': new Webhook(signer).sign(id, now, body) },
    body,
  });
  return response.status;
}

describe('a Standard Webhooks sender added as one registry entry', () => {
  it('npm start serves its route, verifies its deliveries and forwards each once', async () => {
    const body = JSON.stringify({ type: 'order.shipped', timestamp: new Date().toISOString(), data: { orderId: 'ord_1' } });
    expect(await deliver(body, 'msg_acme_1', SECRET)).toBe(200);
    expect(await deliver(body, 'msg_acme_1', SECRET)).toBe(200);
    expect(await deliver(body, 'msg_acme_2', `whsec_${Buffer.from('not-acme').toString('base64')}`)).toBe(401);
    const events = (await readFile(join(dir, 'events.jsonl'), 'utf8')).split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events.filter((e) => e.source === 'webhooks.acme')).toEqual([expect.objectContaining({ source: 'webhooks.acme', detailType: 'order.shipped' })]);
  });

  it('the stack synthesises its own function (the generic handler), function URL, route, signing secret and alarms', () => {
    const { stack: cdkStack, template } = synthStack();
    const endpoint = cdkStack.endpoints.acme!;
    expect(endpoint).toBeDefined();
    const fn = template.findResources('AWS::Lambda::Function')[logicalId(endpoint.function)] as { Properties: { Environment: { Variables: Record<string, unknown> } } };
    expect(fn.Properties.Environment.Variables).toMatchObject({ PROVIDER_ID: 'acme', EVENT_SINK: 'eventbridge' });
    expect(template.findResources('AWS::Lambda::Url')[logicalId(endpoint.functionUrl)]).toBeDefined();
    expect(Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((r) => (r as { Properties: { RouteKey: string } }).Properties.RouteKey)).toContain('POST /acme/events');
    expect(endpoint.secretName).toContain('/acme/');
    expect(Object.keys(endpoint.alarms).length).toBeGreaterThan(0);
  });
});
