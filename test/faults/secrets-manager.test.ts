import { GetSecretValueCommand, ListSecretVersionIdsCommand } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SecretsManagerFault } from '../../local/stand-ins/secrets-manager.js';
import type { CustomerDirectory } from '../../shared/customers/profile.js';
import type { EventSink } from '../../shared/events/event.js';
import type { HttpResponse } from '../../shared/http/response.js';
import { ANSWER_HEADROOM_MS, PROVIDER_IDS, PROVIDERS, secretsDeadlineMs, type ProviderId } from '../../shared/providers.js';
import { SECRETS_DEFAULTS, SECRETS_MANAGER_REQUEST_TIMEOUT_MS, SecretsCache } from '../../shared/secrets/cache.js';
import { PARK_RESERVE_MS } from '../../shared/webhook.js';
import { capturedLogger, never, type CapturedLogger } from '../support/handler-harness.js';
import { secretsManagerWith, warmUpSecretsManagerClient } from '../support/secrets-manager.js';
import { handlerFor, SECRETS, validEvent } from './support.js';

/**
 * Secrets Manager slow or failing under every handler, cold and warm, on fake timers: each provider
 * answers inside its function timeout (shared/providers.ts, `budget`) with the documented status, and
 * Secrets Manager receives the calls the README promises.
 *
 *   cold (nothing cached)   waits at most secretsDeadlineMs(budget), then 503 + Retry-After; the fetch
 *                           carries on, and the platform's retry is answered from it
 *   warm (cached, past TTL) answers from the cache at once; the refresh runs behind the answer
 *   failing                 one fetch (List + the current value) per refresh interval, however many requests
 *
 * The stand-in is local/stand-ins/secrets-manager.ts, reached by a real SDK client configured as the
 * functions configure theirs (no retry but for a broken connection, a 3 s request timeout); its `delay` fault and the
 * handler's deadlines run on the same fake clock. "Answered at" is fake time, not wall-clock time.
 */

const STEP_MS = 25;
const secretName = (provider: ProviderId) => `faults/${provider}`;

interface Rig {
  readonly handler: (event: unknown) => Promise<HttpResponse>;
  readonly logs: CapturedLogger;
  readonly sm: ReturnType<typeof secretsManagerWith>['sm'];
  calls(): [list: number, get: number];
}

function rig(provider: ProviderId, deps: { directory?: CustomerDirectory; sink?: EventSink } = {}): Rig {
  const { sm, client } = secretsManagerWith(secretName(provider), SECRETS[provider], { now: Date.now });
  const logs = capturedLogger();
  const secrets = new SecretsCache({ client, logger: logs.logger });
  const handler = handlerFor(provider, { secrets, logger: logs.logger, env: { SIGNING_SECRET_ID: secretName(provider) }, now: Date.now, ...deps });
  return { handler, logs, sm, calls: () => [sm.calls.ListSecretVersionIds, sm.calls.GetSecretValue] };
}

/** Sends one request and advances fake time until it is answered; the answer and when it came (ms after sending). */
async function answered(r: Rig, provider: ProviderId, signingSecret?: string): Promise<{ response: HttpResponse; atMs: number }> {
  const started = Date.now();
  let response: HttpResponse | undefined;
  void r.handler(validEvent(provider, started, signingSecret)).then((answer) => (response = answer));
  const limit = PROVIDERS[provider].budget.functionTimeoutSeconds * 1000 + 10_000;
  for (let elapsed = 0; response === undefined && elapsed <= limit; elapsed += STEP_MS) await vi.advanceTimersByTimeAsync(STEP_MS);
  await vi.advanceTimersByTimeAsync(0);
  if (!response) throw new Error(`${provider}: no answer within ${limit} ms of fake time`);
  return { response, atMs: Date.now() - started };
}

function expectUnavailable(response: HttpResponse): void {
  expect(response.statusCode).toBe(503);
  expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
  expect(JSON.parse(response.body)).toEqual({ error: expect.any(String) });
}

beforeAll(warmUpSecretsManagerClient);

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(1_717_000_000_000);
});

afterEach(() => {
  vi.useRealTimers();
});

