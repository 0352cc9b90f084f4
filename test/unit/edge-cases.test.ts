import { createHmac } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { toBuddyResponse } from '../../functions/buddy/contract.js';
import { toHelperResponse } from '../../functions/helper/contract.js';
import { toTalkiResponse } from '../../functions/talki/contract.js';
import type { CustomerProfile } from '../../shared/customers/profile.js';
import { jsonResponse, signedHandler, type VerifiedRequest } from '../../shared/handler.js';
import { signatureValues } from '../../shared/signing/schemes.js';
import { parseHttpEvent } from '../../shared/http/request.js';
import { createLogger, logLine, type LogFields } from '../../shared/log.js';
import { matchRoute, PROVIDERS, signatureHeader, type SignatureRule } from '../../shared/providers.js';
import { SecretsCache } from '../../shared/secrets/cache.js';
import { decodeSignature } from '../../shared/signing/verify.js';
import { manualClock, secretsManagerWith } from '../support/secrets-manager.js';
import { EVENT_KINDS, eventFor, httpV2Event } from '../support/events.js';

const STUB_SECRET_ID = 'webhooks/test';

/** Edge cases of the shared pieces where hostile or unusual input could change an answer. */

describe('response mapping: profile data stays data', () => {
  // JSON.parse (DynamoDB or HTTP directory data) makes `__proto__` an ordinary own property.
  const profile = JSON.parse(
    JSON.stringify({
      userId: 'usr_1',
      plan: 'pro',
      role: 'admin',
      value: 3,
      attributes: { Plan: 'overrides in place', 2: 'integer keys first', seats: 5 },
      actions: { Profile: 'https://admin.example.com/u/1', Padded: '  https://admin.example.com/u/1/padded', Ftp: 'ftp://example.com/x', Broken: 'https://' },
    }),
  ) as CustomerProfile & { attributes: Record<string, unknown>; actions: Record<string, string> };
  Object.defineProperty(profile.attributes, '__proto__', { value: { polluted: true }, enumerable: true, writable: true, configurable: true });
  Object.defineProperty(profile.actions, '__proto__', { value: 'https://admin.example.com/proto', enumerable: true, writable: true, configurable: true });

  it('helper: `__proto__` keys stay data, key order is the spread order, and actions are what `new URL` accepts as http(s)', () => {
    const customer = toHelperResponse(profile).customer;
    expect(JSON.stringify(customer)).toBe(
      JSON.stringify({
        value: 3,
        actions: Object.fromEntries(Object.entries(profile.actions).filter(([label]) => ['Profile', 'Padded', '__proto__'].includes(label))),
        metadata: { ...{ Plan: 'pro', Role: 'admin' }, ...profile.attributes },
      }),
    );
    expect(Object.getPrototypeOf(customer.metadata)).toBe(Object.prototype);
    expect((customer.metadata as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('buddy: `__proto__` attributes stay data in customAttributes', () => {
    const answer = toBuddyResponse(profile);
    expect(JSON.stringify(answer.customAttributes)).toBe(JSON.stringify({ ...{ plan: 'pro', lifetimeValue: 3 }, ...profile.attributes }));
    expect(Object.getPrototypeOf(answer.customAttributes)).toBe(Object.prototype);
  });

  it('talki: a `__proto__` attribute Talki can render stays a field; nested values are dropped and named', () => {
    const attributes = JSON.parse('{"__proto__":"data","seats":5,"nested":{"a":1},"2":"integer keys first"}') as Record<string, unknown>;
    const { response, droppedFields } = toTalkiResponse({ userId: 'usr_1', attributes });
    expect(JSON.stringify(response.fields)).toBe('{"2":"integer keys first","__proto__":"data","seats":5}');
    expect(Object.getPrototypeOf(response.fields)).toBe(Object.prototype);
    expect(droppedFields).toEqual(['nested']);
  });

});

describe('signature values', () => {
  const HEX = 'a3'.repeat(32);
  it('hex: exactly 64 hex digits, any case, or nothing', () => {
    expect(decodeSignature(HEX.toUpperCase(), 'hex')?.toString('hex')).toBe(HEX);
    for (const bad of [HEX.slice(1), HEX + 'a', `g${HEX.slice(1)}`, `${HEX.slice(0, 62)}0g`, `${HEX.slice(0, 32)} ${HEX.slice(33)}`, '']) {
      expect(decodeSignature(bad, 'hex')).toBeUndefined();
    }
  });

  it('base64: standard and URL-safe alphabets decode to the same digest', () => {
    const digest = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 250) % 256));
    expect(decodeSignature(digest.toString('base64'), 'base64')?.equals(digest)).toBe(true);
    expect(decodeSignature(digest.toString('base64url'), 'base64')?.equals(digest)).toBe(true);
  });

  it('base64: standard and URL-safe alphabets decode to the same digest', () => {
    const digest = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 250) % 256));
    expect(decodeSignature(digest.toString('base64'), 'base64')?.equals(digest)).toBe(true);
    expect(decodeSignature(digest.toString('base64url'), 'base64')?.equals(digest)).toBe(true);
  });

  it('signatureValues: the scheme prefix is matched case-insensitively and only the prefix is removed', () => {
    const event = httpV2Event({ method: 'GET', path: '/helper/customer', headers: [['Authorization', 'BEARER AbC+/=']] });
    const parsed = parseHttpEvent(event);
    if (!parsed.ok) throw new Error('event did not parse');
    expect(signatureValues(parsed.request, 'authorization', 'Bearer ')).toEqual(['AbC+/=']);
    expect(signatureValues(parsed.request, 'authorization', undefined)).toEqual(['BEARER AbC+/=']);
  });
});

