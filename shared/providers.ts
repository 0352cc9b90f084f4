import { ENV } from './config.js';
import { STANDARD_WEBHOOKS_HEADERS, STANDARD_WEBHOOKS_TOLERANCE_SECONDS } from './signing/standard-webhooks.js';
import type { SignatureEncoding } from './signing/verify.js';

/**
 * The provider registry: each platform declared once. Handlers, the CDK stack, the local server,
 * the send/verify tools and the benchmarks all read this, so adding a webhook sender on a scheme we
 * already verify is one entry here, and a lookup callback with its own contract is one entry plus
 * one folder under functions/ (docs/adding-a-provider.md).
 */

export type HttpMethod = 'GET' | 'POST';

export interface RouteDefinition {
  readonly method: HttpMethod;
  readonly path: string;
  /** The key of the provider's secret that signs requests on this route. */
  readonly secretKey: string;
  /** For webhook routes: the event family this route receives (Bullseye has one per route). */
  readonly eventFamily?: string;
}

/** A signature over the body or the query, in one header: the scheme most platforms here document. */
export interface HmacSignatureRule {
  readonly scheme: 'hmac-sha256';
  /** Header that carries the signature. */
  readonly header: string;
  /** An environment variable that overrides `header` for this provider alone (BuddyStat's doc names no header). */
  readonly headerSetting?: typeof ENV.signatureHeader;
  readonly encoding: SignatureEncoding;
  /** A prefix the platform puts before the signature value, such as `Bearer `. */
  readonly prefix?: string;
  /** What the platform signs: the raw body bytes, or the query string. */
  readonly signs: 'body' | 'query';
}

/**
 * Standard Webhooks (shared/signing/standard-webhooks.ts): `webhook-id`, `webhook-timestamp` and
 * `webhook-signature` headers, the id and timestamp signed with the body, `whsec_` secrets. The
 * timestamp is checked within ±`toleranceSeconds` (REPLAY_WINDOW_SECONDS overrides it).
 */
export interface StandardWebhooksRule {
  readonly scheme: 'standard-webhooks';
  readonly toleranceSeconds: number;
}

export type SignatureRule = HmacSignatureRule | StandardWebhooksRule;

export interface ReplayRule {
  /** Where the signed timestamp lives. */
  readonly in: 'body' | 'query' | 'header';
  readonly field: string;
  readonly windowSeconds: number;
}

export interface TimeBudget {
  /** How long the platform waits for an answer, from its doc. */
  readonly platformTimeoutMs: number;
  /** Deadline for our own lookups or deliveries; past it the handler answers 503. */
  readonly dependencyDeadlineMs: number;
  /** Lambda timeout: the platform's own timeout, so nothing keeps running after the caller left. */
  readonly functionTimeoutSeconds: number;
  readonly memoryMb: number;
}

/**
 * How the generic webhook handler (functions/webhook/handler.ts) reads a sender's events: a webhook
 * sender whose events need no code of their own is served by it, with no folder under functions/.
 */
export interface GenericWebhookEvents {
  /** Payload fields naming the event type; the first that holds a non-empty string wins. */
  readonly typeFields: readonly string[];
  /** The header carrying the sender's delivery id, which its retries repeat: the de-duplication key. */
  readonly deliveryIdHeader?: string;
}

export interface ProviderDefinition {
  readonly id: string;
  readonly title: string;
  readonly kind: 'lookup' | 'webhook';
  /** The platform's own contract, relative to the repository's parent (`../shared/providers/`). */
  readonly doc: string;
  readonly routes: readonly RouteDefinition[];
  readonly signature: SignatureRule;
  readonly secretKeys: readonly string[];
  readonly replay?: ReplayRule;
  /** Set for a webhook sender served by the generic webhook handler; providers without it have their own `functions/<id>/`. */
  readonly genericWebhook?: GenericWebhookEvents;
  readonly budget: TimeBudget;
  /**
   * Larger bodies get 413. Webhooks take what a function URL and the HTTP API hand Lambda (6 MB): a
   * body too large for an EventBridge entry travels as a claim check (shared/events/entry.ts).
   */
  readonly maxBodyBytes: number;
  /**
   * The function's reserved concurrency: the most instances a flood can start, so it cannot take the
   * account's concurrency from other functions, and the most it can cost. At ~50 ms a request, N
   * instances answer about 20 x N requests a second. Default DEFAULT_RESERVED_CONCURRENCY;
   * `-c concurrency.<id>=N` changes it at deploy.
   */
  readonly reservedConcurrency?: number;
}

