import { STANDARD_WEBHOOKS_HEADERS } from '../shared/signing/standard-webhooks.js';
import { SecretsManagerClient, type ServiceOutputTypes } from '@aws-sdk/client-secrets-manager';
import type { CustomerProfile } from '../shared/customers/profile.js';
import type { LambdaHttpHandler } from '../shared/handler.js';
import type { Logger } from '../shared/log.js';
import { PROVIDERS, type ProviderId, type RouteDefinition, type SignatureRule } from '../shared/providers.js';
import { SecretsCache } from '../shared/secrets/cache.js';
import { buildPlatformRequest, SAMPLE_IDS, type PlatformRequest } from '../local/platform-requests.js';
import { httpV2Event } from '../test/support/events.js';
import { handlerWithStubs, type StubbableDeps } from '../test/support/stubbed-deps.js';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

/**
 * The inputs the in-process sections share: one secret per provider, one customer every lookup
 * finds, each platform's request signed as its doc says (local/platform-requests.ts), and handlers
 * built with their dependencies stubbed at the interfaces (directory, bus, ledger).
 */

export const SECRET_ID = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:bench/signing-AbCdEf';

/** The simulated clock every in-process section starts at (Buddy's sample timestamp). */
export const BENCH_NOW_MS = 1_717_000_000_000;

/** The value Secrets Manager holds for each provider: a JSON object of named keys, as the stack writes it. */
export const SECRET_VALUES: Record<ProviderId, Record<string, string>> = {
  buddy: { signingSecret: 'bench-buddy-callback-secret' },
  talki: { signingSecret: 'bench-talki-signing-secret' },
  bullseye: { identification: 'bench-bullseye-identification-secret', billing: 'bench-bullseye-billing-secret' },
  buddystat: { signingSecret: 'bench-buddystat-webhook-secret' },
  helper: { signingSecret: 'bench-helper-hmac-secret' },
  standardwebhooks: { signingSecret: `whsec_${Buffer.from('bench-standard-webhooks-key-32by').toString('base64')}` },
};

/** The customer every lookup resolves: the same shape as local/customers.json's first profile. */
export const BENCH_PROFILE: CustomerProfile = {
  userId: SAMPLE_IDS.userToken,
  email: SAMPLE_IDS.email,
  name: 'Ada Lovelace',
  role: 'customer',
  plan: 'pro',
  value: 4200,
  attributes: { company: 'Analytical Engines Ltd', mrr: 149, signedUpAt: '2024-01-15T09:30:00.000Z', seats: 5 },
  actions: { Profile: 'https://admin.example.com/users/usr_ada', Orders: 'https://admin.example.com/users/usr_ada/orders' },
  sessionIds: [SAMPLE_IDS.sessionId],
};

export function firstRoute(provider: ProviderId): RouteDefinition {
  return PROVIDERS[provider].routes[0]!;
}

export function secretFor(provider: ProviderId, route: RouteDefinition = firstRoute(provider)): string {
  return SECRET_VALUES[provider][route.secretKey]!;
}

/** The provider's request as its platform signs it, at the given clock. */
export function platformRequest(provider: ProviderId, nowMs: number = BENCH_NOW_MS, secret: string = secretFor(provider)): PlatformRequest {
  return buildPlatformRequest(provider, { secret, now: nowMs });
}

/** A header's value as the request sends it. */
export function headerOf(request: PlatformRequest, name: string): string {
  return request.headers.find(([header]) => header.toLowerCase() === name.toLowerCase())?.[1] ?? '';
}

/** The signature value as sent, without a prefix such as `Bearer ` (or Standard Webhooks' `v1,`). */
export function signatureOf(provider: ProviderId, request: PlatformRequest): string {
  const rule: SignatureRule = PROVIDERS[provider].signature;
  if (rule.scheme === 'standard-webhooks') return headerOf(request, STANDARD_WEBHOOKS_HEADERS.signature).replace(/^v1,/, '');
  const value = headerOf(request, rule.header);
  return rule.prefix && value.startsWith(rule.prefix) ? value.slice(rule.prefix.length) : value;
}

/** The HTTP API (payload 2.0) event API Gateway hands the function for this request: the deployed path. */
export function eventOf(request: PlatformRequest): APIGatewayProxyEventV2 {
  return httpV2Event({
    method: request.method,
    path: request.path,
    headers: request.headers,
    ...(request.query !== undefined ? { query: request.query } : {}),
    ...(request.body !== undefined ? { body: request.body } : {}),
  });
}

export const silentLogger: Logger = { log: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * A SecretsCache over a real SecretsManagerClient whose first middleware answers instead of the
 * network: one AWSCURRENT version. With a clock that never moves, one fetch warms it for good.
 * (A middleware rather than aws-sdk-client-mock, so the measured bundle carries no test library.)
 */
export function stubbedSecrets(value: Record<string, string>, now: () => number, logger: Logger = silentLogger): SecretsCache {
  const client = new SecretsManagerClient({ region: 'eu-west-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  const outputs: Record<string, ServiceOutputTypes> = {
    ListSecretVersionIdsCommand: {
      $metadata: {},
      ARN: SECRET_ID,
      Versions: [{ VersionId: 'v-current', VersionStages: ['AWSCURRENT'], CreatedDate: new Date(now() - 86_400_000) }],
    },
    GetSecretValueCommand: { $metadata: {}, ARN: SECRET_ID, VersionId: 'v-current', SecretString: JSON.stringify(value) },
  };
  client.middlewareStack.add(
    (_next, context) => async () => {
      const output = outputs[context.commandName ?? ''];
      if (!output) throw new Error(`bench stub: unexpected ${context.commandName}`);
      return { output, response: {} };
    },
    { step: 'initialize', name: 'benchSecretsStub' },
  );
  return new SecretsCache({ client, now, logger });
}

/** The provider's handler, built by its exported factory, with stubs for whatever the caller left out. */
export function createHandler(provider: ProviderId, deps: StubbableDeps): LambdaHttpHandler {
  return handlerWithStubs(provider, deps, BENCH_PROFILE);
}
