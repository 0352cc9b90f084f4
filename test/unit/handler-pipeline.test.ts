import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { jsonResponse, signedHandler, type ProviderLogic, type VerifiedRequest } from '../../shared/handler.js';
import { createLogger } from '../../shared/log.js';
import { PROVIDERS, type ProviderDefinition } from '../../shared/providers.js';
import { PLACEHOLDER_PREFIX, SECRETS_DEFAULTS, SecretsCache } from '../../shared/secrets/cache.js';
import { EVENT_KINDS, eventFor, type RequestSpec } from '../support/events.js';
import { manualClock, secretsManagerWith } from '../support/secrets-manager.js';

const STUB_SECRET_ID = 'webhooks/test';

/**
 * signedHandler, the pipeline every provider is built with, around a trivial logic function:
 * event parsing, routing, body limit, signature, secrets, replay window, error mapping, request log.
 */

const NOW_SECONDS = 1_717_000_000;
const NOW_MS = NOW_SECONDS * 1000;
const SECRET = 'buddy-callback-secret-value';
const { minRefreshIntervalMs: MIN_REFRESH, ttlMs: TTL } = SECRETS_DEFAULTS;

interface Setup {
  readonly provider?: ProviderDefinition;
  readonly secret?: string | Record<string, string>;
  readonly env?: NodeJS.ProcessEnv;
  readonly logic?: ProviderLogic;
}

function setup(options: Setup = {}) {
  const clock = manualClock(NOW_MS);
  const lines: string[] = [];
  const logger = createLogger((line) => lines.push(line), 'debug');
  const { sm, client } = secretsManagerWith(STUB_SECRET_ID, options.secret ?? { signingSecret: SECRET }, { now: clock.now });
  const secrets = new SecretsCache({ client, now: clock.now, logger });
  const seen: VerifiedRequest[] = [];
  const logic: ProviderLogic =
    options.logic ??
    (async (verified) => {
      seen.push(verified);
      return { outcome: 'answered', response: jsonResponse(200, { ok: true }) };
    });
  const handler = signedHandler(
    { provider: options.provider ?? PROVIDERS.buddy, secrets, logger, now: clock.now, env: options.env ?? { SIGNING_SECRET_ID: STUB_SECRET_ID } },
    logic,
  );
  const records = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    clock,
    sm,
    handler,
    seen,
    text: () => lines.join('\n'),
    records,
    requestLogs: () => records().filter((r) => typeof r.status === 'number'),
  };
}

const hex = (secret: string, body: string | Buffer) => createHmac('sha256', secret).update(body).digest('hex');

function buddyBody(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({ sessionId: 'sess_private_42', agentId: 'agt_7', timestamp: NOW_SECONDS, ...overrides });
}

function buddyPost(body: string, signature?: string, path = '/buddy/identity'): RequestSpec {
  return {
    method: 'POST',
    path,
    headers: [['Content-Type', 'application/json'], ...(signature !== undefined ? ([['X-Platform-Signature', signature]] as const) : [])],
    body,
  };
}

describe.each(EVENT_KINDS)('signedHandler pipeline (%s)', (kind) => {
  it('buddy: "X-Platform-Signature HMAC of the exact body" verifies and reaches the logic', async () => {
    const { handler, seen, sm } = setup();
    const body = buddyBody();
    const response = await handler(eventFor(kind, buddyPost(body, hex(SECRET, body))));
    expect(response).toMatchObject({ statusCode: 200, body: JSON.stringify({ ok: true }) });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.route.path).toBe('/buddy/identity');
    expect(seen[0]!.json).toEqual(JSON.parse(body));
    expect(seen[0]!.receivedAtMs).toBe(NOW_MS);
    // The bytes that verified: here the body as sent.
    expect(Buffer.from(seen[0]!.signedMessage as string | Uint8Array).toString('utf8')).toBe(body);
    expect([sm.calls.ListSecretVersionIds, sm.calls.GetSecretValue]).toEqual([1, 1]);
  });

  it('404 for a path the provider does not serve, without touching Secrets Manager', async () => {
    const { handler, sm } = setup();
    const response = await handler(eventFor(kind, buddyPost(buddyBody(), 'x', '/buddy/unknown')));
    expect(response.statusCode).toBe(404);
    expect(sm.calls.ListSecretVersionIds).toBe(0);
  });

  it('405 with Allow for the wrong method', async () => {
    const { handler, sm } = setup();
    const response = await handler(eventFor(kind, { method: 'GET', path: '/buddy/identity' }));
    expect(response.statusCode).toBe(405);
    expect(response.headers.allow).toBe('POST');
    expect(sm.calls.ListSecretVersionIds).toBe(0);
  });

  it('413 for a body over the provider’s limit', async () => {
    const { handler, sm } = setup();
    const body = 'x'.repeat(PROVIDERS.buddy.maxBodyBytes + 1);
    const response = await handler(eventFor(kind, buddyPost(body, hex(SECRET, body))));
    expect(response.statusCode).toBe(413);
    expect(sm.calls.ListSecretVersionIds).toBe(0);
  });

  it('401 for a missing or malformed signature, without a Secrets Manager call', async () => {
    const { handler, sm } = setup();
    for (const signature of [undefined, '', 'a3f8c2...', hex(SECRET, 'x').slice(1)]) {
      const response = await handler(eventFor(kind, buddyPost(buddyBody(), signature)));
      expect(response.statusCode, String(signature)).toBe(401);
    }
    expect(sm.calls.ListSecretVersionIds).toBe(0);
  });

  it('401 for a well-formed signature made with another secret', async () => {
    const { handler, requestLogs } = setup();
    const body = buddyBody();
    const response = await handler(eventFor(kind, buddyPost(body, hex('someone-else', body))));
    expect(response).toMatchObject({ statusCode: 401, body: JSON.stringify({ error: 'Invalid signature' }) });
    expect(requestLogs()[0]).toMatchObject({ outcome: 'bad_signature_mismatch', status: 401 });
  });
});

