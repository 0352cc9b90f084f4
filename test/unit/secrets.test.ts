import { GetSecretValueCommand, ListSecretVersionIdsCommand } from '@aws-sdk/client-secrets-manager';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../shared/log.js';
import {
  PLACEHOLDER_PREFIX,
  SECRETS_DEFAULTS,
  SecretsCache,
  secretForKey,
  secretsCacheFromEnv,
  type SecretsCacheOptions,
} from '../../shared/secrets/cache.js';
import { manualClock, STUB_SECRET_ID as ID, stubbedSecretsManager } from '../fixtures/stubbed-secrets-manager.js';

const T0 = 1_717_000_000_000;
const MINUTE = 60_000;
const { ttlMs: TTL, minRefreshIntervalMs: MIN_REFRESH, previousGraceMs: GRACE } = SECRETS_DEFAULTS;

function setup(value: string | Record<string, string>, options: Partial<SecretsCacheOptions> & { currentAgeMs?: number } = {}) {
  const clock = manualClock(T0);
  const lines: string[] = [];
  const sm = stubbedSecretsManager({ value, now: clock.now, ...(options.currentAgeMs !== undefined ? { currentAgeMs: options.currentAgeMs } : {}) });
  const cache = new SecretsCache({ client: sm.client, now: clock.now, logger: createLogger((line) => lines.push(line), 'debug'), ...options });
  const logs = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { clock, sm, cache, lines, logs };
}

describe('secretForKey: the secret value as the CDK stack or an operator writes it', () => {
  it('a plain string is the signing secret for any key', () => {
    expect(secretForKey('s3cret', 'signingSecret')).toBe('s3cret');
  });

  it('a JSON object holds named keys (bullseye: identification and billing)', () => {
    const value = JSON.stringify({ identification: 'id-secret', billing: 'bill-secret' });
    expect(secretForKey(value, 'identification')).toBe('id-secret');
    expect(secretForKey(value, 'billing')).toBe('bill-secret');
    expect(secretForKey(value, 'signingSecret')).toBeUndefined();
  });

  it('a string that only looks like JSON is a plain secret', () => {
    expect(secretForKey('{not json', 'signingSecret')).toBe('{not json');
  });

  it(`placeholders (${PLACEHOLDER_PREFIX}...), empty and non-string values configure nothing`, () => {
    expect(secretForKey(`${PLACEHOLDER_PREFIX}BUDDY_SECRET`, 'signingSecret')).toBeUndefined();
    expect(secretForKey(JSON.stringify({ signingSecret: `${PLACEHOLDER_PREFIX}ME` }), 'signingSecret')).toBeUndefined();
    expect(secretForKey(JSON.stringify({ signingSecret: '' }), 'signingSecret')).toBeUndefined();
    expect(secretForKey(JSON.stringify({ signingSecret: 42 }), 'signingSecret')).toBeUndefined();
    expect(secretForKey('', 'signingSecret')).toBeUndefined();
    expect(secretForKey('null', 'signingSecret')).toBe('null');
  });
});

