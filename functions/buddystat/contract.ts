import { isJsonObject, type Parsed } from '../../shared/contract.js';
import type { AlternativeMessage } from '../../shared/handler.js';
import { stringField, type WebhookClassification } from '../../shared/webhook.js';

/** BuddyStat outgoing webhooks (shared/providers/buddystat-webhooks.txt). */
export const BUDDYSTAT_EVENTS = ['session.created', 'goal.converted', 'alert.triggered', 'event.tracked'] as const;
export type BuddyStatEvent = (typeof BUDDYSTAT_EVENTS)[number];

export function isKnownEvent(type: string): type is BuddyStatEvent {
  return (BUDDYSTAT_EVENTS as readonly string[]).includes(type);
}

/**
 * What BuddyStat may have signed when the raw body does not verify: its documented verifier hashes
 * `JSON.stringify(payload)`, so the compact re-serialisation of the parsed body, when that differs.
 */
export const buddyStatAlternativeMessage: AlternativeMessage = (request) => {
  const sent = request.rawBody.toString('utf8');
  try {
    const compact = JSON.stringify(JSON.parse(sent));
    return compact === sent ? undefined : compact;
  } catch {
    // Not JSON, or too deeply nested to re-serialise: there is no compact form, and a forged body must not throw.
    return undefined;
  }
};

/**
 * Events outside the documented four are still forwarded, marked unknown, never dropped. The doc
 * names no delivery id, so none is read from the body: the de-duplication key is the hash of the
 * signed form, which every byte variant of one delivery shares.
 */
export function classifyBuddyStatEvent(body: unknown): Parsed<WebhookClassification> {
  if (!isJsonObject(body)) return { ok: false, error: 'Body must be a JSON object' };
  const type = stringField(body, 'event', 'type', 'eventType');
  return { ok: true, value: { eventType: type ?? 'unknown', test: body.test === true, unknownType: type === undefined || !isKnownEvent(type) } };
}