/** Reserved concurrency for a provider whose entry names none. */
export const DEFAULT_RESERVED_CONCURRENCY = 5;

export function reservedConcurrencyOf(provider: ProviderDefinition): number {
  return provider.reservedConcurrency ?? DEFAULT_RESERVED_CONCURRENCY;
}

/**
 * Time kept back from the function timeout for what no deadline covers: Lambda's own invoke overhead,
 * parsing, verifying and writing the log line.
 */
export const ANSWER_HEADROOM_MS = 500;

/**
 * How long a request may wait for Secrets Manager when nothing usable is cached (a cold container, or
 * a secret past its staleness ceiling): what the function timeout leaves once the dependency deadline
 * and the headroom are kept back. Past it the handler answers 503 with Retry-After, so the slowest
 * answer is this wait plus the dependency deadline, inside the function timeout.
 */
export function secretsDeadlineMs(budget: TimeBudget): number {
  return budget.functionTimeoutSeconds * 1000 - budget.dependencyDeadlineMs - ANSWER_HEADROOM_MS;
}

const KIB = 1024;
/** Lambda's synchronous payload limit, which a function URL and the HTTP API deliver up to. */
export const WEBHOOK_MAX_BODY_BYTES = 6 * KIB * KIB;

export const PROVIDERS = {
  buddy: {
    id: 'buddy',
    title: 'Buddy identity callback',
    kind: 'lookup',
    doc: 'shared/providers/buddy-identity-callback.txt',
    routes: [{ method: 'POST', path: '/buddy/identity', secretKey: 'signingSecret' }],
    signature: { scheme: 'hmac-sha256', header: 'X-Platform-Signature', encoding: 'hex', signs: 'body' },
    secretKeys: ['signingSecret'],
    replay: { in: 'body', field: 'timestamp', windowSeconds: 300 },
    // Buddy does not publish its timeout, only that it retries once then falls back: answer fast.
    budget: { platformTimeoutMs: 3_000, dependencyDeadlineMs: 1_500, functionTimeoutSeconds: 3, memoryMb: 512 },
    maxBodyBytes: 16 * KIB,
    reservedConcurrency: 10,
  },
  talki: {
    id: 'talki',
    title: 'Talki Backend Connect',
    kind: 'lookup',
    doc: 'shared/providers/talki-backend-connect.txt',
    routes: [{ method: 'POST', path: '/talki/customer', secretKey: 'signingSecret' }],
    signature: { scheme: 'hmac-sha256', header: 'X-Talki-Signature', encoding: 'hex', signs: 'body' },
    secretKeys: ['signingSecret'],
    budget: { platformTimeoutMs: 5_000, dependencyDeadlineMs: 3_000, functionTimeoutSeconds: 5, memoryMb: 512 },
    maxBodyBytes: 16 * KIB,
    reservedConcurrency: 10,
  },
  bullseye: {
    id: 'bullseye',
    title: 'Bullseye partner webhooks',
    kind: 'webhook',
    doc: 'shared/providers/bullseye-webhooks.txt',
    routes: [
      { method: 'POST', path: '/bullseye/identification', secretKey: 'identification', eventFamily: 'identification' },
      { method: 'POST', path: '/bullseye/billing', secretKey: 'billing', eventFamily: 'billing' },
    ],
    signature: { scheme: 'hmac-sha256', header: 'X-Bullseye-Signature', encoding: 'hex', signs: 'body' },
    secretKeys: ['identification', 'billing'],
    budget: { platformTimeoutMs: 10_000, dependencyDeadlineMs: 5_000, functionTimeoutSeconds: 10, memoryMb: 512 },
    maxBodyBytes: WEBHOOK_MAX_BODY_BYTES,
  },
  buddystat: {
    id: 'buddystat',
    title: 'BuddyStat outgoing webhooks',
    kind: 'webhook',
    doc: 'shared/providers/buddystat-webhooks.txt',
    routes: [{ method: 'POST', path: '/buddystat/events', secretKey: 'signingSecret' }],
    // The doc names no header; X-BuddyStat-Signature is our default, SIGNATURE_HEADER overrides it.
    signature: { scheme: 'hmac-sha256', header: 'X-BuddyStat-Signature', headerSetting: ENV.signatureHeader, encoding: 'hex', signs: 'body' },
    secretKeys: ['signingSecret'],
    budget: { platformTimeoutMs: 10_000, dependencyDeadlineMs: 6_000, functionTimeoutSeconds: 10, memoryMb: 512 },
    maxBodyBytes: WEBHOOK_MAX_BODY_BYTES,
  },
  helper: {
    id: 'helper',
    title: 'Helper metadata endpoint',
    kind: 'lookup',
    doc: 'shared/providers/helper-metadata-endpoint.txt',
    routes: [{ method: 'GET', path: '/helper/customer', secretKey: 'signingSecret' }],
    signature: { scheme: 'hmac-sha256', header: 'Authorization', encoding: 'base64', prefix: 'Bearer ', signs: 'query' },
    secretKeys: ['signingSecret'],
    replay: { in: 'query', field: 'timestamp', windowSeconds: 300 },
    budget: { platformTimeoutMs: 15_000, dependencyDeadlineMs: 5_000, functionTimeoutSeconds: 15, memoryMb: 512 },
    maxBodyBytes: 16 * KIB,
  },
  standardwebhooks: {
    id: 'standardwebhooks',
    title: 'Standard Webhooks sender',
    kind: 'webhook',
    doc: 'https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md',
    routes: [{ method: 'POST', path: '/standardwebhooks/events', secretKey: 'signingSecret' }],
    signature: { scheme: 'standard-webhooks', toleranceSeconds: STANDARD_WEBHOOKS_TOLERANCE_SECONDS },
    secretKeys: ['signingSecret'],
    // The spec's recommended payload is `{ type, timestamp, data }`; the sender's retries repeat webhook-id.
    genericWebhook: { typeFields: ['type'], deliveryIdHeader: STANDARD_WEBHOOKS_HEADERS.id },
    // Svix, the most common such sender, waits 15 s for an answer.
    budget: { platformTimeoutMs: 15_000, dependencyDeadlineMs: 6_000, functionTimeoutSeconds: 15, memoryMb: 512 },
    maxBodyBytes: 240 * KIB,
  },
} as const satisfies Record<string, ProviderDefinition>;

