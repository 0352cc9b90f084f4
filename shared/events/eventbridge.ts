import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { sdkClientConfig } from '../aws/client-config.js';
import { fitsOnTheBus, MAX_ENTRY_BYTES } from './entry.js';
import { EventRejectedError, type EventEntry, type EventSink, type PublishOptions } from './event.js';

export interface EventBridgeSinkOptions {
  readonly eventBusName: string;
  /** Default: an EventBridgeClient with one retry and short timeouts. */
  readonly client?: EventBridgeClient;
}

/** PutEvents' per-entry codes a later attempt may clear (the API reference lists these two as retryable). */
const RETRYABLE_ENTRY_CODES: ReadonlySet<string> = new Set(['InternalFailure', 'ThrottlingException']);

/** Errors a whole PutEvents call fails with that a later attempt may clear: throttling, whatever the SDK names it. */
const THROTTLING_ERRORS: ReadonlySet<string> = new Set(['ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded', 'LimitExceededException']);

export function toPutEventsEntry(entry: EventEntry, eventBusName: string): PutEventsRequestEntry {
  return { EventBusName: eventBusName, Source: entry.source, DetailType: entry.detailType, Detail: entry.detail, Time: new Date(entry.time) };
}

/**
 * A failed PutEvents call as the sink reports it: a client fault other than throttling (validation,
 * access denied) is a rejection, anything else (throttling, a 5xx, the network, a timeout) may pass later.
 */
function callFailure(error: unknown): unknown {
  const fault = (error as { $fault?: unknown } | null)?.$fault;
  const name = error instanceof Error ? error.name : '';
  if (fault === 'client' && !THROTTLING_ERRORS.has(name)) return new EventRejectedError(`PutEvents refused: ${error instanceof Error ? error.message : name}`, name || 'ClientError');
  return error;
}

/**
 * Publishes each entry as one PutEvents entry. PutEvents answers 200 even when an entry failed, so
 * `FailedEntryCount` is checked: `publish` resolves only when EventBridge accepted the entry, and
 * rejects with EventRejectedError when the entry itself was refused.
 */
export class EventBridgeSink implements EventSink {
  private readonly client: EventBridgeClient;
  private readonly eventBusName: string;

  constructor(options: EventBridgeSinkOptions) {
    this.eventBusName = options.eventBusName;
    this.client = options.client ?? new EventBridgeClient(sdkClientConfig(2_000));
  }

  async publish(entry: EventEntry, options: PublishOptions = {}): Promise<void> {
    if (!fitsOnTheBus(entry)) throw new EventRejectedError(`entry is not less than ${MAX_ENTRY_BYTES} bytes`, 'EntryTooLarge');
    options.signal?.throwIfAborted();
    let answer;
    try {
      answer = await this.client.send(new PutEventsCommand({ Entries: [toPutEventsEntry(entry, this.eventBusName)] }), { abortSignal: options.signal });
    } catch (error) {
      throw callFailure(error);
    }
    const failed = answer.Entries?.[0];
    if ((answer.FailedEntryCount ?? 0) > 0 || failed?.ErrorCode) {
      const code = failed?.ErrorCode ?? 'Unknown';
      const message = `EventBridge refused the entry: ${failed?.ErrorMessage ?? 'no reason given'}`;
      if (RETRYABLE_ENTRY_CODES.has(code)) throw Object.assign(new Error(message), { name: code });
      throw new EventRejectedError(message, code);
    }
  }
}
