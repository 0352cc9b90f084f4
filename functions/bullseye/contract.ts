import { isJsonObject, type Parsed } from '../../shared/contract.js';
import type { WebhookClassification } from '../../shared/webhook.js';

/**
 * Bullseye partner webhooks (shared/providers/bullseye-webhooks.txt): identification and billing
 * events, each webhook with its own secret. The doc shows no payload fields, so the event family comes
 * from the route, and a test delivery ("Send Test Webhook") is recognised by the usual markers.
 */
export function isTestDelivery(payload: Record<string, unknown>): boolean {
  if (payload.test === true || payload.isTest === true) return true;
  const kind = payload.type ?? payload.event;
  return typeof kind === 'string' && /(^|[._-])test($|[._-])/i.test(kind);
}

export function classifyBullseyeEvent(body: unknown, eventFamily: string): Parsed<WebhookClassification> {
  if (!isJsonObject(body)) return { ok: false, error: 'Body must be a JSON object' };
  return { ok: true, value: { eventType: eventFamily, test: isTestDelivery(body), unknownType: false } };
}
