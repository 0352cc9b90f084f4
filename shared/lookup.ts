import type { CustomerDirectory, CustomerProfile } from './customers/profile.js';
import { withDeadline, type DeadlineScope } from './deadline.js';
import type { Answer } from './handler.js';
import { unavailableResponse } from './http/response.js';
import { describeError, logger as defaultLogger, type Logger } from './log.js';
import type { ProviderDefinition } from './providers.js';

export type LookupResult =
  | { readonly found: true; readonly profile: CustomerProfile }
  | { readonly found: false; readonly answer?: Answer };

/**
 * A directory lookup inside the provider's dependency deadline. Not found is `found: false` with no
 * answer (each provider says what "unknown" means to it); a slow or failing directory is a 503 answer,
 * so the platform's retry can succeed, and never a profile-less 200.
 */
export async function lookupCustomer(
  provider: ProviderDefinition,
  directory: CustomerDirectory,
  /** Pass `scope` on as the directory's options: it carries the deadline's signal. */
  find: (directory: CustomerDirectory, scope: DeadlineScope) => Promise<CustomerProfile | undefined>,
  log: Logger = defaultLogger,
): Promise<LookupResult> {
  const result = await withDeadline(provider.budget.dependencyDeadlineMs, (scope) => find(directory, scope));
  if (result.ok) return result.value ? { found: true, profile: result.value } : { found: false };
  if (result.reason === 'timeout') {
    return { found: false, answer: { outcome: 'lookup_timeout', response: unavailableResponse('Customer directory timed out') } };
  }
  log.warn({ message: 'customer directory failed', provider: provider.id, outcome: 'lookup_failed', ...describeError(result.error) });
  return { found: false, answer: { outcome: 'lookup_failed', response: unavailableResponse('Customer directory unavailable') } };
}
