import type { WebhookDeps } from '../../shared/deps.js';
import { errorResponse, signedHandler, type LambdaHttpHandler } from '../../shared/handler.js';
import { PROVIDERS } from '../../shared/providers.js';
import { defaultWebhookDeps, forwardWebhook } from '../../shared/webhook.js';
import { classifyBullseyeEvent } from './contract.js';

/**
 * Bullseye webhooks: two routes, each verified with its own secret key (`identification`,
 * `billing`) from the registry; valid events go to the bus once and are acknowledged 200.
 */
export function createBullseyeHandler(deps: WebhookDeps): LambdaHttpHandler {
  return signedHandler({ provider: PROVIDERS.bullseye, ...deps }, async (verified) => {
    const event = classifyBullseyeEvent(verified.json, verified.route.eventFamily ?? 'unknown');
    if (!event.ok) return { outcome: 'invalid_request', response: errorResponse(400, event.error) };
    return forwardWebhook(verified, deps, event.value);
  });
}

export const handler = createBullseyeHandler(defaultWebhookDeps());
