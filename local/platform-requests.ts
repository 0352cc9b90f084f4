import { BUDDYSTAT_EVENTS } from '../functions/buddystat/contract.js';
import { PROVIDERS, type HttpMethod, type ProviderDefinition, type ProviderId, type RouteDefinition } from '../shared/providers.js';
import { readSecretKey } from '../shared/secrets/cache.js';
import { STANDARD_WEBHOOKS_HEADERS, signStandardWebhook } from '../shared/signing/standard-webhooks.js';
import { sign } from '../shared/signing/verify.js';

/**
 * How each platform builds and signs its request, from its doc (../shared/providers/*.txt) and the
 * registry: the same bytes, headers and signature the platform sends. Used by `npm run send`, the
 * signed curl commands `npm start` prints, and the tests.
 */
export interface PlatformRequest {
  readonly provider: ProviderId;
  readonly method: HttpMethod;
  /** The registry route the request is for, e.g. `/bullseye/billing`. */
  readonly path: string;
  /** The query string without `?`, exactly as the platform writes it (Helper only). */
  readonly query?: string;
  /** Header names and values in the order the platform sends them. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** The body bytes as the platform sends them (and signs them). */
  readonly body?: string;
}

export interface PlatformRequestOptions {
  /** The signing secret for the route (see `signingSecretFor` to take it from a stored secret value). */
  readonly secret: string;
  /** The platform's clock, in ms; a past value makes a stale timestamp. */
  readonly now?: number;
  /** Bullseye: `identification` | `billing` (picks the route); BuddyStat: the event, e.g. `goal.converted`. */
  readonly eventType?: string;
  /** Helper's `email`, and the email in the Bullseye identification example. */
  readonly email?: string;
  /** Buddy's `sessionId`. */
  readonly sessionId?: string;
  readonly agentId?: string;
  /** Talki's visitor id (identity.userId in the widget). */
  readonly userToken?: string;
  /** Talki's "User token field" as set in its console (default `userToken`). */
  readonly tokenField?: string;
  /** Marks a webhook as a "Send Test Webhook" delivery. */
  readonly test?: boolean;
  /** Overrides the registry's signature header (BuddyStat's is configurable with SIGNATURE_HEADER). */
  readonly signatureHeader?: string;
  /** A Standard Webhooks sender's message id (`webhook-id`), which its retries repeat. */
  readonly messageId?: string;
}

/** Values that resolve against the committed local/customers.json. */
export const SAMPLE_IDS = {
  email: 'ada@example.com',
  sessionId: 'sess_demo_1',
  userToken: 'usr_ada',
  agentId: 'agt_demo',
} as const;

/** The event types `--event` accepts for a provider; empty for lookups. */
export function eventTypesFor(provider: ProviderId): readonly string[] {
  if (provider === 'buddystat') return BUDDYSTAT_EVENTS;
  const routes: readonly RouteDefinition[] = PROVIDERS[provider].routes;
  return routes.flatMap((r) => (r.eventFamily ? [r.eventFamily] : []));
}

export function defaultEventType(provider: ProviderId): string | undefined {
  if (provider === 'buddystat') return 'goal.converted';
  return eventTypesFor(provider)[0];
}

/** The route a request goes to: for Bullseye, the one whose event family is the event type. */
export function routeFor(provider: ProviderId, eventType?: string): RouteDefinition {
  const routes: readonly RouteDefinition[] = PROVIDERS[provider].routes;
  const families = routes.filter((r) => r.eventFamily !== undefined);
  if (families.length === 0) return routes[0]!;
  const wanted = eventType ?? families[0]!.eventFamily;
  const route = families.find((r) => r.eventFamily === wanted);
  if (!route) throw new RangeError(`${provider} has no route for event "${wanted}"; one of: ${families.map((r) => r.eventFamily).join(', ')}`);
  return route;
}

/**
 * The signing secret for a route out of a stored secret value (what Secrets Manager holds: a JSON
 * object of named keys, or a plain string), read the way the handlers read it.
 */
export function signingSecretFor(secretValue: string, route: RouteDefinition): string | undefined {
  const read = readSecretKey(secretValue, route.secretKey);
  return read.kind === 'secret' ? read.value : undefined;
}