describe('route matching', () => {
  it('a route matches at a `/` boundary only, behind any stage or base path, with trailing slashes ignored', () => {
    const buddy = PROVIDERS.buddy;
    for (const path of ['/buddy/identity', '/prod/buddy/identity', '/buddy/identity/', '/v1/api/buddy/identity//']) {
      expect(matchRoute(buddy, 'POST', path)).toMatchObject({ ok: true });
    }
    for (const path of ['/xbuddy/identity', 'x/buddy/identity', 'buddy/identity', '/buddy/identityx', '/buddy']) {
      expect(matchRoute(buddy, 'POST', path)).toEqual({ ok: false, status: 404 });
    }
    expect(matchRoute(buddy, 'GET', '/prod/buddy/identity')).toEqual({ ok: false, status: 405, allow: ['POST'] });
  });
});

describe('signature header', () => {
  it('SIGNATURE_HEADER overrides BuddyStat\'s header only: every other provider keeps the header its doc names', () => {
    const env = { SIGNATURE_HEADER: 'X-Webhook-Signature' };
    expect(signatureHeader(PROVIDERS.buddystat, env)).toBe('X-Webhook-Signature');
    for (const provider of Object.values(PROVIDERS).filter((p) => p.id !== 'buddystat')) {
      const rule: SignatureRule = provider.signature;
      expect(signatureHeader(provider, env)).toBe(rule.scheme === 'hmac-sha256' ? rule.header : 'webhook-signature');
    }
  });
});

describe('log lines', () => {
  it('writes only the closed field set, whatever the object holds at run time', () => {
    const fields = { provider: 'buddy', signature: 'deadbeef', body: '{"secret":1}', status: 401 } as LogFields;
    const parsed = JSON.parse(logLine('warn', fields)) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(['level', 'time', 'provider', 'status']);
    const inherited = Object.assign(Object.create({ message: 'from the prototype' }) as LogFields, { outcome: 'x' });
    expect(JSON.parse(logLine('info', inherited))).not.toHaveProperty('message');
  });

  it('the time moves with the clock, not only once per process', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(new Date('2024-05-29T16:26:40.000Z'));
      const lines: string[] = [];
      const log = createLogger((line) => lines.push(line), 'info');
      log.info({ message: 'one' });
      vi.setSystemTime(new Date('2024-05-29T16:26:40.001Z'));
      log.info({ message: 'two' });
      expect(lines.map((l) => (JSON.parse(l) as { time: string }).time)).toEqual(['2024-05-29T16:26:40.000Z', '2024-05-29T16:26:40.001Z']);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe.each(EVENT_KINDS)('signedHandler body bytes (%s)', (kind) => {
  const NOW_MS = 1_717_000_000_000;
  const SECRET = 'warm-path-secret';

  function setup() {
    const clock = manualClock(NOW_MS);
    const { sm, client } = secretsManagerWith(STUB_SECRET_ID, { signingSecret: SECRET }, { now: clock.now });
    const secrets = new SecretsCache({ client, now: clock.now, logger: createLogger(() => undefined) });
    const seen: VerifiedRequest[] = [];
    const handler = signedHandler({ provider: PROVIDERS.buddy, secrets, now: clock.now, logger: createLogger(() => undefined), env: { SIGNING_SECRET_ID: STUB_SECRET_ID } }, async (verified) => {
      seen.push(verified);
      return { outcome: 'answered', response: jsonResponse(200, { ok: true }) };
    });
    return { clock, sm, secrets, handler, seen };
  }

  const post = (body: string) =>
    eventFor(kind, {
      method: 'POST',
      path: '/buddy/identity',
      headers: [['X-Platform-Signature', createHmac('sha256', SECRET).update(body).digest('hex')]],
      body,
    });

  it('a lone surrogate in the body parses as the bytes decode (U+FFFD), not as the event text', async () => {
    const { handler, seen } = setup();
    const body = `{"sessionId":"s\ud800","timestamp":${NOW_MS / 1000}}`;
    expect((await handler(post(body))).statusCode).toBe(200);
    expect(seen[0]!.json).toEqual({ sessionId: 's\ufffd', timestamp: NOW_MS / 1000 });
  });
});
