import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { sdkClientConfig } from '../aws/client-config.js';
import { eventSourceOf, type EventSink, type PublishOptions, type WebhookEvent } from './event.js';

/** EventBridge's limit for one PutEvents entry, counted as its docs say (UTF-8 bytes of its fields). */
export const MAX_ENTRY_BYTES = 256 * 1024;

/** The entry was refused: over the size limit, or failed inside a 200 PutEvents answer. */
export class EventRejectedError extends Error {
  override readonly name = 'EventRejectedError';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export interface EventBridgeSinkOptions {
  readonly eventBusName: string;
  /** Default: an EventBridgeClient with one retry and short timeouts. */
  readonly client?: EventBridgeClient;
}

/** The PutEvents entry for a verified event: source `webhooks.<provider>`, detail-type the platform's event type. */
export function toPutEventsEntry(event: WebhookEvent, eventBusName: string): PutEventsRequestEntry {
  return {
    EventBusName: eventBusName,
    Source: eventSourceOf(event.provider),
    DetailType: event.eventType,
    Detail: JSON.stringify({ payload: event.payload, delivery: event.delivery }),
    Time: new Date(event.delivery.receivedAt),
  };
}

/** Size as EventBridge counts it: Source, DetailType, Detail and 14 bytes for Time. */
export function entrySizeBytes(entry: PutEventsRequestEntry): number {
  const bytes = (value: string | undefined) => (value === undefined ? 0 : Buffer.byteLength(value, 'utf8'));
  return bytes(entry.Source) + bytes(entry.DetailType) + bytes(entry.Detail) + (entry.Time ? 14 : 0);
}

/**
 * Publishes each event as one PutEvents entry. PutEvents answers 200 even when an entry failed, so
 * `FailedEntryCount` is checked: `publish` resolves only when EventBridge accepted the entry.
 */
export class EventBridgeSink implements EventSink {
  private readonly client: EventBridgeClient;
  private readonly eventBusName: string;

  constructor(options: EventBridgeSinkOptions) {
    this.eventBusName = options.eventBusName;
    this.client = options.client ?? new EventBridgeClient(sdkClientConfig(2_000));
  }

  async publish(event: WebhookEvent, options: PublishOptions = {}): Promise<void> {
    const entry = toPutEventsEntry(event, this.eventBusName);
    const size = entrySizeBytes(entry);
    // AWS: "The total entry size must be less than 256KB."
    if (size >= MAX_ENTRY_BYTES) {
      throw new EventRejectedError(`event is ${size} bytes; EventBridge takes less than ${MAX_ENTRY_BYTES}`, 'EntryTooLarge');
    }
    options.signal?.throwIfAborted();
    const answer = await this.client.send(new PutEventsCommand({ Entries: [entry] }), { abortSignal: options.signal });
    const failed = answer.Entries?.[0];
    if ((answer.FailedEntryCount ?? 0) > 0 || failed?.ErrorCode) {
      throw new EventRejectedError(`EventBridge refused the entry: ${failed?.ErrorMessage ?? 'no reason given'}`, failed?.ErrorCode ?? 'Unknown');
    }
  }
}