describe.each(PROVIDER_IDS)('%s: a slow Secrets Manager, cold', (provider) => {
  const { budget } = PROVIDERS[provider];
  const timeoutMs = budget.functionTimeoutSeconds * 1000;
  const waitMs = secretsDeadlineMs(budget);

  it(`${provider}: the secrets wait (${waitMs} ms) plus the dependency deadline (${budget.dependencyDeadlineMs} ms) plus ${ANSWER_HEADROOM_MS} ms headroom is the ${budget.functionTimeoutSeconds} s function timeout`, () => {
    expect(waitMs + budget.dependencyDeadlineMs + ANSWER_HEADROOM_MS).toBe(timeoutMs);
    expect(waitMs).toBeGreaterThan(0);
  });

  it.each([1_900, 2_500])(`${provider}: Secrets Manager answering in %i ms -> answered before the ${budget.functionTimeoutSeconds} s timeout: 200 if it answers within the wait, else 503 + Retry-After at the wait and 200 for the retry; one List and one Get`, async (delayMs) => {
    const r = rig(provider);
    r.sm.setFault({ kind: 'delay', ms: delayMs });
    const first = await answered(r, provider);
    expect(first.atMs).toBeLessThan(timeoutMs - ANSWER_HEADROOM_MS);
    if (delayMs <= waitMs) {
      expect(first.response.statusCode).toBe(200);
      expect(first.atMs).toBeGreaterThanOrEqual(delayMs);
      expect(first.atMs).toBeLessThanOrEqual(delayMs + STEP_MS);
    } else {
      expectUnavailable(first.response);
      expect(r.logs.requests().at(-1)).toMatchObject({ outcome: 'secrets_unavailable', status: 503 });
      expect(first.atMs).toBeGreaterThanOrEqual(waitMs);
      expect(first.atMs).toBeLessThanOrEqual(waitMs + STEP_MS);
      // The fetch carried on behind the 503: the platform's retry, once it has landed, is answered at once.
      await vi.advanceTimersByTimeAsync(delayMs - first.atMs);
      r.sm.setFault(undefined);
      const retry = await answered(r, provider);
      expect(retry.response.statusCode).toBe(200);
      expect(retry.atMs).toBeLessThanOrEqual(STEP_MS);
    }
    expect(r.calls()).toEqual([1, 1]);
  });

  it(`${provider}: the slowest path — Secrets Manager answering just inside the wait, then a dependency that never answers -> 503 before the ${budget.functionTimeoutSeconds} s timeout`, async () => {
    const stuck = () => never<never>();
    const r = rig(provider, { directory: { findBySessionId: stuck, findByUserId: stuck, findByEmail: stuck }, sink: { publish: stuck } });
    const secretsAnswerAt = Math.min(waitMs, SECRETS_MANAGER_REQUEST_TIMEOUT_MS) - STEP_MS;
    r.sm.setFault({ kind: 'delay', ms: secretsAnswerAt });
    const { response, atMs } = await answered(r, provider);
    expectUnavailable(response);
    // A webhook's forward keeps PARK_RESERVE_MS of the deadline back for parking (no bucket here: 503 at once then).
    const forwardMs = PROVIDERS[provider].kind === 'webhook' ? budget.dependencyDeadlineMs - PARK_RESERVE_MS : budget.dependencyDeadlineMs;
    expect(atMs).toBeGreaterThanOrEqual(secretsAnswerAt + forwardMs);
    expect(atMs).toBeLessThanOrEqual(timeoutMs - ANSWER_HEADROOM_MS);
  });
});

const FAILURES: ReadonlyArray<readonly [string, SecretsManagerFault]> = [
  ['AccessDeniedException', { kind: 'access_denied' }],
  ['ThrottlingException', { kind: 'throttle' }],
  ['InternalServiceError (5xx)', { kind: 'server_error' }],
  ['no answer (the client’s request timeout)', { kind: 'delay', ms: 60_000 }],
];

