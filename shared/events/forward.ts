import { hash } from 'node:crypto';
import { withDeadline, type DeadlineScope } from '../deadline.js';
import { loggable } from '../log-value.js';
import { describeError, logger as defaultLogger, type Logger } from '../log.js';
import type { SignedMessage } from '../signing/verify.js';
import { bodyTextOf, claimEntry, fitsOnTheBus, inlineEntry } from './entry.js';
import { EventRejectedError, type ClaimResult, type DeliveryLedger, type EventSink, type WebhookEvent } from './event.js';
import type { DeliveryStore, ParkReason } from './store.js';

/**
 * The de-duplication key: SHA-256 of the platform's own delivery id where its doc names one (Standard
 * Webhooks' `webhook-id`), otherwise of the bytes that verified (for BuddyStat's compact-form
 * fallback, the compact form), so every byte variant of one signed delivery has one key. Hashed
 * either way, the key is the same length whatever the id or the body (DynamoDB keys stop at 2 KB).
 */
export function dedupeKeyFor(providerId: string, signedMessage: SignedMessage, deliveryId?: string): string {
  // crypto.hash (Node 20.12+): one call, no Hash object; a string is hashed as its UTF-8 bytes.
  if (deliveryId !== undefined && deliveryId.length > 0) return `${providerId}#id#${hash('sha256', deliveryId, 'hex')}`;
  return `${providerId}#sha256#${hash('sha256', signedMessage, 'hex')}`;
}

/** The outcomes a caller may park: the delivery could not be forwarded now, and nothing else holds it. */
export type ParkableOutcome = 'ledger_unavailable' | 'store_failed' | 'sink_failed' | 'sink_timeout' | 'rejected';

export type ForwardResult =
  | { readonly ok: true; readonly outcome: 'forwarded' | 'duplicate' }
  | { readonly ok: false; readonly outcome: 'delivery_in_progress' }
  | { readonly ok: false; readonly outcome: ParkableOutcome; readonly reason: ParkReason };

export interface ForwardOptions {
  readonly sink: EventSink;
  readonly ledger: DeliveryLedger;
  /** Where a body too large for an entry goes (claim check). */
  readonly store: DeliveryStore;
  /** Time for claim + publish; the provider's dependency deadline. */
  readonly deadlineMs: number;
  /** Time for the ledger's `complete` once the event is on the bus. Default COMPLETE_DEADLINE_MS. */
  readonly completeDeadlineMs?: number;
  readonly logger?: Logger;
}

/** `complete` after a publish: short, because the event is on the bus whatever it answers. */
export const COMPLETE_DEADLINE_MS = 1_000;

type Stage = 'claim' | 'store' | 'publish';

function failure(outcome: ParkableOutcome, error: unknown): Extract<ForwardResult, { reason: ParkReason }> {
  const { errorName, detail } = describeError(error);
  const code = error instanceof EventRejectedError ? error.code : errorName;
  return { ok: false, outcome, reason: { outcome, code, message: detail } };
}

/**
 * Puts the event on the bus once across retries and redrives: claim the key, publish, mark it
 * delivered.
 *
 * The entry embeds the verified body as it arrived. A body that cannot travel that way (over the
 * entry size limit, not valid UTF-8) or that the bus refuses inline (too deep, an integer EventBridge
 * cannot hold) is stored in the delivery bucket and a claim-check entry points to it.
 *
 * A failed publish releases the claim, so a retry or a redrive can deliver it. A publish that
 * outlives the deadline keeps running and records its own result; its lease stops a retry racing it.
 * Once the bus accepted the entry the result is `forwarded`, whatever `complete` does: it runs under
 * its own short deadline and a failure is logged. Its window: if `complete` never lands, a retry
 * after the lease (30 s) publishes a second copy, with the same `delivery.dedupeKey` for consumers to drop.
 */