describe('signedHandler: secrets', () => {
  it('503 with Retry-After when Secrets Manager fails and nothing is cached', async () => {
    const { handler, sm, requestLogs } = setup();
    sm.setFault({ kind: 'throttle' });
    const body = buddyBody();
    const response = await handler(eventFor('function-url', buddyPost(body, hex(SECRET, body))));
    expect(response.statusCode).toBe(503);
    // Retry-After: when this container will ask Secrets Manager again (the failure is cached for the refresh interval).
    expect(response.headers['retry-after']).toBe(String(MIN_REFRESH / 1000));
    expect(requestLogs()).toEqual([expect.objectContaining({ outcome: 'secrets_unavailable', status: 503 })]);
  });

  it.each([
    ['a trailing newline', 'pasted-secret\n', 'surrounding_whitespace'],
    ['truncated JSON', '{"signingSecret": "pasted-sec', 'invalid_json'],
  ])('503 "Signing secret misconfigured" (not 401) when the stored secret has %s; the log names the key and the problem, never the value', async (_name, value, problem) => {
    const { handler, records, text } = setup({ secret: value });
    const body = buddyBody();
    const response = await handler(eventFor('function-url', buddyPost(body, hex('pasted-secret', body))));
    expect(response.statusCode).toBe(503);
    expect(JSON.parse(response.body)).toEqual({ error: 'Signing secret misconfigured' });
    expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
    expect(records()).toContainEqual(expect.objectContaining({ outcome: 'secret_misconfigured', key: 'signingSecret', problem }));
    expect(records().filter((r) => typeof r.status === 'number')).toEqual([expect.objectContaining({ outcome: 'secret_misconfigured', status: 503 })]);
    expect(text()).not.toContain('pasted-sec');
  });

  it('bullseye: a plain-string secret is 503 "Signing secret misconfigured" on both routes, not one key verifying both', async () => {
    const { handler, records } = setup({ provider: PROVIDERS.bullseye, secret: 'one-key' });
    const body = JSON.stringify({ event: 'visitor.identified' });
    for (const path of ['/bullseye/identification', '/bullseye/billing']) {
      const response = await handler(eventFor('http-v2', { method: 'POST', path, headers: [['X-Bullseye-Signature', hex('one-key', body)]], body }));
      expect(response.statusCode).toBe(503);
      expect(JSON.parse(response.body)).toEqual({ error: 'Signing secret misconfigured' });
    }
    expect(records()).toContainEqual(expect.objectContaining({ outcome: 'secret_misconfigured', problem: 'plain_string_for_several_keys' }));
  });

  it('503 with Retry-After when no SIGNING_SECRET_ID is configured, without a Secrets Manager call', async () => {
    const { handler, sm } = setup({ env: {} });
    const body = buddyBody();
    const response = await handler(eventFor('http-v2', buddyPost(body, hex(SECRET, body))));
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('30');
    expect(sm.calls.ListSecretVersionIds).toBe(0);
  });

  it('SIGNING_SECRET_ID_<PROVIDER> is read before SIGNING_SECRET_ID', async () => {
    const { handler } = setup({ env: { SIGNING_SECRET_ID_BUDDY: STUB_SECRET_ID, SIGNING_SECRET_ID: 'some-other-secret' } });
    const body = buddyBody();
    expect((await handler(eventFor('rest-v1', buddyPost(body, hex(SECRET, body))))).statusCode).toBe(200);
  });

  it('503 when the secret still holds the CDK placeholder', async () => {
    const { handler, requestLogs } = setup({ secret: { signingSecret: `${PLACEHOLDER_PREFIX}BUDDY` } });
    const body = buddyBody();
    const response = await handler(eventFor('rest-v1', buddyPost(body, hex(SECRET, body))));
    expect(response.statusCode).toBe(503);
    expect(requestLogs()[0]).toMatchObject({ outcome: 'secret_not_configured' });
  });

  it('a secret pasted over the placeholder in the console verifies after the minimum refresh interval, not the TTL; meanwhile one call per interval', async () => {
    const { handler, sm, clock } = setup({ secret: { signingSecret: `${PLACEHOLDER_PREFIX}signingSecret` } });
    const signed = () => {
      const body = buddyBody({ timestamp: Math.floor(clock.now() / 1000) });
      return eventFor('function-url', buddyPost(body, hex(SECRET, body)));
    };
    for (let i = 0; i < 20; i++) expect((await handler(signed())).statusCode).toBe(503);
    expect(sm.calls.ListSecretVersionIds).toBe(1);

    sm.put(STUB_SECRET_ID, JSON.stringify({ signingSecret: SECRET }));
    clock.advance(MIN_REFRESH);
    expect((await handler(signed())).statusCode).toBe(200);
    expect(sm.calls.ListSecretVersionIds).toBe(2);
    expect(MIN_REFRESH).toBeLessThan(TTL);
  });

  it('rotation: a signature with the new secret triggers one refresh, then verifies; the old one keeps verifying in the grace', async () => {
    const { handler, sm, clock, seen } = setup();
    const body = buddyBody();
    expect((await handler(eventFor('function-url', buddyPost(body, hex(SECRET, body))))).statusCode).toBe(200);
    sm.put(STUB_SECRET_ID, JSON.stringify({ signingSecret: 'rotated-secret' }));

    // Within the minimum refresh interval a mismatch does not call Secrets Manager.
    clock.advance(MIN_REFRESH - 1);
    expect((await handler(eventFor('function-url', buddyPost(body, hex('rotated-secret', body))))).statusCode).toBe(401);
    expect(sm.calls.ListSecretVersionIds).toBe(1);

    clock.advance(1);
    const fresh = buddyBody({ timestamp: NOW_SECONDS + MIN_REFRESH / 1000 });
    expect((await handler(eventFor('function-url', buddyPost(fresh, hex('rotated-secret', fresh))))).statusCode).toBe(200);
    expect((await handler(eventFor('function-url', buddyPost(fresh, hex(SECRET, fresh))))).statusCode).toBe(200);
    expect(seen).toHaveLength(3);
    expect([sm.calls.ListSecretVersionIds, sm.calls.GetSecretValue]).toEqual([2, 2]);
    expect(clock.now() - NOW_MS).toBeLessThan(TTL);
  });

  it('bullseye: each route verifies with its own key of one secret', async () => {
    const keys = { identification: 'id-key', billing: 'bill-key' };
    const { handler, seen } = setup({ provider: PROVIDERS.bullseye, secret: keys });
    const body = JSON.stringify({ event: 'visitor.identified' });
    const post = (path: string, secret: string): RequestSpec => ({ method: 'POST', path, headers: [['X-Bullseye-Signature', hex(secret, body)]], body });
    expect((await handler(eventFor('http-v2', post('/bullseye/identification', keys.identification)))).statusCode).toBe(200);
    expect((await handler(eventFor('http-v2', post('/bullseye/billing', keys.billing)))).statusCode).toBe(200);
    expect((await handler(eventFor('http-v2', post('/bullseye/identification', keys.billing)))).statusCode).toBe(401);
    expect(seen.map((v) => v.route.secretKey)).toEqual(['identification', 'billing']);
  });
});

