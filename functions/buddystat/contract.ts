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
 * Runs before the signature is known to be good, on anyone's bytes, so it never throws: a body
 * nested too deep to re-serialise (JSON.stringify recurses; JSON.parse does not) has no compact
 * form, and such a request is answered 401 like any other mismatch.
 */
export const buddyStatAlternativeMessage: AlternativeMessage = (request, json) => {
  try {
    const body = json();
    if (!body.ok) return undefined;
    const compact = JSON.stringify(body.value);
    const sent = request.bodyAsSent;
    const same = typeof sent === 'string' ? compact === sent : Buffer.from(compact, 'utf8').equals(sent);
    return same ? undefined : compact;
  } catch {
    return undefined;
  }
};

/**
 * Events outside the documented four are still forwarded, marked unknown, never dropped. The doc
 * names no delivery id, so none is read: the de-duplication key is the hash of the signed form.
 */
export function classifyBuddyStatEvent(body: unknown): Parsed<WebhookClassification> {
  if (!isJsonObject(body)) return { ok: false, error: 'Body must be a JSON object' };
  const type = stringField(body, 'event', 'type', 'eventType');
  return { ok: true, value: { eventType: type ?? 'unknown', test: body.test === true, unknownType: type === undefined || !isKnownEvent(type) } };
}
