import { lazy } from './config.js';
import type { WebhookDeps } from './deps.js';
import { withDeadline } from './deadline.js';
import type { DeliveryMetadata, WebhookEvent } from './events/event.js';
import { deliveryLedgerFromEnv, deliveryStoreFromEnv, eventSinkFromEnv } from './events/from-env.js';
import { dedupeKeyFor, forwardOnce, type ForwardOptions, type ForwardResult } from './events/forward.js';
import { parkedDelivery } from './events/store.js';
import type { Answer, VerifiedRequest } from './handler.js';
import { jsonResponse, unavailableResponse } from './http/response.js';
import { loggable } from './log-value.js';
import { describeError, logger as defaultLogger } from './log.js';
import { secretsCacheFromEnv } from './secrets/cache.js';

export interface WebhookClassification {
  /** The platform's event type, in full (the bus's DetailType is a sanitised cut of it). */
  readonly eventType: string;
  readonly test: boolean;
  readonly unknownType: boolean;
  /** The platform's own delivery id, where its doc names one (Standard Webhooks' `webhook-id`): the de-duplication key then. */
  readonly deliveryId?: string;
}

/** A webhook function's dependencies from the environment, each client built on first use. */
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

/**
 * Kept back from the provider's dependency deadline for what follows the forward: parking the
 * delivery when the forward failed, or the ledger's `complete` (1 s) when it succeeded. So the
 * slowest answer stays the secrets wait plus the dependency deadline (docs/deploy.md, "Floods").
 */
export const PARK_RESERVE_MS = 1_500;

/**
 * Forwards a verified webhook once and answers the platform. 2xx means the delivery is durably kept
 * exactly as it verified: on the bus (or already there), or parked in the delivery bucket for the
 * redrive when the bus or the ledger cannot take it now. 503 only when it could be kept nowhere, or
 * while another attempt at the same delivery is in flight: the platform's retry then delivers it.
 */
export async function forwardWebhook(verified: VerifiedRequest, deps: WebhookDeps, classified: WebhookClassification): Promise<Answer> {
  const { request, route, provider } = verified;
  // The form that verified: a retry and its byte variants that verify the same way share one key.
  const dedupeKey = dedupeKeyFor(provider.id, verified.signedMessage, classified.deliveryId);
  const delivery: DeliveryMetadata = {
    dedupeKey,
    eventType: classified.eventType,
    receivedAt: new Date(verified.receivedAtMs).toISOString(),
    route: route.path,
    test: classified.test,
    unknownType: classified.unknownType,
    requestId: request.requestId,
  };
  // The JSON text that verified: under an HMAC scheme the body (or BuddyStat's compact form of it);
  // under Standard Webhooks the signed content is `id.timestamp.body`, whose body is the bytes as sent.
  const body = provider.signature.scheme === 'hmac-sha256' ? verified.signedMessage : request.rawBody;
  const event: WebhookEvent = { provider: provider.id, body, delivery };
  const options: ForwardOptions = {
    sink: deps.sink,
    ledger: deps.ledger,
    store: deps.store,
    deadlineMs: provider.budget.dependencyDeadlineMs - PARK_RESERVE_MS,
    logger: deps.logger,
  };
  const eventType = loggable(classified.eventType);

  const started = performance.now();
  const result = await forwardOnce(event, options);
  if (result.ok) {
    const outcome = classified.test ? `${result.outcome}_test` : classified.unknownType ? `${result.outcome}_unknown_type` : result.outcome;
    const response = jsonResponse(200, result.outcome === 'duplicate' ? { received: true, duplicate: true } : { received: true });
    return { eventType, dedupeKey, outcome, response };
  }
  if (result.outcome === 'delivery_in_progress') {
    return { eventType, dedupeKey, outcome: result.outcome, response: unavailableResponse('Delivery in progress; retry later', 5) };
  }
  // What is left of the dependency deadline: at least the reserve, more when the forward failed fast.
  const parkMs = Math.round(provider.budget.dependencyDeadlineMs - (performance.now() - started));
  return park(event, result, deps, parkMs, { eventType, dedupeKey });
}

/** Stores a delivery that could not be forwarded now under `parked/`: 2xx once it is durable, 503 when it cannot be kept either. */
async function park(
  event: WebhookEvent,
  result: Extract<ForwardResult, { reason: unknown }>,
  deps: WebhookDeps,
  deadlineMs: number,
  logged: { eventType: string | undefined; dedupeKey: string },
): Promise<Answer> {
  const now = deps.now ?? Date.now;
  const parked = await withDeadline(deadlineMs, (scope) => deps.store.park(parkedDelivery(event, result.reason, now()), scope));
  if (parked.ok) return { ...logged, outcome: 'parked', response: jsonResponse(200, { received: true }) };
  const log = deps.logger ?? defaultLogger;
  const error = parked.reason === 'failed' ? parked.error : new Error(`parking took longer than ${deadlineMs} ms`);
  log.error({ provider: event.provider, eventType: logged.eventType, dedupeKey: logged.dedupeKey, message: `delivery neither forwarded (${result.outcome}) nor parked`, ...describeError(error) });
  return { ...logged, outcome: result.outcome, response: unavailableResponse('Event not delivered; retry later', 1) };
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
