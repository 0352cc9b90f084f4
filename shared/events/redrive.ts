import { describeError, logger as defaultLogger, type Logger } from '../log.js';
import { forwardOnce, type ForwardOptions } from './forward.js';
import { eventFromParked, type DeliveryStore, type ParkedFilter } from './store.js';

export interface RedriveOptions extends ParkedFilter {
  readonly store: DeliveryStore;
  readonly sink: ForwardOptions['sink'];
  readonly ledger: ForwardOptions['ledger'];
  /** Time for each delivery's claim + publish. Default 5 s. */
  readonly deadlineMs?: number;
  /** Stop starting new deliveries after this many ms (a scheduled run ends before its function's timeout). */
  readonly stopAfterMs?: number;
  readonly logger?: Logger;
}

/** What a redrive did: forwarded now, found already delivered, left parked (still failing, or in flight elsewhere), unreadable. */
export interface RedriveReport {
  readonly forwarded: number;
  readonly duplicates: number;
  readonly kept: number;
  readonly unreadable: number;
}

/**
 * Re-forwards parked deliveries through the same ledger as the handlers, so a redriven delivery is
 * still forwarded once: a delivery that reached the bus meanwhile (a publish that outlived its
 * deadline) is a duplicate, one still in flight keeps its lease and stays parked for the next run.
 * A parked object is deleted only once its delivery is on the bus.
 */
export async function redriveParked(options: RedriveOptions): Promise<RedriveReport> {
  const log = options.logger ?? defaultLogger;
  const started = Date.now();
  const report = { forwarded: 0, duplicates: 0, kept: 0, unreadable: 0 };
  const filter: ParkedFilter = { ...(options.provider ? { provider: options.provider } : {}), ...(options.since ? { since: options.since } : {}) };
  const parked = await options.store.listParked(filter);
  for (const [index, object] of parked.entries()) {
    if (options.stopAfterMs !== undefined && Date.now() - started > options.stopAfterMs) {
      // The rest stay parked for the next run.
      report.kept += parked.length - index;
      break;
    }
    let record;
    try {
      record = await options.store.readParked(object.key);
    } catch (error) {
      log.warn({ message: `parked delivery not read: ${object.key}`, provider: object.provider, ...describeError(error) });
      report.kept++;
      continue;
    }
    if (!record) {
      log.error({ message: `not a parked delivery, left in place: ${object.key}`, provider: object.provider });
      report.unreadable++;
      continue;
    }
    const event = eventFromParked(record);
    const result = await forwardOnce(event, {
      sink: options.sink,
      ledger: options.ledger,
      store: options.store,
      deadlineMs: options.deadlineMs ?? 5_000,
      logger: log,
    });
    const fields = { provider: record.provider, dedupeKey: record.delivery.dedupeKey };
    if (!result.ok) {
      log.warn({ message: 'parked delivery still not forwarded', outcome: `redrive_${result.outcome}`, ...fields });
      report.kept++;
      continue;
    }
    try {
      await options.store.deleteParked(object.key);
    } catch (error) {
      // On the bus already: the next run finds it delivered in the ledger and deletes it then.
      log.warn({ message: `redriven delivery not removed: ${object.key}`, ...fields, ...describeError(error) });
    }
    if (result.outcome === 'duplicate') report.duplicates++;
    else report.forwarded++;
    log.info({ message: 'parked delivery redriven', outcome: `redrive_${result.outcome}`, ...fields });
  }
  return report;
}
