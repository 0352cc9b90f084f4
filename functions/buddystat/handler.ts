import type { WebhookDeps } from '../../shared/deps.js';
import { errorResponse, signedHandler, type LambdaHttpHandler } from '../../shared/handler.js';
import { PROVIDERS } from '../../shared/providers.js';
import { defaultWebhookDeps, forwardWebhook } from '../../shared/webhook.js';
import { buddyStatAlternativeMessage, classifyBuddyStatEvent } from './contract.js';

/**
 * BuddyStat webhooks: the signature header is configurable (SIGNATURE_HEADER, default
 * X-BuddyStat-Signature: the doc names none); verified events go to the bus once, well inside 10 s.
 */
export function createBuddyStatHandler(deps: WebhookDeps): LambdaHttpHandler {
  return signedHandler({ provider: PROVIDERS.buddystat, alternativeSignedMessage: buddyStatAlternativeMessage, ...deps }, async (verified) => {
    const event = classifyBuddyStatEvent(verified.json);
    if (!event.ok) return { outcome: 'invalid_request', response: errorResponse(400, event.error) };
    return forwardWebhook(verified, deps, event.value);
  });
}

export const handler = createBuddyStatHandler(defaultWebhookDeps());
