import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { toBuddyResponse } from '../../functions/buddy/contract.js';
import { toHelperResponse } from '../../functions/helper/contract.js';
import { toTalkiResponse } from '../../functions/talki/contract.js';
import { assignFields, setField } from '../../shared/contract.js';
import type { CustomerProfile } from '../../shared/customers/profile.js';
import { withDeadline } from '../../shared/deadline.js';
import { jsonResponse, signatureValues, signedHandler, type VerifiedRequest } from '../../shared/handler.js';
import { parseHttpEvent } from '../../shared/http/request.js';
import { createLogger, logLine, requestLine, type LogFields, type LogLevel } from '../../shared/log.js';
import { matchRoute, PROVIDER_IDS, PROVIDERS, type ProviderDefinition } from '../../shared/providers.js';
import { SecretsCache, SECRETS_DEFAULTS } from '../../shared/secrets/cache.js';
import { decodeSignature, hmacSha256 } from '../../shared/signing/verify.js';
import { manualClock, secretsManagerWith } from '../support/secrets-manager.js';

const STUB_SECRET_ID = 'webhooks/test';
import { EVENT_KINDS, eventFor, httpV2Event } from '../support/events.js';

/**
 * The warm path is written for speed in places (assignment instead of spreads, a cached ISO time, a
 * shape check without a regex, candidates without a promise, a timer only for work that waits). Each
 * of those must give exactly what the plain form gave; these tests pin the cases where they could differ.
 */

describe('response mapping: assignments mean what the spreads meant', () => {
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

  it('setField / assignFields copy own enumerable fields only, in order', () => {
    const source = Object.create({ inherited: 1 }) as Record<string, unknown>;
    source.b = 2;
    source.a = 1;
    const target: Record<string, unknown> = { a: 0 };
    assignFields(target, source);
    setField(target, '__proto__', 'data');
    expect(Object.keys(target)).toEqual(['a', 'b', '__proto__']);
    expect(target).toMatchObject({ a: 1, b: 2 });
    expect(Object.getPrototypeOf(target)).toBe(Object.prototype);
  });
});

describe('signature decoding without a regex', () => {
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

  it('base64: accepted exactly when /^[A-Za-z0-9+/\-_]{43}=?$/ accepts, for digests with a character changed, added or cut', () => {
    const SHAPE = /^[A-Za-z0-9+/\-_]{43}=?$/;
    const odd = fc.constantFrom('=', ' ', '\t', '.', '!', 'é', '\u0000', '%', '\u00ff', '\ud83d', '\u200b', 'A', '-', '_', '+', '/');
    const candidate = fc
      .tuple(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.boolean(), fc.nat(45), odd, fc.constantFrom('replace', 'insert', 'cut', 'pad', 'as is'))
      .map(([bytes, urlSafe, at, char, edit]) => {
        const text = Buffer.from(bytes).toString(urlSafe ? 'base64url' : 'base64');
        const i = Math.min(at, text.length);
        if (edit === 'replace') return text.slice(0, i) + char + text.slice(i + 1);
        if (edit === 'insert') return text.slice(0, i) + char + text.slice(i);
        if (edit === 'cut') return text.slice(0, i);
        return edit === 'pad' ? `${text.replace(/=$/, '')}==` : text;
      });
    fc.assert(
      fc.property(fc.oneof(candidate, fc.string({ maxLength: 46 })), (text) => {
        expect(decodeSignature(text, 'base64') !== undefined).toBe(SHAPE.test(text.trim()));
      }),
      { numRuns: 5_000 },
    );
  });

  it('HMAC with a cached key equals createHmac with the secret string, for many secrets', () => {
    for (let i = 0; i < 40; i++) {
      const secret = `secret-${i}-${'é'.repeat(i)}`;
      expect(hmacSha256(secret, 'message').equals(createHmac('sha256', secret).update('message').digest())).toBe(true);
    }
  });

  it('signatureValues: the scheme prefix is matched case-insensitively and only the prefix is removed', () => {
    const event = httpV2Event({ method: 'GET', path: '/helper/customer', headers: [['Authorization', 'BEARER AbC+/=']] });
    const parsed = parseHttpEvent(event);
    if (!parsed.ok) throw new Error('event did not parse');
    expect(signatureValues(parsed.request, 'authorization', 'Bearer ')).toEqual(['AbC+/=']);
    expect(signatureValues(parsed.request, 'authorization', undefined)).toEqual(['BEARER AbC+/=']);
  });
});

