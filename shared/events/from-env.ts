import { ENV, settingFromEnv } from '../config.js';
import { logger as defaultLogger, type Logger } from '../log.js';
import type { DeliveryLedger, EventSink } from './event.js';
import { EventBridgeSink } from './eventbridge.js';
import { FileEventSink } from './file-sink.js';
import { DynamoDbLedger, InMemoryLedger } from './ledger.js';
import { S3DeliveryStore, unavailableStore, type DeliveryStore } from './store.js';

export const EVENT_SINK_KINDS = ['eventbridge', 'file'] as const;

/** Every publish rejects with `reason`: the handler answers 503 and logs why, and the platform retries. */
export class EventSinkConfigError extends Error {
  override readonly name = 'EventSinkConfigError';
}

function unavailableSink(reason: string): EventSink {
  return { publish: () => Promise.reject(new EventSinkConfigError(reason)) };
}

/**
 * DELIVERY_BUCKET's S3 store (its endpoint from AWS_ENDPOINT_URL_S3 in local runs). Never throws:
 * without a bucket every call rejects naming the setting, so a delivery that needs the bucket is
 * answered 503 and retried by the platform, never acknowledged without being kept.
 */
export function deliveryStoreFromEnv(env: NodeJS.ProcessEnv = process.env): DeliveryStore {
  const bucket = settingFromEnv(env, ENV.deliveryBucket);
  return bucket ? new S3DeliveryStore({ bucket }) : unavailableStore(`${ENV.deliveryBucket} is not set: large bodies cannot be claim-checked nor deliveries parked`);
}

/**
 * The sink the environment asks for (names in shared/config.ts):
 *   EVENT_SINK=eventbridge (default)  EVENT_BUS_NAME
 *   EVENT_SINK=file                   EVENTS_FILE (JSON lines; the local server)
 * Never throws: a missing setting gives a sink whose publishes reject with a message naming it.
 */
export function eventSinkFromEnv(env: NodeJS.ProcessEnv = process.env): EventSink {
  const kind = (settingFromEnv(env, ENV.eventSink) ?? 'eventbridge').toLowerCase();
  if (kind === 'eventbridge') {
    const eventBusName = settingFromEnv(env, ENV.eventBusName);
    return eventBusName ? new EventBridgeSink({ eventBusName }) : unavailableSink(`${ENV.eventBusName} is not set (needed by ${ENV.eventSink}=eventbridge)`);
  }
  if (kind === 'file') {
    const path = settingFromEnv(env, ENV.eventsFile);
    return path ? new FileEventSink(path) : unavailableSink(`${ENV.eventsFile} is not set (needed by ${ENV.eventSink}=file)`);
  }
  return unavailableSink(`${ENV.eventSink} must be one of ${EVENT_SINK_KINDS.join(', ')}`);
}

/**
 * DEDUPE_TABLE's DynamoDB ledger, or, when it is unset (the local server), one process's memory,
 * with a warning: across Lambda containers an in-memory ledger cannot recognise a retry.
 */
export function deliveryLedgerFromEnv(env: NodeJS.ProcessEnv = process.env, log: Logger = defaultLogger): DeliveryLedger {
  const tableName = settingFromEnv(env, ENV.dedupeTable);
  if (tableName) return new DynamoDbLedger({ tableName });
  log.warn({ message: `${ENV.dedupeTable} is not set: retries are recognised only within this process` });
  return new InMemoryLedger();
}
