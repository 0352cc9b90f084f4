import { lazy } from './config.js';
import { directoryFromEnv } from './customers/from-env.js';
import type { CustomerDirectory } from './customers/profile.js';
import type { DeliveryLedger, EventSink } from './events/event.js';
import { deliveryLedgerFromEnv, deliveryStoreFromEnv, eventSinkFromEnv } from './events/from-env.js';
import type { DeliveryStore } from './events/store.js';
import type { Logger } from './log.js';
import { secretsCacheFromEnv, type SecretsCache } from './secrets/cache.js';

/** What every handler is built from; tests and the benchmarks pass their own. */
export interface CommonDeps {
  readonly secrets: SecretsCache;
  readonly logger?: Logger;
  readonly env?: NodeJS.ProcessEnv;
  readonly now?: () => number;
}

export interface LookupDeps extends CommonDeps {
  readonly directory: CustomerDirectory;
}

export interface WebhookDeps extends CommonDeps {
  readonly sink: EventSink;
  readonly ledger: DeliveryLedger;
  /** The delivery bucket: claim-checked bodies and parked deliveries. */
  readonly store: DeliveryStore;
}

/** A directory built on first use, so importing a handler creates no client and reads no table name. */
export function lazyDirectory(env: NodeJS.ProcessEnv): CustomerDirectory {
  const directory = lazy(() => directoryFromEnv(env));
  return {
    findBySessionId: (id, options) => directory().findBySessionId(id, options),
    findByUserId: (id, options) => directory().findByUserId(id, options),
    findByEmail: (email, options) => directory().findByEmail(email, options),
  };
}

export function defaultLookupDeps(env: NodeJS.ProcessEnv = process.env): LookupDeps {
  return { secrets: secretsCacheFromEnv(env), directory: lazyDirectory(env), env };
}

export function defaultWebhookDeps(env: NodeJS.ProcessEnv = process.env): WebhookDeps {
  const sink = lazy(() => eventSinkFromEnv(env));
  const ledger = lazy(() => deliveryLedgerFromEnv(env));
  const store = lazy(() => deliveryStoreFromEnv(env));
  return {
    secrets: secretsCacheFromEnv(env),
    sink: { publish: (entry, options) => sink().publish(entry, options) },
    ledger: {
      claim: (key, options) => ledger().claim(key, options),
      complete: (key, options) => ledger().complete(key, options),
      release: (key, options) => ledger().release(key, options),
    },
    store: {
      putClaim: (event, options) => store().putClaim(event, options),
      park: (parked, options) => store().park(parked, options),
      listParked: (filter, options) => store().listParked(filter, options),
      readParked: (key, options) => store().readParked(key, options),
      deleteParked: (key, options) => store().deleteParked(key, options),
    },
    env,
  };
}
