import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startBullseyeStandIn, type BullseyeStandIn } from '../../local/stand-ins/bullseye.js';
import { startSecretsManagerStandIn, type SecretsManagerStandIn } from '../../local/stand-ins/secrets-manager.js';
import {
  apiKeyFromSecret,
  parseLogPage,
  PARTNER_API_DEFAULTS,
  PartnerApi,
  partnerApiSettingsFromEnv,
  type ApiKeyProvider,
} from '../../shared/bullseye/partner-api.js';

/**
 * The partner API client against the Bullseye stand-in over real HTTP
 * (bullseye-partner-api.txt: X-Partner-API-Key, the rate-limit headers, `{code, message, details}` errors).
 */
const KEY = 'test-partner-key-0123456789';
const fixedKey: ApiKeyProvider = async () => ({ ok: true, value: KEY });

let bullseye: BullseyeStandIn;
let receiver: Server;
let receiverUrl: string;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200).end('{}'));
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  bullseye = await startBullseyeStandIn({
    apiKey: KEY,
    webhooks: { identification: { url: `${receiverUrl}/identification`, secret: 'whsec_old_identification' }, billing: { url: `${receiverUrl}/billing`, enabled: false } },
  });
});

afterAll(async () => {
  await bullseye?.close();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

beforeEach(() => bullseye.setFault(undefined));

const client = (options: Partial<ConstructorParameters<typeof PartnerApi>[0]> = {}) => new PartnerApi({ baseUrl: bullseye.apiUrl, apiKey: fixedKey, ...options });

describe('Bullseye partner API client (bullseye-partner-api.txt)', () => {
  it('GET /partner/webhooks: both webhooks with url, enabled and hasSecret, never a secret', async () => {
    const result = await client().getWebhooks();
    expect(result).toEqual({
      ok: true,
      value: {
        identification: { url: `${receiverUrl}/identification`, enabled: true, hasSecret: true },
        billing: { url: `${receiverUrl}/billing`, enabled: false, hasSecret: false },
      },
    });
  });

  it('PUT /partner/webhooks/{type}: only the fields sent change', async () => {
    const result = await client().updateWebhook('billing', { secret: 'whsec_new_billing' });
    expect(result).toEqual({ ok: true, value: { url: `${receiverUrl}/billing`, enabled: false, hasSecret: true } });
    expect(bullseye.webhook('billing')).toEqual({ url: `${receiverUrl}/billing`, enabled: false, secret: 'whsec_new_billing' });
  });

  it('send-test-webhook and get-logs on the default paths (not stated by Bullseye): the delivery shows in the logs', async () => {
    const receipt = await client().sendTestWebhook('identification');
    expect(receipt.ok).toBe(true);
    const id = receipt.ok ? receipt.value.id : undefined;
    expect(id).toBeTruthy();
    let entry;
    for (let i = 0; i < 50 && !entry; i++) {
      const logs = await client().getWebhookLogs({ type: 'identification', pageSize: 5 });
      entry = logs.ok ? logs.value.entries.find((e) => e.id === id) : undefined;
      if (!entry) await new Promise((r) => setTimeout(r, 20));
    }
    expect(entry).toMatchObject({ id, type: 'identification', statusCode: 200, status: 'success', test: true });
  });

  it('401 with a wrong key: a typed error carrying Bullseye\'s code and message, and never the key', async () => {
    const result = await new PartnerApi({ baseUrl: bullseye.apiUrl, apiKey: async () => ({ ok: true, value: 'wrong-key-abcdef' }) }).getWebhooks();
    expect(result).toMatchObject({ ok: false, error: { kind: 'api', status: 401, code: 'Unauthorized', call: 'GET /partner/webhooks' } });
    expect(JSON.stringify(result)).not.toContain('wrong-key-abcdef');
  });

  it('500: InternalError surfaced as a typed error', async () => {
    bullseye.setFault({ status: 500, calls: ['update'] });
    const result = await client().updateWebhook('identification', { secret: 'whsec_x' });
    expect(result).toMatchObject({ ok: false, error: { kind: 'api', status: 500, code: 'InternalError' } });
  });

  it('429: waits until X-RateLimit-Reset and retries; succeeds once the limit lifts', async () => {
    bullseye.setFault({ status: 429, calls: ['get'] });
    const waits: number[] = [];
    const api = client({
      sleep: async (ms) => {
        waits.push(ms);
        bullseye.setFault(undefined);
      },
    });
    const result = await api.getWebhooks();
    expect(result.ok).toBe(true);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeLessThanOrEqual(2_000);
  });

  it('429 that outlasts the retries, or resets further off than we wait: rate_limited with retryAtMs', async () => {
    bullseye.setFault({ status: 429 });
    const waited: number[] = [];
    const result = await client({ sleep: async (ms) => void waited.push(ms) }).getWebhooks();
    expect(result).toMatchObject({ ok: false, error: { kind: 'rate_limited', status: 429, code: 'TooManyRequests' } });
    expect(waited).toHaveLength(PARTNER_API_DEFAULTS.rateLimitRetries);
    const far = await client({ maxRateLimitWaitMs: 0 }).getWebhooks();
    expect(far).toMatchObject({ ok: false, error: { kind: 'rate_limited' } });
    expect(far.ok ? 0 : far.error.retryAtMs).toBeGreaterThan(Date.now() - 1000);
  });

  it('every answer carries the documented rate-limit headers', async () => {
    const response = await fetch(`${bullseye.apiUrl}/partner/webhooks`, { headers: { 'X-Partner-API-Key': KEY } });
    expect(response.headers.get('x-ratelimit-limit')).toBe('1000');
    expect(Number(response.headers.get('x-ratelimit-remaining'))).toBeLessThan(1000);
    expect(Number(response.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
  });

  it('a call that gets no answer within timeoutMs is a timeout error', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const result = await new PartnerApi({ baseUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/api/v1`, apiKey: fixedKey, timeoutMs: 100 }).getWebhooks();
      expect(result).toMatchObject({ ok: false, error: { kind: 'timeout', code: 'Timeout' } });
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('paths of the two unstated calls are settings with documented defaults', () => {
    expect(partnerApiSettingsFromEnv({})).toEqual({
      baseUrl: 'https://api.app.bullseye.so/api/v1',
      testWebhookPath: '/partner/webhooks/test',
      webhookLogsPath: '/partner/webhooks/logs',
    });
    expect(partnerApiSettingsFromEnv({ BULLSEYE_TEST_WEBHOOK_PATH: '/partner/webhooks/send-test', BULLSEYE_WEBHOOK_LOGS_PATH: '/partner/webhook-logs' })).toMatchObject({
      testWebhookPath: '/partner/webhooks/send-test',
      webhookLogsPath: '/partner/webhook-logs',
    });
  });

  it('log pages of other shapes (logs/items, responseStatus, timestamp) are read too', () => {
    expect(parseLogPage({ logs: [{ deliveryId: 'd1', responseStatus: 401, timestamp: '2026-12-01T00:00:00Z' }], total: 1 })).toEqual({
      entries: [{ id: 'd1', statusCode: 401, atMs: Date.parse('2026-12-01T00:00:00Z') }],
      total: 1,
    });
    expect(parseLogPage({ items: [] })).toEqual({ entries: [] });
    expect(parseLogPage({ nothing: true })).toBeUndefined();
  });
});

describe('the API key from its own secret ({"apiKey": ...})', () => {
  let sm: SecretsManagerStandIn;
  let sdk: SecretsManagerClient;
  beforeAll(async () => {
    sm = await startSecretsManagerStandIn({
      secrets: { 'bullseye/api-key': JSON.stringify({ apiKey: KEY }), 'bullseye/placeholder': JSON.stringify({ apiKey: 'REPLACE_WITH_apiKey' }) },
    });
    sdk = new SecretsManagerClient({ endpoint: sm.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  });
  afterAll(async () => {
    sdk?.destroy();
    await sm?.close();
  });

  it('reads the key and uses it', async () => {
    const result = await new PartnerApi({ baseUrl: bullseye.apiUrl, apiKey: apiKeyFromSecret(sdk, 'bullseye/api-key') }).getWebhooks();
    expect(result.ok).toBe(true);
  });

  it('the key is read once per minute, not once per call; a failed read is not kept', async () => {
    let clock = 0;
    const key = apiKeyFromSecret(sdk, 'bullseye/api-key', 60_000, () => clock);
    const before = sm.calls.GetSecretValue;
    for (let i = 0; i < 5; i++) expect(await key()).toEqual({ ok: true, value: KEY });
    expect(sm.calls.GetSecretValue - before).toBe(1);
    clock = 60_000;
    await key();
    expect(sm.calls.GetSecretValue - before).toBe(2);
    const missing = apiKeyFromSecret(sdk, 'bullseye/missing', 60_000, () => clock);
    await missing();
    await missing();
    expect(sm.calls.GetSecretValue - before).toBe(4);
  });

  it('a placeholder or a missing secret is no_api_key, and no request is sent', async () => {
    const before = bullseye.calls.get;
    for (const id of ['bullseye/placeholder', 'bullseye/missing']) {
      const result = await new PartnerApi({ baseUrl: bullseye.apiUrl, apiKey: apiKeyFromSecret(sdk, id) }).getWebhooks();
      expect(result).toMatchObject({ ok: false, error: { kind: 'no_api_key', call: 'GET /partner/webhooks' } });
    }
    expect(bullseye.calls.get).toBe(before);
  });
});