const seconds = (ms: number) => Math.floor(ms / 1000);

/**
 * Example webhook payloads. The Bullseye doc shows no payload fields and BuddyStat's shows only the
 * event names, so these fields are illustrative, not the platforms' schemas.
 */
function bullseyeExample(family: string, nowMs: number, options: PlatformRequestOptions): Record<string, unknown> {
  const [type, data] =
    family === 'billing'
      ? ['invoice.paid', { invoiceId: 'in_demo_1', customerId: 'cus_demo_1', amount: 14900, currency: 'usd', plan: 'pro' }]
      : ['visitor.identified', { visitorId: 'vis_demo_1', email: options.email ?? SAMPLE_IDS.email, company: { name: 'Analytical Engines Ltd', domain: 'example.com' } }];
  return {
    id: `evt_${nowMs.toString(36)}`,
    type,
    createdAt: new Date(nowMs).toISOString(),
    organizationId: 'org_demo',
    data,
    ...(options.test ? { test: true } : {}),
  };
}

/** A Standard Webhooks payload in the spec's recommended `{ type, timestamp, data }` form. */
function standardWebhookExample(type: string, nowMs: number): Record<string, unknown> {
  return { type, timestamp: new Date(nowMs).toISOString(), data: { invoiceId: 'in_demo_1', customerId: 'cus_demo_1', amount: 14900, currency: 'usd' } };
}

function buddyStatExample(event: string, nowMs: number, options: PlatformRequestOptions): Record<string, unknown> {
  const data: Record<string, Record<string, unknown>> = {
    'session.created': { sessionId: 'bs_sess_demo_1', visitorId: 'vis_demo_1', landingPage: '/pricing', referrer: 'https://www.example.org/' },
    'goal.converted': { goalId: 'goal_signup', goalName: 'Signed up', visitorId: 'vis_demo_1', value: 49, currency: 'USD' },
    'alert.triggered': { alertId: 'alert_demo_1', metric: 'bounce_rate', threshold: 0.6, value: 0.72 },
    'event.tracked': { name: 'Clicked upgrade', visitorId: 'vis_demo_1', properties: { plan: 'pro' } },
  };
  return {
    event,
    siteId: 'site_demo',
    timestamp: new Date(nowMs).toISOString(),
    data: data[event] ?? { note: 'an event type outside the four the doc lists' },
    ...(options.test ? { test: true } : {}),
  };
}

interface Unsigned {
  readonly route: RouteDefinition;
  readonly query?: string;
  readonly body?: string;
}

/** What each platform sends, before signing: straight from its doc. */
function unsignedRequest(provider: ProviderId, options: PlatformRequestOptions, nowMs: number): Unsigned {
  switch (provider) {
    case 'buddy':
      // { sessionId, agentId, timestamp } with the timestamp in seconds, in the doc's order.
      return {
        route: routeFor(provider),
        body: JSON.stringify({
          sessionId: options.sessionId ?? SAMPLE_IDS.sessionId,
          agentId: options.agentId ?? SAMPLE_IDS.agentId,
          timestamp: seconds(nowMs),
        }),
      };
    case 'talki':
      return { route: routeFor(provider), body: JSON.stringify({ [options.tokenField ?? 'userToken']: options.userToken ?? SAMPLE_IDS.userToken }) };
    case 'bullseye': {
      const route = routeFor(provider, options.eventType);
      return { route, body: JSON.stringify(bullseyeExample(route.eventFamily ?? 'identification', nowMs, options)) };
    }
    case 'buddystat':
      // The doc's verifier hashes JSON.stringify(payload): the body is exactly that string.
      return { route: routeFor(provider), body: JSON.stringify(buddyStatExample(options.eventType ?? 'goal.converted', nowMs, options)) };
    case 'helper':
      // Helper signs `new URLSearchParams({ email, timestamp }).toString()` and sends that query.
      return { route: routeFor(provider), query: new URLSearchParams({ email: options.email ?? SAMPLE_IDS.email, timestamp: String(seconds(nowMs)) }).toString() };
    default:
      // A webhook sender configured in the registry alone (Standard Webhooks): the spec's recommended payload.
      return { route: routeFor(provider), body: JSON.stringify(standardWebhookExample(options.eventType ?? 'invoice.paid', nowMs)) };
  }
}