describe('signedHandler: replay window', () => {
  it('buddy: a stale or missing "timestamp" in the signed body is 401', async () => {
    const { handler, requestLogs, seen } = setup();
    for (const [overrides, outcome] of [
      [{ timestamp: NOW_SECONDS - 301 }, 'stale_timestamp'],
      [{ timestamp: undefined }, 'missing_timestamp'],
      [{ timestamp: 'yesterday' }, 'malformed_timestamp'],
    ] as const) {
      const body = buddyBody(overrides);
      const response = await handler(eventFor('rest-v1', buddyPost(body, hex(SECRET, body))));
      expect(response.statusCode).toBe(401);
      expect(requestLogs().at(-1)).toMatchObject({ outcome, status: 401 });
    }
    expect(seen).toHaveLength(0);
  });

  it('REPLAY_WINDOW_SECONDS widens the window', async () => {
    const { handler } = setup({ env: { SIGNING_SECRET_ID: STUB_SECRET_ID, REPLAY_WINDOW_SECONDS: '900' } });
    const body = buddyBody({ timestamp: NOW_SECONDS - 600 });
    expect((await handler(eventFor('rest-v1', buddyPost(body, hex(SECRET, body))))).statusCode).toBe(200);
  });

  it('a signed body that is not JSON is 400 when the replay rule needs it', async () => {
    const { handler } = setup();
    const body = 'not json';
    expect((await handler(eventFor('rest-v1', buddyPost(body, hex(SECRET, body))))).statusCode).toBe(400);
  });

  it('helper: "generated from the query string", timestamp in the query, Bearer base64 — the URLSearchParams form verifies even if the raw query differs', async () => {
    const helperSecret = 'helper-secret';
    const { handler, seen } = setup({ provider: PROVIDERS.helper, secret: helperSecret });
    const signed = new URLSearchParams({ email: 'ada@example.com', timestamp: String(NOW_SECONDS) }).toString();
    const signature = createHmac('sha256', helperSecret).update(signed).digest('base64');
    for (const query of [signed, `email=ada@example.com&timestamp=${NOW_SECONDS}`]) {
      for (const kind of EVENT_KINDS) {
        const response = await handler(eventFor(kind, { method: 'GET', path: '/helper/customer', query, headers: [['Authorization', `Bearer ${signature}`]] }));
        expect(response.statusCode, `${kind} ${query}`).toBe(200);
      }
    }
    expect(seen).toHaveLength(6);
    // signedMessage is the form that verified: the raw query when it did, URLSearchParams' form when only that did.
    expect(seen.map((v) => v.signedMessage)).toEqual([signed, signed, signed, signed, signed, signed]);
    const staleQuery = new URLSearchParams({ email: 'ada@example.com', timestamp: '1684234567' }).toString();
    const stale = createHmac('sha256', helperSecret).update(staleQuery).digest('base64');
    const response = await handler(eventFor('http-v2', { method: 'GET', path: '/helper/customer', query: staleQuery, headers: [['Authorization', `Bearer ${stale}`]] }));
    expect(response.statusCode).toBe(401);
  });
});

