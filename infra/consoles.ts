import type { ProviderDefinition, ProviderId, RouteDefinition } from '../shared/providers.js';

/**
 * Where each platform keeps the two settings an operator copies: the URL it calls and the signing
 * secret. From the platforms' own docs (../shared/providers/*.txt); docs/deploy.md says the same
 * at length. Stack outputs carry these as descriptions, so `cdk deploy` prints where each value goes.
 */
export interface ConsoleSetting {
  /** Where the URL for one route is entered. */
  readonly url: (route: RouteDefinition) => string;
  /** Where the signing secret comes from (or is set, for platforms that let you choose it). */
  readonly secret: string;
}

const CONSOLE_SETTINGS: Partial<Record<ProviderId, ConsoleSetting>> = {
  buddy: {
    url: () => 'Buddy: Identity Callback URL setting (public HTTPS URL Buddy POSTs each new session to)',
    secret: 'Buddy: the callback secret shown with the Identity Callback URL',
  },
  talki: {
    url: () => 'Talki Console: Admin -> Backend Connect -> Endpoint URL',
    secret: 'Talki Console: Admin -> Backend Connect -> Signing secret (shown once)',
  },
  bullseye: {
    url: (route) => `Bullseye partner webhooks API: Update ${route.eventFamily ?? 'the'} webhook, field "url"`,
    secret: 'Bullseye partner webhooks API: you choose each secret and set it in the same call, field "secret"',
  },
  buddystat: {
    url: () => 'BuddyStat: Site Settings -> Webhooks -> Add Webhook -> endpoint URL',
    secret: 'BuddyStat: Site Settings -> Webhooks, the secret key shown when the webhook is saved',
  },
  helper: {
    url: () => 'Helper: customerInfoUrl passed to the chat / create message API (client SDK)',
    secret: 'Helper: the HMAC secret shown in your Helper settings',
  },
  standardwebhooks: {
    url: () => "The sender's webhook settings: add an endpoint with this URL (Svix-based senders: Webhooks -> Add Endpoint)",
    secret: "The endpoint's signing secret the sender shows, whsec_... (Svix-based senders: the endpoint's Signing Secret)",
  },
};

/** The console hint for a provider; a sixth provider without an entry still gets a readable one. */
export function consoleSetting(provider: ProviderDefinition): ConsoleSetting {
  return (
    CONSOLE_SETTINGS[provider.id as ProviderId] ?? {
      url: (route) => `${provider.title}: the URL setting for ${route.method} ${route.path}`,
      secret: `${provider.title}: the signing secret`,
    }
  );
}