export async function forwardOnce(event: WebhookEvent, options: ForwardOptions): Promise<ForwardResult> {
  const { ledger } = options;
  const log = options.logger ?? defaultLogger;
  const key = event.delivery.dedupeKey;
  const warn = (message: string, error: unknown) =>
    log.warn({ provider: event.provider, eventType: loggable(event.delivery.eventType), dedupeKey: key, message, ...describeError(error) });
  let stage: Stage = 'claim';
  let completion: Promise<void> | undefined;

  const attempt = await withDeadline(options.deadlineMs, async (scope): Promise<ForwardResult> => {
    let claim: ClaimResult;
    try {
      claim = await ledger.claim(key, scope);
    } catch (error) {
      warn('delivery ledger unavailable', error);
      return failure('ledger_unavailable', error);
    }
    if (claim === 'delivered') return { ok: true, outcome: 'duplicate' };
    if (claim === 'in_progress') return { ok: false, outcome: 'delivery_in_progress' };

    try {
      await publish(event, options, scope, (next) => (stage = next), warn);
    } catch (error) {
      warn(stage === 'store' ? 'body not stored for a claim check' : 'event not published', error);
      // Not under the deadline's signal, which may be what aborted the publish.
      try {
        await ledger.release(key);
      } catch (releaseError) {
        warn('claim not released; it lapses with its lease', releaseError);
      }
      if (stage === 'store') return failure('store_failed', error);
      if (error instanceof EventRejectedError) return failure('rejected', error);
      return failure(scope.expired ? 'sink_timeout' : 'sink_failed', error);
    }
    // Started here, so a publish that lands after the deadline still records itself.
    completion = ledger.complete(key);
    // Past the deadline nobody awaits it: a failure is logged here instead.
    if (scope.expired) completion.catch((error: unknown) => warn('delivery not recorded; a retry after the lease may forward it again', error));
    return { ok: true, outcome: 'forwarded' };
  });

  if (attempt.ok && completion) await awaitCompletion(completion, options.completeDeadlineMs ?? COMPLETE_DEADLINE_MS, warn);
  if (attempt.ok) return attempt.value;
  const outcome = stage === 'claim' ? 'ledger_unavailable' : stage === 'store' ? 'store_failed' : 'sink_timeout';
  return { ok: false, outcome, reason: { outcome, message: `deadline of ${options.deadlineMs} ms passed` } };
}

/**
 * Waits a short while for the ledger's record; the event is on the bus either way, so a failure is
 * only logged. A plain timer rather than withDeadline: nothing here needs aborting (the SDK call has
 * its own timeout), and withDeadline's AbortController would be most of a warm delivery's added cost.
 */
async function awaitCompletion(completion: Promise<void>, ms: number, warn: (message: string, error: unknown) => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, ms, 'timeout')));
  const recorded = await Promise.race([completion.then(() => 'recorded' as const, (error: unknown) => ({ error })), timedOut]);
  clearTimeout(timer);
  if (recorded === 'recorded') return;
  warn('delivery not recorded; a retry after the lease may forward it again', recorded === 'timeout' ? new Error(`complete took longer than ${ms} ms`) : recorded.error);
}

/** The inline entry when the body can travel in one, else (or when the bus refuses it) a claim check. */
async function publish(
  event: WebhookEvent,
  options: ForwardOptions,
  scope: DeadlineScope,
  enter: (stage: Stage) => void,
  warn: (message: string, error: unknown) => void,
): Promise<void> {
  enter('publish');
  const text = bodyTextOf(event.body);
  const inline = text === undefined ? undefined : inlineEntry(event, text);
  if (inline && fitsOnTheBus(inline)) {
    try {
      return await options.sink.publish(inline, scope);
    } catch (error) {
      if (!(error instanceof EventRejectedError)) throw error;
      warn('entry refused inline; forwarding it as a claim check', error);
    }
  }
  enter('store');
  const pointer = await options.store.putClaim(event, scope);
  enter('publish');
  await options.sink.publish(claimEntry(event, pointer), scope);
}