describe('signedHandler: errors and logs', () => {
  it('500 when the logic throws; the handler itself never throws', async () => {
    const { handler, records } = setup({
      logic: async () => {
        throw new Error('database exploded');
      },
    });
    const body = buddyBody();
    const response = await handler(eventFor('function-url', buddyPost(body, hex(SECRET, body))));
    expect(response).toMatchObject({ statusCode: 500, body: JSON.stringify({ error: 'Internal error' }) });
    expect(records()).toContainEqual(expect.objectContaining({ level: 'error', outcome: 'internal_error', status: 500 }));
    // The request line still says which request failed: what was known before the throw is kept.
    expect(records()).toContainEqual(
      expect.objectContaining({ outcome: 'internal_error', route: '/buddy/identity', method: 'POST', format: 'function-url', requestId: expect.any(String) }),
    );
  });

  it('malformed events are 400, never a throw', async () => {
    const { handler } = setup();
    for (const event of [null, undefined, {}, 42, 'GET /', { version: '2.0' }]) {
      await expect(handler(event)).resolves.toMatchObject({ statusCode: 400 });
    }
  });

  it('one JSON log line per request with provider, outcome, status and latency — never the secret, signature or body', async () => {
    const { handler, requestLogs, text } = setup();
    const body = buddyBody();
    const good = hex(SECRET, body);
    const bad = hex('wrong', body);
    const answers = [
      await handler(eventFor('rest-v1', buddyPost(body, good))),
      await handler(eventFor('http-v2', buddyPost(body, bad))),
      await handler(eventFor('function-url', buddyPost(body))),
      await handler(eventFor('function-url', buddyPost(body, good, '/nope'))),
    ];
    expect(answers.map((a) => a.statusCode)).toEqual([200, 401, 401, 404]);
    const logs = requestLogs();
    expect(logs.map((l) => [l.provider, l.outcome, l.status])).toEqual([
      ['buddy', 'answered', 200],
      ['buddy', 'bad_signature_mismatch', 401],
      ['buddy', 'bad_signature_missing', 401],
      ['buddy', 'unknown_route', 404],
    ]);
    expect(logs.map((l) => l.level)).toEqual(['info', 'warn', 'warn', 'warn']);
    for (const line of logs) {
      expect(line.latencyMs).toBeTypeOf('number');
      expect(line.latencyMs as number).toBeGreaterThanOrEqual(0);
    }
    expect(logs[0]).toMatchObject({ route: '/buddy/identity', method: 'POST', format: 'rest-v1' });
    const all = text();
    for (const forbidden of [SECRET, good, bad, 'sess_private_42', body]) expect(all).not.toContain(forbidden);
  });
});
