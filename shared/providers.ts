import type { SignatureEncoding } from './signing/verify.js';

/**
 * The provider registry: each platform declared once. Handlers, the CDK stack, the local server,
 * the send/verify tools and the benchmarks all read this, so adding a provider is one entry here
 * and one folder under functions/.
 */
export type ProviderId = 'buddy' | 'talki' | 'bullseye' | 'buddystat' | 'helper';

export type HttpMethod = 'GET' | 'POST';

export interface RouteDefinition {
  readonly method: HttpMethod;
  readonly path: string;
  /** The key of the provider's secret that signs requests on this route. */
  readonly secretKey: string;
  /** For webhook routes: the event family this route receives (Bullseye has one per route). */
  readonly eventFamily?: string;
}

export interface SignatureRule {
  /** Header that carries the signature; for BuddyStat, overridable by environment (see `signatureHeader`). */
  readonly header: string;
  readonly encoding: SignatureEncoding;
  /** A prefix the platform puts before the signature value, such as `Bearer `. */
  readonly scheme?: string;
  /** What the platform signs: the raw body bytes, or the query string. */
  readonly signs: 'body' | 'query';
}

export interface ReplayRule {
  /** Where the signed timestamp lives. */
  readonly in: 'body' | 'query';
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

export interface ProviderDefinition {
  readonly id: ProviderId;
  readonly title: string;
  readonly kind: 'lookup' | 'webhook';
  /** The platform's own contract, relative to the repository's parent (`../shared/providers/`). */
  readonly doc: string;
  readonly routes: readonly RouteDefinition[];
  readonly signature: SignatureRule;
  readonly secretKeys: readonly string[];
  readonly replay?: ReplayRule;
  readonly budget: TimeBudget;
  /**
   * Larger bodies get 413. Webhooks take what a function URL and the HTTP API hand Lambda (6 MB): a
   * body too large for an EventBridge entry travels as a claim check (shared/events/entry.ts).
   */
  readonly maxBodyBytes: number;
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
    signature: { header: 'X-Platform-Signature', encoding: 'hex', signs: 'body' },
    secretKeys: ['signingSecret'],
    replay: { in: 'body', field: 'timestamp', windowSeconds: 300 },
    // Buddy does not publish its timeout, only that it retries once then falls back: answer fast.
    budget: { platformTimeoutMs: 3_000, dependencyDeadlineMs: 1_500, functionTimeoutSeconds: 3, memoryMb: 512 },
    maxBodyBytes: 16 * KIB,
  },
  talki: {
    id: 'talki',
    title: 'Talki Backend Connect',
    kind: 'lookup',
    doc: 'shared/providers/talki-backend-connect.txt',
    routes: [{ method: 'POST', path: '/talki/customer', secretKey: 'signingSecret' }],
    signature: { header: 'X-Talki-Signature', encoding: 'hex', signs: 'body' },
    secretKeys: ['signingSecret'],
    budget: { platformTimeoutMs: 5_000, dependencyDeadlineMs: 3_000, functionTimeoutSeconds: 5, memoryMb: 512 },
    maxBodyBytes: 16 * KIB,
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
    signature: { header: 'X-Bullseye-Signature', encoding: 'hex', signs: 'body' },
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
    signature: { header: 'X-BuddyStat-Signature', encoding: 'hex', signs: 'body' },
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
    signature: { header: 'Authorization', encoding: 'base64', scheme: 'Bearer ', signs: 'query' },
    secretKeys: ['signingSecret'],
    replay: { in: 'query', field: 'timestamp', windowSeconds: 300 },
    budget: { platformTimeoutMs: 15_000, dependencyDeadlineMs: 5_000, functionTimeoutSeconds: 15, memoryMb: 512 },
    maxBodyBytes: 16 * KIB,
  },
} as const satisfies Record<ProviderId, ProviderDefinition>;

export const PROVIDER_IDS = Object.keys(PROVIDERS) as ProviderId[];

export function providerById(id: string): ProviderDefinition | undefined {
  return Object.prototype.hasOwnProperty.call(PROVIDERS, id) ? PROVIDERS[id as ProviderId] : undefined;
}

export type RouteMatch =
  | { readonly ok: true; readonly route: RouteDefinition }
  | { readonly ok: false; readonly status: 404 }
  | { readonly ok: false; readonly status: 405; readonly allow: readonly HttpMethod[] };

/** The path without its trailing slashes (a lone `/` stays as it is). */
function withoutTrailingSlashes(path: string): string {
  if (path.length <= 1) return path;
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 0x2f) end--;
  return end === path.length ? path : path.slice(0, end);
}

/**
 * Finds the provider route a request is for, or says 404 / 405 with the methods allowed. A REST API
 * stage or a custom-domain base path may sit in front of the route, so the path only has to end with it.
 * One pass over the routes, the path trimmed once: this runs on every request.
 */
export function matchRoute(provider: ProviderDefinition, method: string, path: string): RouteMatch {
  const trimmed = withoutTrailingSlashes(path);
  let allow: HttpMethod[] | undefined;
  for (const route of provider.routes) {
    if (trimmed !== route.path && !trimmed.endsWith(route.path)) continue;
    if (route.method === method) return { ok: true, route };
    (allow ??= []).push(route.method);
  }
  return allow ? { ok: false, status: 405, allow } : { ok: false, status: 404 };
}

/** The signature header a provider's function reads: the registry's, unless SIGNATURE_HEADER overrides it. */
export function signatureHeader(provider: ProviderDefinition, env: NodeJS.ProcessEnv = process.env): string {
  const override = env.SIGNATURE_HEADER?.trim();
  return override && override.length > 0 ? override : provider.signature.header;
}
