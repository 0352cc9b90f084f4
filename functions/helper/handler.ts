import { defaultLookupDeps, type LookupDeps } from '../../shared/deps.js';
import { errorResponse, jsonResponse, signedHandler, type LambdaHttpHandler } from '../../shared/handler.js';
import { lookupCustomer } from '../../shared/lookup.js';
import { PROVIDERS } from '../../shared/providers.js';
import { parseHelperQuery, toHelperResponse } from './contract.js';

/**
 * Helper metadata endpoint: verify `Authorization: Bearer <base64 HMAC>` over the query string as
 * sent (signedHandler, from the registry) and the query's timestamp, then answer the customer.
 * An unknown email is a valid, empty answer: Helper's "test endpoint" button sends one.
 */
export function createHelperHandler(deps: LookupDeps): LambdaHttpHandler {
  const provider = PROVIDERS.helper;
  return signedHandler({ provider, ...deps }, async (verified) => {
    const query = parseHelperQuery(verified.request.query);
    if (!query.ok) return { outcome: 'invalid_request', response: errorResponse(400, query.error) };

    const lookup = await lookupCustomer(provider, deps.directory, (d, scope) => d.findByEmail(query.value.email, scope), deps.logger);
    if (lookup.found) return { outcome: 'resolved', response: jsonResponse(200, toHelperResponse(lookup.profile)) };
    return lookup.answer ?? { outcome: 'unknown_email', response: jsonResponse(200, toHelperResponse(undefined)) };
  });
}

export const handler = createHelperHandler(defaultLookupDeps());