/** The headers that carry the signature, signed over what the platform signs. */
function signatureHeaders(definition: ProviderDefinition, unsigned: Unsigned, options: PlatformRequestOptions, nowMs: number): [string, string][] {
  const rule = definition.signature;
  if (rule.scheme === 'standard-webhooks') {
    const id = options.messageId ?? `msg_${nowMs.toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    const timestamp = String(seconds(nowMs));
    return [
      [STANDARD_WEBHOOKS_HEADERS.id, id],
      [STANDARD_WEBHOOKS_HEADERS.timestamp, timestamp],
      [STANDARD_WEBHOOKS_HEADERS.signature, signStandardWebhook(options.secret, id, timestamp, unsigned.body ?? '')],
    ];
  }
  const signed = rule.signs === 'query' ? (unsigned.query ?? '') : (unsigned.body ?? '');
  return [[options.signatureHeader ?? rule.header, `${rule.prefix ?? ''}${sign(options.secret, signed, rule.encoding)}`]];
}

/** A secret that is not `secret`, to sign a request that must not verify: for a `whsec_` secret another key, since base64 decoding would ignore a suffix. */
export function anotherSecret(secret: string): string {
  return secret.startsWith('whsec_') ? `whsec_${Buffer.from(`wrong-${secret}`).toString('base64')}` : `${secret}-wrong`;
}

/** Builds and signs a request exactly as the platform would. */
export function buildPlatformRequest(provider: ProviderId, options: PlatformRequestOptions): PlatformRequest {
  const definition: ProviderDefinition = PROVIDERS[provider];
  const nowMs = options.now ?? Date.now();
  const unsigned = unsignedRequest(provider, options, nowMs);
  // Every platform here sends JSON's content type; Helper sends it on its GET too.
  const headers: [string, string][] = [['Content-Type', 'application/json'], ...signatureHeaders(definition, unsigned, options, nowMs)];
  return {
    provider,
    method: unsigned.route.method,
    path: unsigned.route.path,
    headers,
    ...(unsigned.query !== undefined ? { query: unsigned.query } : {}),
    ...(unsigned.body !== undefined ? { body: unsigned.body } : {}),
  };
}

/**
 * The URL a request goes to under a base URL (the local server, or a deployed function URL). A base
 * that already ends with the route path (a URL copied from the stack outputs) is used as it is.
 */
export function requestUrl(baseUrl: string, request: PlatformRequest): string {
  const url = new URL(baseUrl);
  const basePath = url.pathname.replace(/\/+$/, '');
  const path = basePath.endsWith(request.path) ? basePath : `${basePath}${request.path}`;
  // Built by hand, not with URL.search: the query must reach the server byte for byte as signed.
  return `${url.origin}${path}${request.query !== undefined ? `?${request.query}` : ''}`;
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A ready-to-paste curl command that sends the request byte for byte. */
export function toCurl(baseUrl: string, request: PlatformRequest): string {
  const parts = ['curl', '-i', '-X', request.method, shellQuote(requestUrl(baseUrl, request))];
  for (const [name, value] of request.headers) parts.push('-H', shellQuote(`${name}: ${value}`));
  if (request.body !== undefined) parts.push('--data-raw', shellQuote(request.body));
  return parts.join(' ');
}

export interface PlatformResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  readonly body: string;
  /** From sending the request to having read the whole response. */
  readonly latencyMs: number;
}

/** Sends a request over real HTTP, giving up after `timeoutMs` as the platform would. */
export async function sendPlatformRequest(
  baseUrl: string,
  request: PlatformRequest,
  options: { readonly timeoutMs?: number } = {},
): Promise<PlatformResponse> {
  const started = performance.now();
  const response = await fetch(requestUrl(baseUrl, request), {
    method: request.method,
    headers: request.headers.map(([name, value]) => [name, value] as [string, string]),
    ...(request.body !== undefined ? { body: request.body } : {}),
    ...(options.timeoutMs !== undefined ? { signal: AbortSignal.timeout(options.timeoutMs) } : {}),
  });
  const body = await response.text();
  return { status: response.status, statusText: response.statusText, headers: response.headers, body, latencyMs: performance.now() - started };
}
