import { defaultWebhookDeps, lazyDirectory, type LookupDeps, type WebhookDeps } from '../shared/deps.js';
import type { LambdaHttpHandler } from '../shared/handler.js';
import type { ProviderId } from '../shared/providers.js';
import { createBuddyHandler } from './buddy/handler.js';
import { createBuddyStatHandler } from './buddystat/handler.js';
import { createBullseyeHandler } from './bullseye/handler.js';
import { createHelperHandler } from './helper/handler.js';
import { createTalkiHandler } from './talki/handler.js';

/** What any provider's handler may need: lookups use the directory, webhooks the sink and ledger. */
export type ProviderHandlerDeps = LookupDeps & WebhookDeps;

/**
 * Every provider's factory, for the local server, the benchmarks and the tests that run all five.
 * Never a Lambda entry point: each function bundles only its own `functions/<id>/handler.ts`.
 * A provider added to the registry without a factory here fails the type-check.
 */
const FACTORIES = {
  buddy: createBuddyHandler,
  talki: createTalkiHandler,
  bullseye: createBullseyeHandler,
  buddystat: createBuddyStatHandler,
  helper: createHelperHandler,
} as const satisfies Record<ProviderId, (deps: ProviderHandlerDeps) => LambdaHttpHandler>;

export function createProviderHandler(provider: ProviderId, deps: ProviderHandlerDeps): LambdaHttpHandler {
  return FACTORIES[provider](deps);
}

/** Any provider wired from the environment as its own `handler` export is, with one secrets cache. */
export function defaultProviderDeps(env: NodeJS.ProcessEnv = process.env): ProviderHandlerDeps {
  return { ...defaultWebhookDeps(env), directory: lazyDirectory(env) };
}
