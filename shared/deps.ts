import { lazy } from './config.js';
import { directoryFromEnv } from './customers/from-env.js';
import type { CustomerDirectory } from './customers/profile.js';
import type { DeliveryLedger, EventSink } from './events/event.js';
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

/** Built from the environment by defaultWebhookDeps in shared/webhook.ts, so a lookup's bundle carries none of these clients (nor the S3 client's chunk). */
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
