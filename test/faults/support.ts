import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { buildPlatformRequest } from '../../local/platform-requests.js';
import type { CustomerProfile } from '../../shared/customers/profile.js';
import type { LambdaHttpHandler } from '../../shared/handler.js';
import { PROVIDERS, type ProviderId, type RouteDefinition } from '../../shared/providers.js';
import { functionUrlEvent } from '../support/events.js';
import { handlerWithStubs, type StubbableDeps } from '../support/stubbed-deps.js';

/** What the fault suites share: handlers built from their factories, and each platform's valid request. */

export const PROFILE: CustomerProfile = {
  userId: 'usr_ada',
  email: 'ada@example.com',
  name: 'Ada Lovelace',
  sessionIds: ['sess_demo_1'],
};

/** Each provider's stored secret: JSON of named keys, as the stack writes it. */
export const SECRETS: Record<ProviderId, Record<string, string>> = {
  buddy: { signingSecret: 'fault-buddy-secret' },
  talki: { signingSecret: 'fault-talki-secret' },
  bullseye: { identification: 'fault-bullseye-identification', billing: 'fault-bullseye-billing' },
  buddystat: { signingSecret: 'fault-buddystat-secret' },
  helper: { signingSecret: 'fault-helper-secret' },
  standardwebhooks: { signingSecret: `whsec_${Buffer.from('fault-standard-webhooks-key').toString('base64')}` },
};

export function handlerFor(provider: ProviderId, deps: StubbableDeps): LambdaHttpHandler {
  return handlerWithStubs(provider, deps, PROFILE);
}

/**
 * The platform's request for the provider's first route, signed as its doc says (local/platform-requests.ts),
 * delivered as a function URL event. `nowMs` sets the platform's clock (Buddy's and Helper's timestamps,
 * and a new event id for the webhooks).
 */
export function validEvent(provider: ProviderId, nowMs: number, secret?: string): ReturnType<typeof functionUrlEvent> {
  const route: RouteDefinition = PROVIDERS[provider].routes[0]!;
  const request = buildPlatformRequest(provider, {
    secret: secret ?? SECRETS[provider][route.secretKey]!,
    now: nowMs,
    ...(route.eventFamily ? { eventType: route.eventFamily } : {}),
  });
  return functionUrlEvent({
    method: request.method,
    path: request.path,
    headers: request.headers,
    ...(request.query !== undefined ? { query: request.query } : {}),
    ...(request.body !== undefined ? { body: request.body } : {}),
  });
}

export function wireClient(endpoint: string, requestTimeoutMs: number): SecretsManagerClient {
  // As shared/secrets/cache.ts builds the default client (two attempts, a request timeout that throws),
  // with a shorter timeout so the suite stays fast.
  return new SecretsManagerClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: requestTimeoutMs, throwOnRequestTimeout: true },
  });
}
