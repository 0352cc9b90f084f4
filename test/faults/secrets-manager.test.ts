import { SecretsManagerServiceException } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSecretsManagerStandIn, type SecretsManagerFault, type SecretsManagerStandIn } from '../../local/stand-ins/secrets-manager.js';
import type { HttpResponse } from '../../shared/http/response.js';
import { PROVIDER_IDS, type ProviderId } from '../../shared/providers.js';
import { SECRETS_DEFAULTS, SecretsCache } from '../../shared/secrets/cache.js';
import { manualClock, stubbedSecretsManager } from '../fixtures/stubbed-secrets-manager.js';
import { capturedLogger, type CapturedLogger } from '../support/handler-harness.js';
import { handlerFor, SECRETS, validEvent, wireClient } from './support.js';

/**
 * Secrets Manager failing under every handler: throttled, access denied, timing out, failing.
 * Nothing cached -> 503 with Retry-After (the platforms retry a non-2xx; it tells them when).
 * Something cached -> the cached secret keeps verifying, and valid requests keep getting their answer.
 *
 * Over the wire: the real SDK client (two attempts, a request timeout that throws, as the functions
 * build it) against the local Secrets Manager stand-in, whose fault switch every call meets.
 */

const T0 = 1_717_000_000_000;
const REQUEST_TIMEOUT_MS = 100;
const clock = manualClock(T0);
let standIn: SecretsManagerStandIn;

const secretName = (provider: ProviderId) => `faults/${provider}`;

beforeAll(async () => {
  standIn = await startSecretsManagerStandIn({
    now: clock.now,
    secrets: Object.fromEntries(PROVIDER_IDS.map((id) => [secretName(id), JSON.stringify(SECRETS[id])])),
  });
});

afterAll(async () => {
  await standIn.close();
});

beforeEach(() => {
  standIn.setFault(undefined);
  clock.set(T0);
});

interface Rig {
  handler: (event: unknown) => Promise<HttpResponse>;
  logs: CapturedLogger;
  close(): void;
}

function rig(provider: ProviderId): Rig {
  const client = wireClient(standIn.endpoint, REQUEST_TIMEOUT_MS);
  const logs = capturedLogger();
  const secrets = new SecretsCache({ client, now: clock.now, logger: logs.logger });
  const handler = handlerFor(provider, { secrets, logger: logs.logger, env: { SIGNING_SECRET_ID: secretName(provider) }, now: clock.now });
  return { handler, logs, close: () => client.destroy() };
}

const FAULTS: ReadonlyArray<readonly [string, SecretsManagerFault]> = [
  ['throttled (ThrottlingException)', { kind: 'throttle' }],
  ['access denied (AccessDeniedException)', { kind: 'access_denied' }],
  ['timing out (slower than the client’s requestTimeout)', { kind: 'delay', ms: 5_000 }],
  ['failing (InternalServiceError)', { kind: 'server_error' }],
];

function expectUnavailable(response: HttpResponse): void {
  expect(response.statusCode).toBe(503);
  expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
  expect(JSON.parse(response.body)).toEqual({ error: expect.any(String) });
}

describe.each(PROVIDER_IDS)('%s: Secrets Manager faults over the wire', (provider) => {
  it.each(FAULTS)(`${provider}: %s with nothing cached -> 503 with Retry-After, then 200 once it recovers`, async (_name, fault) => {
    const r = rig(provider);
    try {
      standIn.setFault(fault);
      const before = standIn.totalCalls();
      const response = await r.handler(validEvent(provider, clock.now()));
      expectUnavailable(response);
      expect(r.logs.requests().at(-1)).toMatchObject({ outcome: 'secrets_unavailable', status: 503 });
      // One fetch for the request: at most the client's two attempts, never a retry storm.
      const made = standIn.totalCalls() - before;
      expect(made).toBeGreaterThanOrEqual(1);
      expect(made).toBeLessThanOrEqual(2);
      // The warning names the failure, never the secret value.
      expect(r.logs.text()).not.toContain(Object.values(SECRETS[provider])[0]);

      standIn.setFault(undefined);
      expect((await r.handler(validEvent(provider, clock.now()))).statusCode).toBe(200);
    } finally {
      r.close();
    }
  });

  it.each(FAULTS)(`${provider}: %s with a secret cached -> the cached secret keeps verifying (200), bad signatures still 401`, async (_name, fault) => {
    const r = rig(provider);
    try {
      expect((await r.handler(validEvent(provider, clock.now()))).statusCode).toBe(200);
      clock.advance(SECRETS_DEFAULTS.ttlMs + 1); // stale: the next request tries a refresh
      standIn.setFault(fault);
      const listsBefore = standIn.calls.ListSecretVersionIds;

      const response = await r.handler(validEvent(provider, clock.now() + 1));
      expect(response.statusCode).toBe(200);
      expect(standIn.calls.ListSecretVersionIds).toBeGreaterThan(listsBefore); // it did try
      expect(r.logs.records().some((l) => l.outcome === 'secret_stale_served')).toBe(true);

      const forged = await r.handler(validEvent(provider, clock.now() + 2, 'not-the-secret'));
      expect(forged.statusCode).toBe(401);
    } finally {
      r.close();
    }
  });
});

/** The SDK's own errors, thrown by a stubbed client (aws-sdk-client-mock): the same answers. */
function sdkError(name: string, fault: 'client' | 'server', message: string): Error {
  return new SecretsManagerServiceException({ name, $fault: fault, message, $metadata: { httpStatusCode: fault === 'client' ? 400 : 500 } });
}

const SDK_ERRORS: ReadonlyArray<readonly [string, () => Error]> = [
  ['ThrottlingException', () => sdkError('ThrottlingException', 'client', 'Rate exceeded')],
  ['AccessDeniedException', () => sdkError('AccessDeniedException', 'client', 'not authorized')],
  ['TimeoutError', () => Object.assign(new Error('Connection timed out after 2000 ms'), { name: 'TimeoutError' })],
];

describe.each(PROVIDER_IDS)('%s: Secrets Manager errors at the SDK client', (provider) => {
  it.each(SDK_ERRORS)(`${provider}: %s -> 503 with Retry-After when nothing is cached, 200 from the cache when something is`, async (_name, error) => {
    const sm = stubbedSecretsManager({ value: SECRETS[provider], now: clock.now, secretId: secretName(provider) });
    const logs = capturedLogger();
    const secrets = new SecretsCache({ client: sm.client, now: clock.now, logger: logs.logger });
    const handler = handlerFor(provider, { secrets, logger: logs.logger, env: { SIGNING_SECRET_ID: secretName(provider) }, now: clock.now });

    sm.failWith(error());
    expectUnavailable(await handler(validEvent(provider, clock.now())));

    sm.failWith(undefined);
    expect((await handler(validEvent(provider, clock.now()))).statusCode).toBe(200);

    clock.advance(SECRETS_DEFAULTS.ttlMs + 1);
    sm.failWith(error());
    const lists = sm.listCalls();
    expect((await handler(validEvent(provider, clock.now() + 1))).statusCode).toBe(200);
    expect(sm.listCalls()).toBe(lists + 1);
  });
});
