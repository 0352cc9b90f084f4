import { ENV } from '../../shared/config.js';
import { isJsonObject } from '../../shared/contract.js';
import type { WebhookDeps } from '../../shared/deps.js';
import { errorResponse, signedHandler, unavailableResponse, type LambdaHttpHandler } from '../../shared/handler.js';
import { logger } from '../../shared/log.js';
import { providerById, type GenericWebhookEvents, type ProviderDefinition } from '../../shared/providers.js';
import { defaultWebhookDeps, forwardWebhook, stringField } from '../../shared/webhook.js';

/**
 * Any webhook sender whose registry entry says how to read its events (`genericWebhook`): verified
 * under its scheme, then forwarded to the bus once, like Bullseye's and BuddyStat's events. A sender
 * added to the registry this way needs no code of its own (docs/adding-a-provider.md).
 */
export function createGenericWebhookHandler(provider: ProviderDefinition & { readonly genericWebhook: GenericWebhookEvents }, deps: WebhookDeps): LambdaHttpHandler {
  const { typeFields, deliveryIdHeader } = provider.genericWebhook;
  return signedHandler({ provider, ...deps }, async (verified) => {
    const payload = verified.json;
    if (!isJsonObject(payload)) return { outcome: 'invalid_request', response: errorResponse(400, 'Body must be a JSON object') };
    const eventType = stringField(payload, ...typeFields);
    const deliveryId = deliveryIdHeader ? verified.request.headers.raw(deliveryIdHeader)[0]?.trim() : undefined;
    return forwardWebhook(verified, deps, {
      eventType: eventType ?? 'unknown',
      test: false,
      unknownType: eventType === undefined,
      deliveryId: deliveryId || undefined,
    });
  });
}

/** The function for the provider the stack names in PROVIDER_ID; a function deployed without one answers 503 and says why. */
function handlerFromEnv(env: NodeJS.ProcessEnv): LambdaHttpHandler {
  const provider = providerById(env[ENV.providerId] ?? '');
  if (provider?.genericWebhook) return createGenericWebhookHandler({ ...provider, genericWebhook: provider.genericWebhook }, defaultWebhookDeps(env));
  return async () => {
    logger.error({ message: `${ENV.providerId} names no generic webhook provider`, outcome: 'provider_not_configured', status: 503 });
    return unavailableResponse('Receiver not configured', 30);
  };
}

export const handler = handlerFromEnv(process.env);
