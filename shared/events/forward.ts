import { hash } from 'node:crypto';
import { withDeadline } from '../deadline.js';
import { describeError, logger as defaultLogger, type Logger } from '../log.js';
import type { ClaimResult, DeliveryLedger, EventSink, WebhookEvent } from './event.js';

/**
 * The de-duplication key: the platform's delivery id when it sends one, otherwise SHA-256 of the
 * raw body, whose bytes a platform's retry repeats exactly.
 */
export function dedupeKeyFor(providerId: string, body: Uint8Array | string, deliveryId?: string): string {
  if (deliveryId !== undefined && deliveryId.length > 0) return `${providerId}#id#${deliveryId}`;
  // crypto.hash (Node 20.12+): one call, no Hash object, for a body that is already in memory. A
  // string is hashed as its UTF-8 bytes (HttpRequest.bodyAsSent is one only when those are the bytes sent).
  return `${providerId}#sha256#${hash('sha256', body, 'hex')}`;
}

export type ForwardResult =
  | { readonly ok: true; readonly outcome: 'forwarded' | 'duplicate' }
  | { readonly ok: false; readonly outcome: 'delivery_in_progress' | 'sink_failed' | 'sink_timeout' | 'ledger_unavailable' };

export interface ForwardOptions {
  readonly sink: EventSink;
  readonly ledger: DeliveryLedger;
  /** Time for claim + publish; the provider's dependency deadline. */
  readonly deadlineMs: number;
  readonly logger?: Logger;
}

type Failure = Extract<ForwardResult, { ok: false }>['outcome'];

/**
 * Puts the event on the bus once across retries: claim the key, publish, mark it delivered. A failed
 * publish releases the claim, so the platform's retry delivers it; a publish that outlives the
 * deadline keeps running and records its own result, and its lease stops a retry racing it.
 * At-least-once in the end, as EventBridge itself is: a container frozen between publish and
 * complete leaves only a lease, which runs out.
 */
export async function forwardOnce(event: WebhookEvent, options: ForwardOptions): Promise<ForwardResult> {
  const { sink, ledger } = options;
  const log = options.logger ?? defaultLogger;
  const key = event.delivery.dedupeKey;
  // Only a failure logs; the fields are built then. try/catch rather than `.catch()`: no extra promise per step.
  const warn = (message: string, error: unknown) =>
    log.warn({ provider: event.provider, eventType: event.eventType, dedupeKey: key, message, ...describeError(error) });
  let stage: 'claim' | 'publish' = 'claim';

  const attempt = await withDeadline(options.deadlineMs, async (scope): Promise<ForwardResult> => {
    let claim: ClaimResult;
    try {
      claim = await ledger.claim(key, scope);
    } catch (error) {
      warn('delivery ledger unavailable', error);
      return { ok: false, outcome: 'ledger_unavailable' };
    }
    if (claim === 'delivered') return { ok: true, outcome: 'duplicate' };
    if (claim === 'in_progress') return { ok: false, outcome: 'delivery_in_progress' };

    stage = 'publish';
    try {
      await sink.publish(event, scope);
    } catch (error) {
      warn('event not published', error);
      // Not under the deadline's signal, which may be what aborted the publish.
      try {
        await ledger.release(key);
      } catch (releaseError) {
        warn('claim not released; it lapses with its lease', releaseError);
      }
      return { ok: false, outcome: scope.expired ? 'sink_timeout' : 'sink_failed' };
    }
    try {
      await ledger.complete(key);
    } catch (error) {
      // The event is on the bus; without the record a retry after the lease may forward it again.
      warn('delivery not recorded', error);
    }
    return { ok: true, outcome: 'forwarded' };
  });

  if (attempt.ok) return attempt.value;
  const outcome: Failure = stage === 'claim' ? 'ledger_unavailable' : 'sink_timeout';
  return { ok: false, outcome };
}
