import { ENV } from '../../shared/config.js';
import { defaultLookupDeps, type LookupDeps } from '../../shared/deps.js';
import { errorResponse, jsonResponse, signedHandler, type LambdaHttpHandler } from '../../shared/handler.js';
import { lookupCustomer } from '../../shared/lookup.js';
import { PROVIDERS } from '../../shared/providers.js';
import { DEFAULT_USER_TOKEN_FIELD, parseTalkiRequest, toTalkiResponse } from './contract.js';

/**
 * Talki Backend Connect: verify X-Talki-Signature (hex HMAC of the raw body), read the visitor id
 * from the configured field, answer the profile inside Talki's 5 s. Errors are `{ error }` JSON.
 */
export function createTalkiHandler(deps: LookupDeps): LambdaHttpHandler {
  const provider = PROVIDERS.talki;
  const tokenField = (deps.env ?? process.env)[ENV.talkiUserTokenField]?.trim() || DEFAULT_USER_TOKEN_FIELD;
  return signedHandler({ provider, ...deps }, async (verified) => {
    const request = parseTalkiRequest(verified.json, tokenField);
    if (!request.ok) return { outcome: 'invalid_request', response: errorResponse(400, request.error) };

    const lookup = await lookupCustomer(provider, deps.directory, (d, scope) => d.findByUserId(request.value.userToken, scope), deps.logger);
    if (!lookup.found) return lookup.answer ?? { outcome: 'unknown_user', response: errorResponse(404, 'User not found') };
    const { response, droppedFields } = toTalkiResponse(lookup.profile);
    // Only a profile that lost fields says so in the log.
    return { outcome: 'resolved', response: jsonResponse(200, response), droppedFields: droppedFields.length > 0 ? droppedFields : undefined };
  });
}

export const handler = createTalkiHandler(defaultLookupDeps());