describe.each(PROVIDER_IDS)('%s: a failing Secrets Manager', (provider) => {
  const { budget } = PROVIDERS[provider];
  const timeoutMs = budget.functionTimeoutSeconds * 1000;

  it.each(FAILURES)(`${provider}: %s, cold -> 503 + Retry-After inside the timeout; 100 more requests make no call until the refresh interval has passed, then one`, async (_name, fault) => {
    const r = rig(provider);
    r.sm.setFault(fault);
    const first = await answered(r, provider);
    expectUnavailable(first.response);
    expect(first.atMs).toBeLessThan(timeoutMs - ANSWER_HEADROOM_MS);
    expect(r.logs.text()).not.toContain(Object.values(SECRETS[provider])[0]);
    expect(r.calls()).toEqual([1, 1]);

    // Let a timed-out call end (the client's own timeout) before counting what a flood adds.
    await vi.advanceTimersByTimeAsync(SECRETS_MANAGER_REQUEST_TIMEOUT_MS);
    const flood = await Promise.all(Array.from({ length: 100 }, (_, i) => r.handler(validEvent(provider, Date.now(), i % 2 ? 'forged-secret' : undefined))));
    for (const response of flood) expectUnavailable(response);
    expect(r.calls()).toEqual([1, 1]);

    await vi.advanceTimersByTimeAsync(SECRETS_DEFAULTS.minRefreshIntervalMs);
    r.sm.setFault(undefined);
    const recovered = await answered(r, provider);
    expect(recovered.response.statusCode).toBe(200);
    // A retry after a failure asks for the list, then the value it has not seen.
    expect(r.calls()).toEqual([2, 2]);
  });

  it.each([...FAILURES, ['answering in 1.9 s', { kind: 'delay', ms: 1_900 }], ['answering in 2.5 s', { kind: 'delay', ms: 2_500 }]] as const)(
    `${provider}: %s, warm (cached, past the TTL) -> the cached secret answers 200 at once, forged signatures 401 within the secrets wait; one refresh (List) behind it`,
    async (_name, fault) => {
      const r = rig(provider);
      expect((await answered(r, provider)).response.statusCode).toBe(200);
      vi.setSystemTime(Date.now() + SECRETS_DEFAULTS.ttlMs);
      r.sm.setFault(fault);
      const valid = await answered(r, provider);
      expect(valid.response.statusCode).toBe(200);
      expect(valid.atMs).toBeLessThanOrEqual(STEP_MS);
      // A mismatch may be a rotation: it joins the refresh already running, for at most the secrets wait.
      const forged = await answered(r, provider, 'not-the-secret');
      expect(forged.response.statusCode).toBe(401);
      expect(forged.atMs).toBeLessThanOrEqual(secretsDeadlineMs(PROVIDERS[provider].budget) + STEP_MS);
      expect(r.logs.records().some((l) => l.outcome === 'secret_stale_served')).toBe(true);
      await vi.advanceTimersByTimeAsync(SECRETS_MANAGER_REQUEST_TIMEOUT_MS);
      expect(r.calls()).toEqual([2, 1]);
    },
  );
});

describe('buddy: failures only the SDK client produces (aws-sdk-client-mock)', () => {
  it.each([
    ['a connection reset', () => Object.assign(new Error('socket hang up'), { name: 'Error', code: 'ECONNRESET' })],
    ['a credentials failure', () => Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' })],
  ])('%s -> 503 + Retry-After when nothing is cached, one fetch per interval', async (_name, error) => {
    const provider = 'buddy';
    const { client } = secretsManagerWith(secretName(provider), SECRETS[provider], { now: Date.now });
    const mock = mockClient(client);
    mock.on(ListSecretVersionIdsCommand).rejects(error());
    mock.on(GetSecretValueCommand).rejects(error());
    const logs = capturedLogger();
    const handler = handlerFor(provider, { secrets: new SecretsCache({ client, logger: logs.logger }), logger: logs.logger, env: { SIGNING_SECRET_ID: secretName(provider) }, now: Date.now });
    for (let i = 0; i < 20; i++) expectUnavailable(await handler(validEvent(provider, Date.now())));
    expect(mock.commandCalls(ListSecretVersionIdsCommand)).toHaveLength(1);
    mock.restore();
  });
});
