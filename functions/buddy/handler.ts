import { defaultLookupDeps, type LookupDeps } from '../../shared/deps.js';
import { errorResponse, jsonResponse, signedHandler, type LambdaHttpHandler } from '../../shared/handler.js';
import { lookupCustomer } from '../../shared/lookup.js';
import { PROVIDERS } from '../../shared/providers.js';
import { parseBuddyRequest, toBuddyResponse } from './contract.js';

/**
 * Buddy identity callback: verify X-Platform-Signature (hex HMAC of the raw body) and the body's
 * timestamp (done by signedHandler from the registry), then answer the session's user.
 */
export function createBuddyHandler(deps: LookupDeps): LambdaHttpHandler {
  const provider = PROVIDERS.buddy;
  return signedHandler({ provider, ...deps }, async (verified) => {
    const request = parseBuddyRequest(verified.json);
    if (!request.ok) return { outcome: 'invalid_request', response: errorResponse(400, request.error) };

    const lookup = await lookupCustomer(provider, deps.directory, (d, scope) => d.findBySessionId(request.value.sessionId, scope), deps.logger);
    if (!lookup.found) {
      // Unknown session: Buddy falls back to an anonymous session.
      return lookup.answer ?? { outcome: 'unknown_session', response: errorResponse(404, 'Unknown session') };
    }
    return { outcome: 'resolved', response: jsonResponse(200, toBuddyResponse(lookup.profile)) };
  });
}

export const handler = createBuddyHandler(defaultLookupDeps());