describe('SecretsCache over a stubbed SecretsManagerClient', () => {
  it('first use costs one ListSecretVersionIds and one GetSecretValue by VersionId', async () => {
    const { sm, cache } = setup('plain-secret');
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toEqual({ ok: true, secrets: ['plain-secret'], stages: ['AWSCURRENT'] });
    expect(sm.mock.commandCalls(ListSecretVersionIdsCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: ID, IncludeDeprecated: false, MaxResults: 100 },
    ]);
    expect(sm.mock.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([{ SecretId: ID, VersionId: 'v1' }]);
  });

  it('TTL: no call inside the TTL, one refresh (List only) once it has passed', async () => {
    const { sm, cache, clock } = setup('plain-secret');
    await cache.candidates(ID, 'signingSecret');
    clock.advance(TTL - 1);
    for (let i = 0; i < 50; i++) await cache.candidates(ID, 'signingSecret');
    expect([sm.listCalls(), sm.getCalls()]).toEqual([1, 1]);
    clock.advance(1);
    await cache.candidates(ID, 'signingSecret');
    await cache.candidates(ID, 'signingSecret');
    // The version did not change, so its value is not fetched again.
    expect([sm.listCalls(), sm.getCalls()]).toEqual([2, 1]);
  });

  it('concurrent callers share one in-flight fetch', async () => {
    const { sm, cache } = setup('plain-secret');
    let open!: () => void;
    sm.holdUntil(new Promise<void>((resolve) => (open = resolve)));
    const pending = Array.from({ length: 25 }, () => cache.candidates(ID, 'signingSecret'));
    await new Promise((resolve) => setTimeout(resolve, 10));
    open();
    const results = await Promise.all(pending);
    expect(results.every((r) => r.ok && r.secrets[0] === 'plain-secret')).toBe(true);
    expect([sm.listCalls(), sm.getCalls()]).toEqual([1, 1]);
  });

  it('bullseye: one JSON secret serves both routes, each with its own key, from one fetch', async () => {
    const { sm, cache } = setup({ identification: 'id-secret', billing: 'bill-secret' });
    await expect(cache.candidates(ID, 'identification')).resolves.toMatchObject({ ok: true, secrets: ['id-secret'] });
    await expect(cache.candidates(ID, 'billing')).resolves.toMatchObject({ ok: true, secrets: ['bill-secret'] });
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toEqual({ ok: true, secrets: [], stages: [] });
    expect(sm.listCalls()).toBe(1);
  });

  it('a key still holding the CDK placeholder yields no candidate', async () => {
    const { cache } = setup({ identification: `${PLACEHOLDER_PREFIX}IDENTIFICATION`, billing: 'bill-secret' });
    await expect(cache.candidates(ID, 'identification')).resolves.toEqual({ ok: true, secrets: [], stages: [] });
    await expect(cache.candidates(ID, 'billing')).resolves.toMatchObject({ secrets: ['bill-secret'] });
  });

  it('rotation: AWSPENDING verifies as soon as it is staged (after the next refresh)', async () => {
    const { sm, cache, clock } = setup({ signingSecret: 'old' });
    await cache.candidates(ID, 'signingSecret');
    sm.stagePending(JSON.stringify({ signingSecret: 'new' }));
    clock.advance(MIN_REFRESH);
    await expect(cache.refreshAfterMismatch(ID)).resolves.toBe(true);
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toEqual({ ok: true, secrets: ['old', 'new'], stages: ['AWSCURRENT', 'AWSPENDING'] });
  });

  it('rotation: AWSPREVIOUS verifies within the grace after AWSCURRENT was created, and not after', async () => {
    const { sm, cache, clock } = setup('old');
    await cache.candidates(ID, 'signingSecret');
    clock.advance(TTL);
    sm.rotate('new');
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toEqual({ ok: true, secrets: ['new', 'old'], stages: ['AWSCURRENT', 'AWSPREVIOUS'] });
    // Still cached, but the grace is over: the old secret stops verifying at once, not at the next fetch.
    clock.advance(GRACE - 1);
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toMatchObject({ secrets: ['new', 'old'] });
    clock.advance(1);
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toEqual({ ok: true, secrets: ['new'], stages: ['AWSCURRENT'] });
  });

  it('an AWSPREVIOUS older than the grace is not even fetched', async () => {
    const clock = manualClock(T0);
    const sm = stubbedSecretsManager({ value: 'old', now: clock.now });
    clock.advance(-GRACE - MINUTE); // the rotation happened 61 minutes before the cache starts
    sm.rotate('new');
    clock.set(T0);
    const cache = new SecretsCache({ client: sm.client, now: clock.now, logger: createLogger(() => undefined) });
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toEqual({ ok: true, secrets: ['new'], stages: ['AWSCURRENT'] });
    expect(sm.mock.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.VersionId)).toEqual(['v2']);
  });

  it('a rotation costs one List and one Get: values are cached by VersionId', async () => {
    const { sm, cache, clock } = setup('old');
    await cache.candidates(ID, 'signingSecret');
    sm.rotate('new');
    clock.advance(TTL);
    await cache.candidates(ID, 'signingSecret');
    expect([sm.listCalls(), sm.getCalls()]).toEqual([2, 2]);
    expect(sm.mock.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.VersionId)).toEqual(['v1', 'v2']);
  });

  it('refresh on mismatch: at most one call per minRefreshInterval, however many bad signatures arrive', async () => {
    const { sm, cache, clock } = setup('secret');
    await cache.candidates(ID, 'signingSecret');
    // Within the interval of the first fetch: refused without a call.
    const early = await Promise.all(Array.from({ length: 1000 }, () => cache.refreshAfterMismatch(ID)));
    expect(early.every((changed) => !changed)).toBe(true);
    expect(sm.listCalls()).toBe(1);
    for (let interval = 1; interval <= 3; interval++) {
      clock.advance(MIN_REFRESH);
      const flood = await Promise.all(Array.from({ length: 1000 }, () => cache.refreshAfterMismatch(ID)));
      expect(flood.filter(Boolean)).toEqual([]); // nothing changed, so nothing is worth retrying
      expect(sm.listCalls()).toBe(1 + interval);
    }
  });

  it('refresh on mismatch reports true only when the versions changed', async () => {
    const { sm, cache, clock } = setup('old');
    await cache.candidates(ID, 'signingSecret');
    clock.advance(MIN_REFRESH);
    await expect(cache.refreshAfterMismatch(ID)).resolves.toBe(false);
    sm.rotate('new');
    clock.advance(MIN_REFRESH);
    await expect(cache.refreshAfterMismatch(ID)).resolves.toBe(true);
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toMatchObject({ secrets: ['new', 'old'] });
    expect(sm.listCalls()).toBe(3);
  });

  it('stale on error: a failed refresh serves the cached value, logs a warning, and is retried only after the interval', async () => {
    const { sm, cache, clock, logs, lines } = setup('cached-secret');
    await cache.candidates(ID, 'signingSecret');
    clock.advance(TTL);
    sm.failWith(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toMatchObject({ ok: true, secrets: ['cached-secret'] });
    expect(logs().filter((l) => l.level === 'warn')).toEqual([
      expect.objectContaining({ outcome: 'secret_stale_served', secretId: ID, errorName: 'ThrottlingException' }),
    ]);
    expect(lines.join('\n')).not.toContain('cached-secret');
    expect(sm.listCalls()).toBe(2);
    clock.advance(MIN_REFRESH - 1);
    await cache.candidates(ID, 'signingSecret');
    expect(sm.listCalls()).toBe(2);
    clock.advance(1);
    sm.failWith(undefined);
    await cache.candidates(ID, 'signingSecret');
    expect(sm.listCalls()).toBe(3);
  });

  it('nothing cached and Secrets Manager failing: secrets_unavailable', async () => {
    const { sm, cache, logs } = setup('never-seen');
    sm.failWith(Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' }));
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toEqual({ ok: false, reason: 'secrets_unavailable' });
    expect(logs()).toEqual([expect.objectContaining({ level: 'warn', outcome: 'secret_unavailable', errorName: 'AccessDeniedException' })]);
    await expect(cache.refreshAfterMismatch(ID)).resolves.toBe(false);
  });

  it('an unknown secret id is secrets_unavailable, not a throw', async () => {
    const { cache } = setup('x');
    await expect(cache.candidates('no-such-secret', 'signingSecret')).resolves.toEqual({ ok: false, reason: 'secrets_unavailable' });
  });

  it('a secret without AWSCURRENT is unavailable; an unreadable pending version is skipped', async () => {
    const { sm, cache, clock, logs } = setup('current');
    sm.versions[0]!.stages = ['AWSPENDING'];
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toEqual({ ok: false, reason: 'secrets_unavailable' });
    sm.versions[0]!.stages = ['AWSCURRENT'];
    const pendingId = sm.stagePending('pending');
    sm.mock.on(GetSecretValueCommand, { SecretId: ID, VersionId: pendingId }).rejects(Object.assign(new Error('KMS key disabled'), { name: 'KMSInvalidStateException' }));
    clock.advance(MIN_REFRESH);
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toEqual({ ok: true, secrets: ['current'], stages: ['AWSCURRENT'] });
    expect(logs()).toContainEqual(expect.objectContaining({ level: 'warn', errorName: 'KMSInvalidStateException' }));
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
    const sm = stubbedSecretsManager({ value: 'env-secret', now: () => T0 });
    return { sm, cache: secretsCacheFromEnv(env, sm.client) };
  }

  it('reads SECRETS_TTL_SECONDS and SECRETS_MIN_REFRESH_SECONDS', async () => {
    const { sm, cache } = fromEnv({ SECRETS_TTL_SECONDS: '10', SECRETS_MIN_REFRESH_SECONDS: '2' });
    await cache.candidates(ID, 'signingSecret');
    vi.setSystemTime(T0 + 9_999);
    await cache.candidates(ID, 'signingSecret');
    expect(sm.listCalls()).toBe(1);
    vi.setSystemTime(T0 + 10_000);
    await cache.candidates(ID, 'signingSecret');
    expect(sm.listCalls()).toBe(2);
    vi.setSystemTime(T0 + 12_000);
    await cache.refreshAfterMismatch(ID);
    expect(sm.listCalls()).toBe(3);
  });

  it('reads SECRETS_PREVIOUS_GRACE_SECONDS', async () => {
    const { sm, cache } = fromEnv({ SECRETS_PREVIOUS_GRACE_SECONDS: '60' });
    sm.rotate('new');
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toMatchObject({ secrets: ['new', 'env-secret'] });
    vi.setSystemTime(T0 + 60_000);
    await expect(cache.candidates(ID, 'signingSecret')).resolves.toMatchObject({ secrets: ['new'] });
  });

  it('unset or unusable values fall back to the defaults', async () => {
    const { sm, cache } = fromEnv({ SECRETS_TTL_SECONDS: 'soon', SECRETS_MIN_REFRESH_SECONDS: '' });
    await cache.candidates(ID, 'signingSecret');
    vi.setSystemTime(T0 + TTL - 1);
    await cache.candidates(ID, 'signingSecret');
    expect(sm.listCalls()).toBe(1);
    vi.setSystemTime(T0 + TTL);
    await cache.candidates(ID, 'signingSecret');
    expect(sm.listCalls()).toBe(2);
  });

  it('builds its own client when none is given', () => {
    expect(secretsCacheFromEnv({})).toBeInstanceOf(SecretsCache);
  });
});
