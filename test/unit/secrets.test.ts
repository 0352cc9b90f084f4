import { GetSecretValueCommand, ListSecretVersionIdsCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../shared/log.js';
import {
  PLACEHOLDER_PREFIX,
  readSecretKey,
  SECRETS_DEFAULTS,
  SecretsCache,
  secretsCacheFromEnv,
  type SecretsCacheOptions,
} from '../../shared/secrets/cache.js';
import { DAY_MS, manualClock, secretsManagerWith, warmUpSecretsManagerClient } from '../support/secrets-manager.js';

const T0 = 1_717_000_000_000;
const MINUTE = 60_000;
const ID = 'webhooks/test';
const { ttlMs: TTL, minRefreshIntervalMs: MIN_REFRESH, previousGraceMs: GRACE, maxStaleMs: MAX_STALE } = SECRETS_DEFAULTS;

function setup(value: string | Record<string, string>, options: Partial<SecretsCacheOptions> & { currentAgeMs?: number } = {}) {
  const clock = manualClock(T0);
  const lines: string[] = [];
  const { sm, client } = secretsManagerWith(ID, value, { now: clock.now, ...(options.currentAgeMs !== undefined ? { currentAgeMs: options.currentAgeMs } : {}) });
  const cache = new SecretsCache({ client, now: clock.now, logger: createLogger((line) => lines.push(line), 'debug'), ...options });
  const logs = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  const calls = () => [sm.calls.ListSecretVersionIds, sm.calls.GetSecretValue];
  return { clock, sm, client, cache, lines, logs, calls };
}

beforeAll(warmUpSecretsManagerClient);

/** Lets a background refresh (an in-process client: promises only) run to its end. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('readSecretKey: the secret value as the CDK stack or an operator writes it', () => {
  it('a plain string is the signing secret of a provider with one key', () => {
    expect(readSecretKey('s3cret', 'signingSecret')).toEqual({ kind: 'secret', value: 's3cret' });
    expect(readSecretKey('null', 'signingSecret')).toEqual({ kind: 'secret', value: 'null' });
  });

  it('a JSON object holds named keys (bullseye: identification and billing)', () => {
    const value = JSON.stringify({ identification: 'id-secret', billing: 'bill-secret' });
    const keys = ['identification', 'billing'];
    expect(readSecretKey(value, 'identification', keys)).toEqual({ kind: 'secret', value: 'id-secret' });
    expect(readSecretKey(value, 'billing', keys)).toEqual({ kind: 'secret', value: 'bill-secret' });
    expect(readSecretKey(value, 'signingSecret')).toEqual({ kind: 'absent' });
    // Whitespace around the JSON itself is harmless: it is not part of any key's value.
    expect(readSecretKey(`${value}\n`, 'billing', keys)).toEqual({ kind: 'secret', value: 'bill-secret' });
  });

  it(`placeholders (${PLACEHOLDER_PREFIX}...), empty and missing values configure nothing`, () => {
    expect(readSecretKey(`${PLACEHOLDER_PREFIX}BUDDY_SECRET`, 'signingSecret')).toEqual({ kind: 'absent' });
    expect(readSecretKey(JSON.stringify({ signingSecret: `${PLACEHOLDER_PREFIX}ME` }), 'signingSecret')).toEqual({ kind: 'absent' });
    expect(readSecretKey(JSON.stringify({ signingSecret: '' }), 'signingSecret')).toEqual({ kind: 'absent' });
    expect(readSecretKey(JSON.stringify({ signingSecret: null }), 'signingSecret')).toEqual({ kind: 'absent' });
    expect(readSecretKey('', 'signingSecret')).toEqual({ kind: 'absent' });
  });

  it.each([
    ['a trailing newline', 's3cret\n'],
    ['a trailing space', 's3cret '],
    ['a leading space', ' s3cret'],
    ['CRLF', 's3cret\r\n'],
  ])('misconfigured: a plain secret with %s -> surrounding_whitespace', (_name, value) => {
    expect(readSecretKey(value, 'signingSecret')).toEqual({ kind: 'misconfigured', problem: 'surrounding_whitespace' });
  });

  it('misconfigured: a key value with whitespace inside the JSON -> surrounding_whitespace', () => {
    expect(readSecretKey(JSON.stringify({ signingSecret: 's3cret\n' }), 'signingSecret')).toEqual({ kind: 'misconfigured', problem: 'surrounding_whitespace' });
  });

  it.each([
    ['truncated JSON', '{"signingSecret": "s3cr'],
    ['a brace that is not JSON', '{not json'],
    ['a JSON array', '["s3cret"]'],
  ])('misconfigured: %s -> invalid_json (not used as a plain string)', (_name, value) => {
    expect(readSecretKey(value, 'signingSecret')).toEqual({ kind: 'misconfigured', problem: 'invalid_json' });
  });

  it('misconfigured: a key whose value is not a string -> not_a_string', () => {
    expect(readSecretKey(JSON.stringify({ signingSecret: 42 }), 'signingSecret')).toEqual({ kind: 'misconfigured', problem: 'not_a_string' });
  });

  it('misconfigured: a plain string for bullseye (two keys) -> plain_string_for_several_keys, for either route', () => {
    const keys = ['identification', 'billing'];
    expect(readSecretKey('one-secret', 'identification', keys)).toEqual({ kind: 'misconfigured', problem: 'plain_string_for_several_keys' });
    expect(readSecretKey('one-secret', 'billing', keys)).toEqual({ kind: 'misconfigured', problem: 'plain_string_for_several_keys' });
  });
});

describe('SecretsCache over the Secrets Manager stand-in', () => {
  it('a cold start asks for the version list and the AWSCURRENT value at once: one List and one Get', async () => {
    const { cache, calls } = setup('plain-secret');
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toEqual({ ok: true, secrets: ['plain-secret'], stages: ['AWSCURRENT'] });
    expect(calls()).toEqual([1, 1]);
  });

  it('TTL: no call inside the TTL; past it the cached value answers at once and one refresh (List only) runs behind it', async () => {
    const { cache, clock, calls } = setup('plain-secret');
    await cache.candidates(ID, 'signingSecret');
    clock.advance(TTL - 1);
    for (let i = 0; i < 50; i++) await cache.candidates(ID, 'signingSecret');
    expect(calls()).toEqual([1, 1]);
    clock.advance(1);
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toMatchObject({ ok: true, secrets: ['plain-secret'] });
    await cache.candidates(ID, 'signingSecret');
    await settle();
    // The version did not change, so its value is not fetched again.
    expect(calls()).toEqual([2, 1]);
  });

  it('concurrent cold callers share one in-flight fetch', async () => {
    vi.useFakeTimers();
    try {
      const { sm, cache, calls } = setup('plain-secret');
      sm.setFault({ kind: 'delay', ms: 500 });
      const pending = Array.from({ length: 25 }, () => cache.candidates(ID, 'signingSecret'));
      await vi.advanceTimersByTimeAsync(500);
      const results = await Promise.all(pending);
      expect(results.every((r) => r.ok && r.secrets[0] === 'plain-secret')).toBe(true);
      expect(calls()).toEqual([1, 1]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('bullseye: one JSON secret serves both routes, each with its own key, from one fetch', async () => {
    const { cache, calls } = setup({ identification: 'id-secret', billing: 'bill-secret' });
    const keys = ['identification', 'billing'];
    await expect(cache.candidates(ID, 'identification', { keys })).resolves.toMatchObject({ ok: true, secrets: ['id-secret'] });
    await expect(cache.candidates(ID, 'billing', { keys })).resolves.toMatchObject({ ok: true, secrets: ['bill-secret'] });
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toEqual({ ok: true, secrets: [], stages: [] });
    expect(calls()[0]).toBe(1);
  });

  it('a key still holding the CDK placeholder yields no candidate', async () => {
    const { cache } = setup({ identification: `${PLACEHOLDER_PREFIX}IDENTIFICATION`, billing: 'bill-secret' });
    await expect(cache.candidates(ID, 'identification')).resolves.toEqual({ ok: true, secrets: [], stages: [] });
    await expect(cache.candidates(ID, 'billing')).resolves.toMatchObject({ secrets: ['bill-secret'] });
  });

  it('rotation: AWSPENDING verifies as soon as it is staged (after the next refresh)', async () => {
    const { sm, cache, clock } = setup({ signingSecret: 'old' });
    await cache.candidates(ID, 'signingSecret');
    sm.put(ID, JSON.stringify({ signingSecret: 'new' }), { stage: 'AWSPENDING' });
    clock.advance(MIN_REFRESH);
    await expect(cache.refreshAfterMismatch(ID)).resolves.toBe(true);
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toEqual({ ok: true, secrets: ['old', 'new'], stages: ['AWSCURRENT', 'AWSPENDING'] });
  });

  it('rotation: AWSPREVIOUS verifies within the grace after AWSCURRENT was created, and not after', async () => {
    const { sm, cache, clock } = setup('old');
    await cache.candidates(ID, 'signingSecret');
    clock.advance(TTL);
    sm.put(ID, 'new');
    await expect(cache.refreshAfterMismatch(ID)).resolves.toBe(true);
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toEqual({ ok: true, secrets: ['new', 'old'], stages: ['AWSCURRENT', 'AWSPREVIOUS'] });
    // Still cached, but the grace is over: the old secret stops verifying at once, not at the next fetch.
    clock.advance(GRACE - 1);
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toMatchObject({ secrets: ['new', 'old'] });
    clock.advance(1);
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toEqual({ ok: true, secrets: ['new'], stages: ['AWSCURRENT'] });
  });

  it('an AWSPREVIOUS older than the grace is not even fetched', async () => {
    const clock = manualClock(T0 - GRACE - MINUTE); // the rotation happened 61 minutes before the cache starts
    const { sm, client } = secretsManagerWith(ID, 'old', { now: clock.now });
    sm.put(ID, 'new');
    clock.set(T0);
    const cache = new SecretsCache({ client, now: clock.now, logger: createLogger(() => undefined) });
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toEqual({ ok: true, secrets: ['new'], stages: ['AWSCURRENT'] });
    expect(sm.calls.GetSecretValue).toBe(1); // AWSCURRENT only
  });

  it('a rotation costs one List and one Get: values are cached by VersionId', async () => {
    const { sm, cache, clock, calls } = setup('old');
    await cache.candidates(ID, 'signingSecret');
    sm.put(ID, 'new');
    clock.advance(TTL);
    await cache.candidates(ID, 'signingSecret');
    await settle();
    expect(calls()).toEqual([2, 2]);
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toMatchObject({ secrets: ['new', 'old'] });
  });

  it('refresh on mismatch: at most one call per minRefreshInterval, however many bad signatures arrive', async () => {
    const { cache, clock, calls } = setup('secret');
    await cache.candidates(ID, 'signingSecret');
    // Within the interval of the first fetch: refused without a call.
    const early = await Promise.all(Array.from({ length: 1000 }, () => cache.refreshAfterMismatch(ID)));
    expect(early.every((changed) => !changed)).toBe(true);
    expect(calls()[0]).toBe(1);
    for (let interval = 1; interval <= 3; interval++) {
      clock.advance(MIN_REFRESH);
      const flood = await Promise.all(Array.from({ length: 1000 }, () => cache.refreshAfterMismatch(ID)));
      expect(flood.filter(Boolean)).toEqual([]); // nothing changed, so nothing is worth retrying
      expect(calls()[0]).toBe(1 + interval);
    }
  });

  it('refresh on mismatch reports true only when the versions changed', async () => {
    const { sm, cache, clock, calls } = setup('old');
    await cache.candidates(ID, 'signingSecret');
    clock.advance(MIN_REFRESH);
    await expect(cache.refreshAfterMismatch(ID)).resolves.toBe(false);
    sm.put(ID, 'new');
    clock.advance(MIN_REFRESH);
    await expect(cache.refreshAfterMismatch(ID)).resolves.toBe(true);
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toMatchObject({ secrets: ['new', 'old'] });
    expect(calls()[0]).toBe(3);
  });

  it('stale on error: a failed refresh keeps the cached value serving, logged each time (never the value), retried only after the interval', async () => {
    const { sm, cache, clock, logs, lines, calls } = setup('cached-secret');
    await cache.candidates(ID, 'signingSecret');
    clock.advance(TTL);
    sm.setFault({ kind: 'throttle' });
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toMatchObject({ ok: true, secrets: ['cached-secret'] });
    await settle();
    expect(logs().filter((l) => l.outcome === 'secret_refresh_failed')).toEqual([expect.objectContaining({ level: 'warn', secretId: ID, errorName: 'ThrottlingException' })]);
    expect(calls()[0]).toBe(2);
    clock.advance(MIN_REFRESH - 1);
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toMatchObject({ ok: true, secrets: ['cached-secret'] });
    await settle();
    expect(calls()[0]).toBe(2);
    // Every stale answer is logged, as a warning once a refresh has failed.
    expect(logs().filter((l) => l.outcome === 'secret_stale_served').map((l) => l.level)).toEqual(['info', 'warn']);
    expect(lines.join('\n')).not.toContain('cached-secret');
    clock.advance(1);
    sm.setFault(undefined);
    await cache.candidates(ID, 'signingSecret');
    await settle();
    expect(calls()[0]).toBe(3);
    clock.advance(1);
    await cache.candidates(ID, 'signingSecret');
    expect(logs().filter((l) => l.outcome === 'secret_stale_served')).toHaveLength(3); // fresh again: no new line
  });

  it('nothing cached and Secrets Manager failing: secrets_unavailable, with Retry-After until the next allowed fetch', async () => {
    const { sm, cache, logs } = setup('never-seen');
    sm.setFault({ kind: 'access_denied' });
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toEqual({ ok: false, reason: 'secrets_unavailable', retryAfterSeconds: MIN_REFRESH / 1000 });
    expect(logs()).toEqual([expect.objectContaining({ level: 'warn', outcome: 'secret_unavailable', errorName: 'AccessDeniedException' })]);
    await expect(cache.refreshAfterMismatch(ID)).resolves.toBe(false);
  });

  it('negative cache: a cold container whose fetch failed makes no call until the interval passes, however many requests arrive', async () => {
    const { sm, cache, clock, calls } = setup('never-seen');
    sm.setFault({ kind: 'throttle' });
    const first = await Promise.all(Array.from({ length: 500 }, () => cache.candidates(ID, 'signingSecret')));
    expect(first.every((r) => !r.ok)).toBe(true);
    expect(calls()).toEqual([1, 1]); // one fetch: the list and the current value at once
    clock.advance(MIN_REFRESH - 1);
    const during = await Promise.all(Array.from({ length: 500 }, () => cache.candidates(ID, 'signingSecret')));
    expect(during.every((r) => !r.ok && r.reason === 'secrets_unavailable' && r.retryAfterSeconds === 1)).toBe(true);
    expect(calls()).toEqual([1, 1]);
    clock.advance(1);
    await Promise.all(Array.from({ length: 500 }, () => cache.candidates(ID, 'signingSecret')));
    // A retry after a failure asks for the list alone: one call per interval.
    expect(calls()).toEqual([2, 1]);
    sm.setFault(undefined);
    clock.advance(MIN_REFRESH);
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toMatchObject({ ok: true, secrets: ['never-seen'] });
    expect(calls()).toEqual([3, 2]);
  });

  it('an unknown secret id is secrets_unavailable, not a throw', async () => {
    const { cache } = setup('x');
    await expect(cache.candidates('no-such-secret', 'signingSecret')).resolves.toMatchObject({ ok: false, reason: 'secrets_unavailable' });
  });

  it('waitMs: a cold fetch slower than the wait answers secrets_unavailable at the wait; the fetch lands for the next request', async () => {
    vi.useFakeTimers();
    try {
      const { sm, cache, calls } = setup('slow-secret');
      sm.setFault({ kind: 'delay', ms: 1_900 });
      let answer: unknown;
      const pending = cache.candidates(ID, 'signingSecret', { waitMs: 1_000 }).then((r) => (answer = r));
      await vi.advanceTimersByTimeAsync(999);
      expect(answer).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      await pending;
      expect(answer).toEqual({ ok: false, reason: 'secrets_unavailable', retryAfterSeconds: 1 });
      await vi.advanceTimersByTimeAsync(900);
      sm.setFault(undefined);
      await expect(cache.candidates(ID, 'signingSecret', { waitMs: 1_000 })).resolves.toMatchObject({ ok: true, secrets: ['slow-secret'] });
      expect(calls()).toEqual([1, 1]);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('SecretsCache: the staleness ceiling (SECRETS_MAX_STALE_SECONDS), on a simulated clock', () => {
  it(`while Secrets Manager fails, a cached secret verifies until ${MAX_STALE / 3_600_000} h after its last successful fetch, then 503 and secret_stale_expired`, async () => {
    const { sm, cache, clock, logs } = setup('cached-secret');
    await cache.candidates(ID, 'signingSecret');
    sm.setFault({ kind: 'access_denied' });
    for (let t = TTL; t < MAX_STALE; t += 3_600_000) {
      clock.set(T0 + t);
      await expect(cache.candidates(ID, 'signingSecret')).resolves.toMatchObject({ ok: true, secrets: ['cached-secret'] });
      await settle();
    }
    clock.set(T0 + MAX_STALE - 1);
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toMatchObject({ ok: true });
    await settle();
    clock.set(T0 + MAX_STALE);
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toMatchObject({ ok: false, reason: 'secrets_unavailable' });
    expect(logs().filter((l) => l.outcome === 'secret_stale_expired')).toEqual([expect.objectContaining({ level: 'error', secretId: ID, ageSeconds: MAX_STALE / 1000 })]);
    // 30 days later (the case reported in #13): still refused.
    clock.set(T0 + 30 * DAY_MS);
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toMatchObject({ ok: false });
    // Once Secrets Manager answers again, the secret verifies again.
    sm.setFault(undefined);
    clock.advance(MIN_REFRESH);
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toMatchObject({ ok: true, secrets: ['cached-secret'] });
  });

  it('an idle container past the ceiling simply fetches again, without the alarm line', async () => {
    const { cache, clock, logs, calls } = setup('cached-secret');
    await cache.candidates(ID, 'signingSecret');
    clock.set(T0 + 2 * DAY_MS);
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toMatchObject({ ok: true, secrets: ['cached-secret'] });
    expect(calls()[0]).toBe(2);
    expect(logs().some((l) => l.outcome === 'secret_stale_expired')).toBe(false);
  });
});

describe('SecretsCache: a misconfigured secret is a result, named in the log without its value', () => {
  it.each([
    ['a trailing newline', 'pasted-secret\n', 'surrounding_whitespace'],
    ['truncated JSON', '{"signingSecret": "pasted-sec', 'invalid_json'],
  ])('AWSCURRENT with %s -> secret_misconfigured, logged with the key and the problem', async (_name, value, problem) => {
    const { cache, lines, logs } = setup(value);
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toEqual({ ok: false, reason: 'secret_misconfigured', key: 'signingSecret', problem });
    expect(logs()).toContainEqual(expect.objectContaining({ level: 'error', outcome: 'secret_misconfigured', secretId: ID, key: 'signingSecret', stage: 'AWSCURRENT', problem }));
    expect(lines.join('\n')).not.toContain('pasted-sec');
  });

  it('bullseye: a plain string -> secret_misconfigured on both routes', async () => {
    const { cache } = setup('one-secret-for-both');
    const keys = ['identification', 'billing'];
    for (const key of keys) {
      await expect(cache.candidates(ID, key, { keys })).resolves.toEqual({ ok: false, reason: 'secret_misconfigured', key, problem: 'plain_string_for_several_keys' });
    }
  });

  it('a fix in the console is picked up within the refresh interval, not the TTL', async () => {
    const { sm, cache, clock } = setup('pasted-secret ');
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toMatchObject({ reason: 'secret_misconfigured' });
    sm.put(ID, 'pasted-secret');
    clock.advance(MIN_REFRESH);
    await cache.candidates(ID, 'signingSecret'); // serves what is cached, refreshes behind it
    await settle();
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toMatchObject({ ok: true, secrets: ['pasted-secret'] });
  });

  it('a misconfigured AWSPENDING is left out (and logged); AWSCURRENT keeps verifying', async () => {
    const { sm, cache, clock, logs } = setup('current');
    sm.put(ID, 'pending\n', { stage: 'AWSPENDING' });
    clock.advance(MIN_REFRESH);
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toEqual({ ok: true, secrets: ['current'], stages: ['AWSCURRENT'] });
    expect(logs()).toContainEqual(expect.objectContaining({ outcome: 'secret_misconfigured', stage: 'AWSPENDING', problem: 'surrounding_whitespace' }));
  });
});

describe('SecretsCache: answers Secrets Manager gives only when something is wrong (aws-sdk-client-mock)', () => {
  /** The stand-in's client with the named calls overridden; the rest pass through to the stand-in. */
  function overridden(client: SecretsManagerClient) {
    const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
    const mock = mockClient(client);
    mock.on(ListSecretVersionIdsCommand).callsFake((input) => send(new ListSecretVersionIdsCommand(input)));
    mock.on(GetSecretValueCommand).callsFake((input) => send(new GetSecretValueCommand(input)));
    return mock;
  }

  it('a secret without AWSCURRENT is unavailable', async () => {
    const { cache, client } = setup('current');
    const mock = overridden(client);
    mock.on(ListSecretVersionIdsCommand).resolves({ Versions: [{ VersionId: 'v-pending', VersionStages: ['AWSPENDING'], CreatedDate: new Date(T0) }] });
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toMatchObject({ ok: false, reason: 'secrets_unavailable' });
    mock.restore();
  });

  it('an unreadable pending version is skipped', async () => {
    const { sm, cache, client, clock, logs } = setup('current');
    const pendingId = sm.put(ID, 'pending', { stage: 'AWSPENDING' });
    const mock = overridden(client);
    mock.on(GetSecretValueCommand, { SecretId: ID, VersionId: pendingId }).rejects(Object.assign(new Error('KMS key disabled'), { name: 'KMSInvalidStateException' }));
    clock.advance(MIN_REFRESH);
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toEqual({ ok: true, secrets: ['current'], stages: ['AWSCURRENT'] });
    expect(logs()).toContainEqual(expect.objectContaining({ level: 'warn', errorName: 'KMSInvalidStateException' }));
    mock.restore();
  });
});

