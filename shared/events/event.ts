import type { SignedMessage } from '../signing/verify.js';

/** Every webhook event's EventBridge source: `webhooks.<provider>` (the archive and the consumer rules match on it). */
export const EVENT_SOURCE_PREFIX = 'webhooks.';

export function eventSourceOf(providerId: string): string {
  return `${EVENT_SOURCE_PREFIX}${providerId}`;
}

/** A verified webhook delivery on its way to the event bus. */
export interface WebhookEvent {
  /** `webhooks.<provider>` becomes the EventBridge source. */
  readonly provider: string;
  /**
   * The JSON text that verified, exactly: the body as sent, or for BuddyStat's compact-form fallback
   * the compact form the platform signed. Forwarded as it is, never re-serialised.
   */
  readonly body: SignedMessage;
  readonly delivery: DeliveryMetadata;
}

export interface DeliveryMetadata {
  /**
   * `<provider>#sha256#<hex>` (SHA-256 of the bytes that verified) or `<provider>#id#<hex>` (of the
   * platform's delivery id, where its doc names one): a fixed length whatever the body. On the event
   * too, so a consumer can drop the rare second copy (docs/deploy.md, "Webhook delivery").
   */
  readonly dedupeKey: string;
  /** The platform's event type in full; the entry's DetailType is this cut to what EventBridge accepts. */
  readonly eventType: string;
  readonly receivedAt: string;
  /** The route the event arrived on, e.g. `/bullseye/billing`. */
  readonly route: string;
  /** True for a platform's "send test webhook" deliveries. */
  readonly test: boolean;
  /** True when the platform's type is not one its doc lists; forwarded all the same. */
  readonly unknownType: boolean;
  readonly requestId?: string;
}

/**
 * One entry for the bus, built once and handed to whichever sink runs: the fields of a PutEvents
 * entry. `detail` is JSON text that embeds the verified body as it arrived (or a claim-check pointer).
 */
export interface EventEntry {
  readonly source: string;
  readonly detailType: string;
  readonly detail: string;
  /** ISO time the delivery was received. */
  readonly time: string;
}

export interface PublishOptions {
  readonly signal?: AbortSignal;
}

/**
 * Where verified events go. `publish` resolves only when the entry was accepted; it rejects with an
 * EventRejectedError when the bus refused the entry for a reason a retry cannot fix, and with any
 * other error when a retry may succeed.
 */
export interface EventSink {
  publish(entry: EventEntry, options?: PublishOptions): Promise<void>;
}

/** The bus refused the entry itself (validation, size, nesting, DetailType, permissions): sending it again cannot succeed. */
export class EventRejectedError extends Error {
  override readonly name = 'EventRejectedError';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
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
