import { createProviderHandler } from '../../functions/index.js';
import { InMemoryDirectory } from '../../shared/customers/memory.js';
import type { CustomerProfile } from '../../shared/customers/profile.js';
import { EventBridgeSink } from '../../shared/events/eventbridge.js';
import { InMemoryLedger } from '../../shared/events/ledger.js';
import type { LambdaHttpHandler } from '../../shared/handler.js';
import { PROVIDERS, type ProviderId, type RouteDefinition } from '../../shared/providers.js';
import { commonDeps, harness, mockedEventBus, type Harness, type MockedEventBus } from '../support/handler-harness.js';
import type { DeliveryStore } from '../../shared/events/store.js';
import { noBucket } from '../support/stubbed-deps.js';

/**
 * One provider's real handler, as the property suites drive it: the real SecretsCache over a stubbed
 * Secrets Manager client, an in-memory directory with one customer, the real EventBridgeSink over a
 * stubbed EventBridge client and the in-memory ledger, a captured logger and the harness's fixed clock.
 * No delivery bucket: a delivery that needs one is answered 503, which is among the documented statuses.
 */

/** README, "How a request is handled": the statuses every handler may answer. 500 would be a bug. */
export const DOCUMENTED_STATUSES: readonly number[] = [200, 400, 401, 404, 405, 413, 503];

export const PROFILE: CustomerProfile = {
  userId: 'usr_prop',
  email: 'prop@example.com',
  name: 'Property Person',
  plan: 'pro',
  attributes: { company: 'Arbitrary Inc', seats: 3 },
  actions: { Profile: 'https://admin.example.com/users/usr_prop' },
  sessionIds: ['sess_prop'],
};

/** Each provider's secret as Secrets Manager holds it: JSON of named keys. */
export const SECRETS: Record<ProviderId, Record<string, string>> = {
  buddy: { signingSecret: 'prop-buddy-secret' },
  talki: { signingSecret: 'prop-talki-secret' },
  bullseye: { identification: 'prop-bullseye-identification', billing: 'prop-bullseye-billing' },
  buddystat: { signingSecret: 'prop-buddystat-secret' },
  helper: { signingSecret: 'prop-helper-secret' },
  standardwebhooks: { signingSecret: `whsec_${Buffer.from('prop-standard-webhooks-key').toString('base64')}` },
};

export interface Subject {
  readonly provider: ProviderId;
  readonly handler: LambdaHttpHandler;
  readonly h: Harness;
  readonly bus?: MockedEventBus;
}

/**
 * The provider's handler built by its own factory. `secretValue` replaces the provider's stored
 * secret; `store` is the delivery bucket (default none: a delivery that needs one is answered 503).
 */
export function subject(provider: ProviderId, secretValue: Record<string, string> = SECRETS[provider], store: DeliveryStore = noBucket): Subject {
  const h = harness(secretValue);
  const bus = mockedEventBus();
  const handler = createProviderHandler(provider, {
    ...commonDeps(h),
    directory: new InMemoryDirectory([PROFILE]),
    sink: new EventBridgeSink({ client: bus.client, eventBusName: 'property-bus' }),
    ledger: new InMemoryLedger(),
    store,
  });
  return PROVIDERS[provider].kind === 'lookup' ? { provider, handler, h } : { provider, handler, h, bus };
}

export function routesOf(provider: ProviderId): readonly RouteDefinition[] {
  return PROVIDERS[provider].routes;
}

/** The outcome word of the last request log line (`bad_signature_mismatch`, `resolved`, ...). */
export function lastOutcome(s: Subject): string | undefined {
  const lines = s.h.logs.requests();
  const outcome = lines[lines.length - 1]?.outcome;
  return typeof outcome === 'string' ? outcome : undefined;
}
