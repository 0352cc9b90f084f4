import type { WebhookDeps } from './deps.js';
import type { DeliveryMetadata } from './events/event.js';
import { dedupeKeyFor, forwardOnce, type ForwardOptions } from './events/forward.js';
import type { Answer, VerifiedRequest } from './handler.js';
import { jsonResponse, unavailableResponse } from './http/response.js';

export interface WebhookClassification {
  readonly eventType: string;
  readonly payload: unknown;
  readonly test: boolean;
  readonly unknownType: boolean;
  /** A platform delivery id, when the platform sends one: a better de-duplication key than the body hash. */
  readonly deliveryId?: string;
}

const RETRY_AFTER_SECONDS: Record<string, number> = { delivery_in_progress: 5 };

/**
 * Forwards a verified webhook once and answers the platform: 200 only when the event is on the bus
 * (or was already), 503 otherwise so the platform's retry delivers it.
 */
export async function forwardWebhook(verified: VerifiedRequest, deps: WebhookDeps, event: WebhookClassification): Promise<Answer> {
  const { request, route, provider } = verified;
  // The form that verified: a retry and its byte variants that verify the same way share one key.
  const dedupeKey = dedupeKeyFor(provider.id, verified.signedMessage, event.deliveryId);
  const delivery: DeliveryMetadata = {
    dedupeKey,
    receivedAt: new Date(verified.receivedAtMs).toISOString(),
    route: route.path,
    test: event.test,
    unknownType: event.unknownType,
    ...(request.requestId && { requestId: request.requestId }),
  };
  const options: ForwardOptions = {
    sink: deps.sink,
    ledger: deps.ledger,
    deadlineMs: provider.budget.dependencyDeadlineMs,
    ...(deps.logger && { logger: deps.logger }),
  };
  const result = await forwardOnce({ provider: provider.id, eventType: event.eventType, payload: event.payload, delivery }, options);
  if (result.ok) {
    const outcome = event.test ? `${result.outcome}_test` : event.unknownType ? `${result.outcome}_unknown_type` : result.outcome;
    const response = jsonResponse(200, result.outcome === 'duplicate' ? { received: true, duplicate: true } : { received: true });
    return { eventType: event.eventType, dedupeKey, outcome, response };
  }
  const response = unavailableResponse('Event not delivered; retry later', RETRY_AFTER_SECONDS[result.outcome] ?? 1);
  return { eventType: event.eventType, dedupeKey, outcome: result.outcome, response };
}

/** The payload's `field` when it is a non-empty string. */
export function stringField(payload: unknown, ...fields: string[]): string | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  for (const field of fields) {
    const value = (payload as Record<string, unknown>)[field];
    if (typeof value === 'string' && value.length > 0) return value;
  }
  return undefined;
}
