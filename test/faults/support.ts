import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createProviderHandler } from '../../functions/index.js';
import { buildPlatformRequest } from '../../local/platform-requests.js';
import { InMemoryDirectory } from '../../shared/customers/memory.js';
import type { CustomerDirectory, CustomerProfile } from '../../shared/customers/profile.js';
import type { DeliveryLedger, EventSink } from '../../shared/events/event.js';
import type { LambdaHttpHandler } from '../../shared/handler.js';
import type { Logger } from '../../shared/log.js';
import { PROVIDERS, type ProviderId, type RouteDefinition } from '../../shared/providers.js';
import type { SecretsCache } from '../../shared/secrets/cache.js';
import { functionUrlEvent } from '../support/events.js';

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
};

export interface Deps {
  readonly secrets: SecretsCache;
  readonly logger: Logger;
  readonly env: NodeJS.ProcessEnv;
  readonly now: () => number;
  readonly directory?: CustomerDirectory;
  readonly sink?: EventSink;
  readonly ledger?: DeliveryLedger;
}

const acceptingSink: EventSink = { publish: async () => undefined };
const alwaysNew: DeliveryLedger = { claim: async () => 'new', complete: async () => undefined, release: async () => undefined };

export function handlerFor(provider: ProviderId, deps: Deps): LambdaHttpHandler {
  return createProviderHandler(provider, {
    secrets: deps.secrets,
    logger: deps.logger,
    env: deps.env,
    now: deps.now,
    directory: deps.directory ?? new InMemoryDirectory([PROFILE]),
    sink: deps.sink ?? acceptingSink,
    ledger: deps.ledger ?? alwaysNew,
  });
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
