import { lazyDirectory, type LookupDeps, type WebhookDeps } from '../shared/deps.js';
import type { LambdaHttpHandler } from '../shared/handler.js';
import { PROVIDERS, type ProviderId } from '../shared/providers.js';
import { defaultWebhookDeps } from '../shared/webhook.js';
import { createBuddyHandler } from './buddy/handler.js';
import { createBuddyStatHandler } from './buddystat/handler.js';
import { createBullseyeHandler } from './bullseye/handler.js';
import { createHelperHandler } from './helper/handler.js';
import { createTalkiHandler } from './talki/handler.js';
import { createGenericWebhookHandler } from './webhook/handler.js';

/** What any provider's handler may need: lookups use the directory, webhooks the sink and ledger. */
export type ProviderHandlerDeps = LookupDeps & WebhookDeps;

/** Providers with a folder of their own under functions/: every registry entry without `genericWebhook`. */
type OwnCodeProviderId = { [Id in ProviderId]: (typeof PROVIDERS)[Id] extends { readonly genericWebhook: object } ? never : Id }[ProviderId];

/**
 * The factory of each provider with its own code, for the local server, the benchmarks and the tests
 * that run them all. Never a Lambda entry point: each function bundles only its own handler file. A
 * provider added to the registry without `genericWebhook` and without a factory here fails the type-check.
 */
const FACTORIES = {
  buddy: createBuddyHandler,
  talki: createTalkiHandler,
  bullseye: createBullseyeHandler,
  buddystat: createBuddyStatHandler,
  helper: createHelperHandler,
} as const satisfies Record<OwnCodeProviderId, (deps: ProviderHandlerDeps) => LambdaHttpHandler>;

export function createProviderHandler(id: ProviderId, deps: ProviderHandlerDeps): LambdaHttpHandler {
  const provider = PROVIDERS[id];
  if ('genericWebhook' in provider) return createGenericWebhookHandler(provider, deps);
  return FACTORIES[id as OwnCodeProviderId](deps);
}

/** Any provider wired from the environment as its own `handler` export is, with one secrets cache. */
export function defaultProviderDeps(env: NodeJS.ProcessEnv = process.env): ProviderHandlerDeps {
  return { ...defaultWebhookDeps(env), directory: lazyDirectory(env) };
}
