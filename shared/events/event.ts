/** Every webhook event's EventBridge source: `webhooks.<provider>` (the archive and the consumer rules match on it). */
export const EVENT_SOURCE_PREFIX = 'webhooks.';

export function eventSourceOf(providerId: string): string {
  return `${EVENT_SOURCE_PREFIX}${providerId}`;
}

/** A verified webhook event on its way to the event bus. */
export interface WebhookEvent {
  /** `webhooks.<provider>` becomes the EventBridge source. */
  readonly provider: string;
  /** The platform's event type, e.g. `goal.converted` or `identification`; the EventBridge detail-type. */
  readonly eventType: string;
  /** The parsed payload as the platform sent it. */
  readonly payload: unknown;
  readonly delivery: DeliveryMetadata;
}

export interface DeliveryMetadata {
  /** SHA-256 of the raw body (or the platform's delivery id): the de-duplication key. */
  readonly dedupeKey: string;
  readonly receivedAt: string;
  /** The route the event arrived on, e.g. `/bullseye/billing`. */
  readonly route: string;
  /** True for a platform's "send test webhook" deliveries. */
  readonly test: boolean;
  /** True when the platform's type is not one its doc lists; forwarded all the same. */
  readonly unknownType: boolean;
  readonly requestId?: string;
}

export interface PublishOptions {
  readonly signal?: AbortSignal;
}

/** Where verified events go. `publish` resolves only when the event was accepted, and throws otherwise. */
export interface EventSink {
  publish(event: WebhookEvent, options?: PublishOptions): Promise<void>;
}

export type ClaimResult = 'new' | 'delivered' | 'in_progress';

/**
 * Remembers deliveries so a platform's retry is forwarded once. `claim` takes a short lease;
 * `complete` marks the event delivered for the retention period; `release` drops the lease after a
 * failed delivery so the retry can deliver it.
 */
export interface DeliveryLedger {
  claim(key: string, options?: PublishOptions): Promise<ClaimResult>;
  complete(key: string, options?: PublishOptions): Promise<void>;
  release(key: string, options?: PublishOptions): Promise<void>;
}