describe('secretsCacheFromEnv', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  function fromEnv(env: NodeJS.ProcessEnv) {
    // The env-built cache uses Date.now and the default logger: fake the clock, silence stdout.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(T0);
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const { sm, client } = secretsManagerWith(ID, 'env-secret', { now: Date.now });
    return { sm, cache: secretsCacheFromEnv(env, client) };
  }

  it('reads SECRETS_TTL_SECONDS and SECRETS_MIN_REFRESH_SECONDS', async () => {
    const { sm, cache } = fromEnv({ SECRETS_TTL_SECONDS: '10', SECRETS_MIN_REFRESH_SECONDS: '2' });
    await cache.candidates(ID, 'signingSecret');
    vi.setSystemTime(T0 + 9_999);
    await cache.candidates(ID, 'signingSecret');
    expect(sm.calls.ListSecretVersionIds).toBe(1);
    vi.setSystemTime(T0 + 10_000);
    await cache.candidates(ID, 'signingSecret');
    await settle();
    expect(sm.calls.ListSecretVersionIds).toBe(2);
    vi.setSystemTime(T0 + 12_000);
    await cache.refreshAfterMismatch(ID);
    expect(sm.calls.ListSecretVersionIds).toBe(3);
  });

  it('reads SECRETS_PREVIOUS_GRACE_SECONDS', async () => {
    const { sm, cache } = fromEnv({ SECRETS_PREVIOUS_GRACE_SECONDS: '60' });
    sm.put(ID, 'new');
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toMatchObject({ secrets: ['new', 'env-secret'] });
    vi.setSystemTime(T0 + 60_000);
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toMatchObject({ secrets: ['new'] });
  });

  it('reads SECRETS_MAX_STALE_SECONDS', async () => {
    const { sm, cache } = fromEnv({ SECRETS_MAX_STALE_SECONDS: '3600' });
    await cache.candidates(ID, 'signingSecret');
    sm.setFault({ kind: 'throttle' });
    vi.setSystemTime(T0 + 3_599_999);
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toMatchObject({ ok: true });
    await settle();
    vi.setSystemTime(T0 + 3_600_000);
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toMatchObject({ ok: false });
  });

  it('unset or unusable values fall back to the defaults', async () => {
    const { sm, cache } = fromEnv({ SECRETS_TTL_SECONDS: 'soon', SECRETS_MIN_REFRESH_SECONDS: '' });
    await cache.candidates(ID, 'signingSecret');
    vi.setSystemTime(T0 + TTL - 1);
    await cache.candidates(ID, 'signingSecret');
    expect(sm.calls.ListSecretVersionIds).toBe(1);
    vi.setSystemTime(T0 + TTL);
    await cache.candidates(ID, 'signingSecret');
    await settle();
    expect(sm.calls.ListSecretVersionIds).toBe(2);
  });

  it('builds its own client when none is given', () => {
    expect(secretsCacheFromEnv({})).toBeInstanceOf(SecretsCache);
  });
});