describe('route matching in one pass', () => {
  /** The plain form: every route on the path, trailing slashes removed by a regex, then the method. */
  function plainMatch(provider: ProviderDefinition, method: string, path: string) {
    const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path;
    const onPath = provider.routes.filter((r) => trimmed === r.path || trimmed.endsWith(r.path));
    if (onPath.length === 0) return { ok: false, status: 404 };
    const route = onPath.find((r) => r.method === method);
    return route ? { ok: true, route } : { ok: false, status: 405, allow: onPath.map((r) => r.method) };
  }

  it('answers what filtering the routes answered: stage prefixes, trailing slashes, 404 and 405 with Allow', () => {
    const routePaths = Object.values(PROVIDERS).flatMap((p) => p.routes.map((r) => r.path));
    const path = fc
      .tuple(fc.constantFrom('', '/prod', '/v1/api', '/'), fc.oneof(fc.constantFrom(...routePaths), fc.webPath()), fc.constantFrom('', '/', '//', '///'))
      .map(([prefix, route, slashes]) => `${prefix}${route}${slashes}`);
    const method = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'OPTIONS');
    fc.assert(
      fc.property(fc.constantFrom(...PROVIDER_IDS), method, fc.oneof(path, fc.string()), (id, m, p) => {
        expect(matchRoute(PROVIDERS[id], m, p)).toEqual(plainMatch(PROVIDERS[id], m, p));
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('logLine', () => {
  it('is the line JSON.stringify({ level, time, ...fields }) would write', () => {
    const cases: LogFields[] = [
      {},
      { provider: 'buddy', route: undefined, status: 200, latencyMs: 1.25, requestId: 'a"b\\c\u2028', droppedFields: ['x', 'y'] },
      { message: 'secrets manager failed', outcome: 'secret_stale_served', errorName: 'Error', detail: '\u0000 control' },
    ];
    for (const fields of cases) {
      const line = logLine('warn', fields);
      const time = (JSON.parse(line) as { time: string }).time;
      expect(line).toBe(JSON.stringify({ level: 'warn', time, ...fields }));
      expect(new Date(time).toISOString()).toBe(time);
    }
  });

  it('for any values of the closed fields, writes what JSON.stringify writes', () => {
    const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('', '"', '\\', '\u007f', '\ud800', 'caf\u00e9'));
    // Hundredths as the handler rounds latencyMs, which the writer prints its own way.
    const hundredths = fc.oneof(fc.integer({ min: -1e6, max: 2e11 }), fc.double({ min: 0, max: 1e10, noNaN: true })).map((x) => Math.round(x * 100) / 100);
    const number = fc.oneof(fc.double(), fc.integer(), hundredths, fc.constantFrom(-0, NaN, Infinity, -Infinity, 1e21, 5e-7, 0.01, 0.1, 0.29, 9999999.99));
    const fields = fc.record(
      {
        message: text,
        provider: text,
        route: fc.option(text, { nil: undefined }),
        outcome: text,
        status: number,
        latencyMs: number,
        requestId: fc.option(text, { nil: undefined }),
        dedupeKey: text,
        droppedFields: fc.array(text, { maxLength: 3 }),
        count: number,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fields, (value) => {
        const line = logLine('info', value);
        const time = (JSON.parse(line) as { time: string }).time;
        expect(line).toBe(JSON.stringify({ level: 'info', time, ...value }));
      }),
    );
  });

  it('the request line is, character for character, the line logLine writes for the same fields', () => {
    const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('/buddy/identity', 'bad_signature_mismatch', '"\\'));
    const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });
    const number = fc.oneof(fc.double(), fc.integer(), fc.integer({ min: 0, max: 1e11 }).map((n) => n / 100), fc.constantFrom(-0, NaN, Infinity));
    const requestFields = fc.record({
      provider: text,
      route: maybe(text),
      method: maybe(text),
      format: maybe(fc.constantFrom('rest-v1', 'http-v2', 'function-url')),
      outcome: text,
      status: number,
      latencyMs: number,
      requestId: maybe(text),
      eventType: maybe(text),
      dedupeKey: maybe(text),
      droppedFields: maybe(fc.array(text, { maxLength: 3 })),
    });
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      fc.assert(
        fc.property(fc.constantFrom<LogLevel>('info', 'warn', 'error'), requestFields, (level, fields) => {
          expect(requestLine(level, fields)).toBe(logLine(level, fields));
        }),
      );
    } finally {
      vi.useRealTimers();
    }
    const lines: string[] = [];
    const filtered = createLogger((line) => lines.push(line), 'warn');
    const line = { provider: 'talki', route: '/talki', method: 'POST', format: 'http-v2', outcome: 'resolved', status: 200, latencyMs: 1.5, requestId: 'r', eventType: undefined, dedupeKey: undefined, droppedFields: undefined };
    filtered.request('info', line);
    filtered.request('warn', { ...line, status: 401, outcome: 'bad_signature_mismatch' });
    expect(lines.map((l) => (JSON.parse(l) as { outcome: string }).outcome)).toEqual(['bad_signature_mismatch']);
  });

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

describe('withDeadline arms its timer only for work that waits', () => {
  afterEach(() => vi.useRealTimers());

  it('work that settled at once leaves no timer behind and answers its value', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const result = withDeadline(1_000, async () => 'at once');
    expect(await result).toEqual({ ok: true, value: 'at once' });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('work that waits gets the timer in the same turn, and the deadline still answers at `ms`', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let settled = false;
    const result = withDeadline(1_000, () => new Promise<string>(() => undefined)).then((r) => {
      settled = true;
      return r;
    });
    await Promise.resolve();
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await result).toEqual({ ok: false, reason: 'timeout' });
  });

  it('nothing it leaves (the interval that keeps its timer list) holds a process open', async () => {
    // A 10-minute deadline around work that waits: the process must still end as soon as the work is done.
    const script = `
      import { withDeadline } from ${JSON.stringify(new URL('../../shared/deadline.ts', import.meta.url).pathname)};
      console.log(JSON.stringify(await withDeadline(600000, () => new Promise((done) => setTimeout(() => done('done'), 5)))));`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(child.error).toBeUndefined();
    expect({ status: child.status, stdout: child.stdout.trim() }).toEqual({ status: 0, stdout: JSON.stringify({ ok: true, value: 'done' }) });
  }, 40_000);
});

describe.each(EVENT_KINDS)('signedHandler warm path (%s)', (kind) => {
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
    expect(seen[0]!.json()).toEqual({ ok: true, value: { sessionId: 's\ufffd', timestamp: NOW_MS / 1000 } });
  });

  it('cachedCandidates serves what candidates() serves while fresh, and nothing once stale', async () => {
    const { clock, secrets, handler } = setup();
    expect(secrets.cachedCandidates(STUB_SECRET_ID, 'signingSecret')).toBeUndefined();
    expect((await handler(post(`{"sessionId":"s","timestamp":${NOW_MS / 1000}}`))).statusCode).toBe(200);
    expect(secrets.cachedCandidates(STUB_SECRET_ID, 'signingSecret')).toEqual(await secrets.candidates(STUB_SECRET_ID, 'signingSecret'));
    clock.advance(SECRETS_DEFAULTS.ttlMs);
    expect(secrets.cachedCandidates(STUB_SECRET_ID, 'signingSecret')).toBeUndefined();
  });
});
