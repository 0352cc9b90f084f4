import { createProviderHandler } from '../../functions/index.js';
import { InMemoryDirectory } from '../../shared/customers/memory.js';
import type { CustomerDirectory, CustomerProfile } from '../../shared/customers/profile.js';
import type { DeliveryLedger, EventSink } from '../../shared/events/event.js';
import { unavailableStore, type DeliveryStore } from '../../shared/events/store.js';
import type { LambdaHttpHandler } from '../../shared/handler.js';
import type { Logger } from '../../shared/log.js';
import type { ProviderId } from '../../shared/providers.js';
import type { SecretsCache } from '../../shared/secrets/cache.js';

/**
 * A provider's real handler with its dependencies stubbed at their interfaces, for the fault suites
 * and the benchmarks: what the caller leaves out is an in-memory directory holding `profile`, a bus
 * that accepts at once, a ledger that has never seen a key (every delivery does the full forward) and
 * no delivery bucket (a delivery that needs one is answered 503).
 */
export interface StubbableDeps {
  readonly secrets: SecretsCache;
  readonly logger: Logger;
  readonly env: NodeJS.ProcessEnv;
  readonly now: () => number;
  readonly directory?: CustomerDirectory;
  readonly sink?: EventSink;
  readonly ledger?: DeliveryLedger;
  readonly store?: DeliveryStore;
}

export const acceptingSink: EventSink = { publish: async () => undefined };

export const alwaysNewLedger: DeliveryLedger = {
  claim: async () => 'new',
  complete: async () => undefined,
  release: async () => undefined,
};

export const noBucket: DeliveryStore = unavailableStore('no delivery bucket in this test');

export function handlerWithStubs(provider: ProviderId, deps: StubbableDeps, profile: CustomerProfile): LambdaHttpHandler {
  return createProviderHandler(provider, {
    secrets: deps.secrets,
    logger: deps.logger,
    env: deps.env,
    now: deps.now,
    directory: deps.directory ?? new InMemoryDirectory([profile]),
    sink: deps.sink ?? acceptingSink,
    ledger: deps.ledger ?? alwaysNewLedger,
    store: deps.store ?? noBucket,
  });
}