export type ProviderId = keyof typeof PROVIDERS;

/** A registry entry, whose id is one of the registry's keys. */
export type RegisteredProvider = ProviderDefinition & { readonly id: ProviderId };

export const PROVIDER_IDS = Object.keys(PROVIDERS) as ProviderId[];

/** Where a provider's signed timestamp lives and how much skew it allows: its own rule, or the one its scheme carries. */
export function replayRuleOf(provider: ProviderDefinition): ReplayRule | undefined {
  const rule = provider.signature;
  if (rule.scheme === 'standard-webhooks') return { in: 'header', field: STANDARD_WEBHOOKS_HEADERS.timestamp, windowSeconds: rule.toleranceSeconds };
  return provider.replay;
}

export function providerById(id: string): RegisteredProvider | undefined {
  return Object.prototype.hasOwnProperty.call(PROVIDERS, id) ? PROVIDERS[id as ProviderId] : undefined;
}

export type RouteMatch =
  | { readonly ok: true; readonly route: RouteDefinition }
  | { readonly ok: false; readonly status: 404 }
  | { readonly ok: false; readonly status: 405; readonly allow: readonly HttpMethod[] };

/** Whether a request path is for `routePath`: the same path, or a stage or base path and then it (route paths start with `/`). */
function isPathFor(path: string, routePath: string): boolean {
  return path === routePath || (path.startsWith('/') && path.endsWith(routePath));
}

/**
 * Finds the provider route a request is for, or says 404 / 405 with the methods allowed. A REST API
 * stage or a custom-domain base path may sit in front of the route; trailing slashes are ignored.
 */
export function matchRoute(provider: ProviderDefinition, method: string, path: string): RouteMatch {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path;
  const routes = provider.routes.filter((route) => isPathFor(trimmed, route.path));
  const route = routes.find((candidate) => candidate.method === method);
  if (route) return { ok: true, route };
  return routes.length > 0 ? { ok: false, status: 405, allow: routes.map((candidate) => candidate.method) } : { ok: false, status: 404 };
}

/** The signature header a provider's function reads: the registry's, unless the provider names a setting that overrides it. */
export function signatureHeader(provider: ProviderDefinition, env: NodeJS.ProcessEnv = process.env): string {
  const rule = provider.signature;
  if (rule.scheme === 'standard-webhooks') return STANDARD_WEBHOOKS_HEADERS.signature;
  const override = rule.headerSetting ? env[rule.headerSetting]?.trim() : undefined;
  return override ? override : rule.header;
}
