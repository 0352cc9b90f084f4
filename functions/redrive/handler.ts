import { lazy } from '../../shared/config.js';
import type { DeliveryLedger, EventSink } from '../../shared/events/event.js';
import { deliveryLedgerFromEnv, deliveryStoreFromEnv, eventSinkFromEnv } from '../../shared/events/from-env.js';
import { redriveParked, type RedriveReport } from '../../shared/events/redrive.js';
import type { DeliveryStore } from '../../shared/events/store.js';
import { logger as defaultLogger, type Logger } from '../../shared/log.js';

/**
 * The scheduled redrive (infra/constructs/delivery-redrive.ts): every few minutes, re-forwards what
 * the webhook functions parked, through the same ledger, so each delivery still reaches the bus once.
 * Reads DELIVERY_BUCKET, DEDUPE_TABLE and EVENT_BUS_NAME like the webhook functions.
 */
export interface RedriveDeps {
  readonly store: DeliveryStore;
  readonly sink: EventSink;
  readonly ledger: DeliveryLedger;
  readonly logger?: Logger;
}

/** The function's timeout is five minutes: stop starting deliveries after four, the rest wait for the next run. */
export const REDRIVE_RUN_MS = 4 * 60 * 1000;

export function createRedriveHandler(deps: () => RedriveDeps): () => Promise<RedriveReport> {
  return async () => {
    const { store, sink, ledger, logger = defaultLogger } = deps();
    const report = await redriveParked({ store, sink, ledger, logger, stopAfterMs: REDRIVE_RUN_MS });
    logger.info({ message: `redrive: ${report.forwarded} forwarded, ${report.duplicates} already delivered, ${report.kept} still parked, ${report.unreadable} unreadable`, outcome: 'redrive', count: report.kept });
    return report;
  };
}

export const handler = createRedriveHandler(
  lazy(() => ({ store: deliveryStoreFromEnv(), sink: eventSinkFromEnv(), ledger: deliveryLedgerFromEnv() })),
);
