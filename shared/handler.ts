import { ENV, numberFromEnv, signingSecretIdFromEnv } from './config.js';
import { parseHttpEvent, type HttpRequest, type ParseFailure } from './http/request.js';
import { errorResponse, jsonResponse, unavailableResponse, type HttpResponse } from './http/response.js';
import { loggable } from './log-value.js';
import { describeError, logger as defaultLogger, type Logger } from './log.js';
import {
  matchRoute,
  replayRuleOf,
  secretsDeadlineMs,
  signatureHeader,
  type ProviderDefinition,
  type ReplayRule,
  type RouteDefinition,
  type RouteMatch,
} from './providers.js';
import type { CandidatesResult, SecretsCache } from './secrets/cache.js';
import { checkTimestamp, type TimestampCheck } from './signing/replay.js';
import { signedParts, signingKey, type SignedParts } from './signing/schemes.js';
import { matchDigests, type SignedMessage, type VerifyFailureReason } from './signing/verify.js';

/** What a provider's logic decided: the answer, and the outcome word the request log carries. */
export interface Answer {
  readonly response: HttpResponse;
  readonly outcome: string;
  readonly eventType?: string;
  readonly dedupeKey?: string;
  readonly droppedFields?: readonly string[];
}

/** A request whose signature verified, as the provider's logic sees it. */
export interface VerifiedRequest {
  readonly request: HttpRequest;
  readonly route: RouteDefinition;
  readonly provider: ProviderDefinition;
  /** The body parsed as JSON, for providers that sign a body; undefined for those that sign the query. */
  readonly json: unknown;
  /** The exact message that verified: the body or query as sent, or the platform's alternative form of it. */
  readonly signedMessage: SignedMessage;
  readonly receivedAtMs: number;
}

export type ProviderLogic = (verified: VerifiedRequest) => Promise<Answer>;

/** Given the request, a second form of the signed message, or undefined when there is none. It must never throw. */
export type AlternativeMessage = (request: HttpRequest) => SignedMessage | undefined;

export interface SignedHandlerOptions {
  readonly provider: ProviderDefinition;
  readonly secrets: SecretsCache;
  /**
   * What the platform may have signed instead of the bytes as sent, tried only when those did not
   * verify (BuddyStat: the body re-serialised). Default: for query-signed providers, the query as
   * URLSearchParams writes it; none for a body.
   */
  readonly alternativeSignedMessage?: AlternativeMessage;
  readonly now?: () => number;
  readonly logger?: Logger;
  readonly env?: NodeJS.ProcessEnv;
}

export type LambdaHttpHandler = (event: unknown) => Promise<HttpResponse>;

type Verification =
  | { readonly ok: true; readonly message: SignedMessage }
  | { readonly ok: false; readonly reason: VerifyFailureReason }
  | Extract<CandidatesResult, { ok: false }>;

type TimestampFailure = Extract<TimestampCheck, { ok: false }>['reason'];

type Parsed = { readonly ok: true; readonly value: unknown } | { readonly ok: false };

/** A proxy may re-encode the query (e.g. `@` vs `%40`); the platform signed URLSearchParams' form. */
const reserialisedQuery: AlternativeMessage = (request) => {
  const reserialised = request.query.toString();
  return reserialised === request.rawQuery ? undefined : reserialised;
};

function parseJson(body: Buffer): Parsed {
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

/** The signed timestamp a replay rule points at: in the query, a header or the parsed body. */
function signedTimestamp(rule: ReplayRule, request: HttpRequest, json: unknown): unknown {
  if (rule.in === 'query') return request.query.get(rule.field) ?? undefined;
  if (rule.in === 'header') return request.headers.single(rule.field);
  return typeof json === 'object' && json !== null ? (json as Record<string, unknown>)[rule.field] : undefined;
}

const SIGNATURE_FAILURE_MESSAGE: Record<'missing' | 'malformed' | 'mismatch', string> = {
  missing: 'Missing signature',
  malformed: 'Malformed signature',
  mismatch: 'Invalid signature',
};

/** The answer to a request that got no further than `reason`: every refusal the pipeline makes, in one place. */
type Refusal = VerifyFailureReason | 'secret_misconfigured' | 'secret_not_configured' | 'invalid_json' | 'malformed_timestamp_header' | TimestampFailure;

function refusal(reason: Refusal): Answer {
  switch (reason) {
    case 'malformed_timestamp_header':
      // A Standard Webhooks timestamp is read before the signature: one that is not a number is a bad request.
      return { outcome: 'malformed_timestamp', response: errorResponse(400, 'Malformed webhook-timestamp header') };
    case 'missing':
    case 'malformed':
    case 'mismatch':
      return { outcome: `bad_signature_${reason}`, response: errorResponse(401, SIGNATURE_FAILURE_MESSAGE[reason]) };
    case 'no_secret':
    case 'secret_not_configured':
      return { outcome: 'secret_not_configured', response: unavailableResponse('Signing secret not configured', 30) };
    case 'secret_misconfigured':
      // The value stored is one the platform cannot be signing with (the log names the key and the problem).
      return { outcome: 'secret_misconfigured', response: unavailableResponse('Signing secret misconfigured', 30) };
    case 'invalid_json':
      return { outcome: 'invalid_json', response: errorResponse(400, 'Body is not valid JSON') };
    case 'missing_timestamp':
    case 'malformed_timestamp':
    case 'stale_timestamp':
      return { outcome: reason, response: errorResponse(401, 'Timestamp missing or outside the allowed window') };
  }
}

/** Secrets Manager did not answer in time, or failed: Retry-After says when this container asks it again. */
function secretsUnavailable(retryAfterSeconds: number): Answer {
  return { outcome: 'secrets_unavailable', response: unavailableResponse('Signing secret temporarily unavailable', retryAfterSeconds) };
}

function unreadableEvent(failure: ParseFailure): Answer {
  return failure.reason === 'body_too_large'
    ? { outcome: 'body_too_large', response: errorResponse(413, `Body exceeds ${failure.limitBytes} bytes`) }
    : { outcome: 'malformed_event', response: errorResponse(400, 'Unrecognised request') };
}

function noRoute(match: Exclude<RouteMatch, { ok: true }>): Answer {
  return match.status === 404
    ? { outcome: 'unknown_route', response: errorResponse(404, 'Not found') }
    : { outcome: 'method_not_allowed', response: errorResponse(405, 'Method not allowed', { allow: match.allow.join(', ') }) };
}

/**
 * Composes what every provider shares around its own logic: event parsing, routing, body limit,
 * signature verification with rotation-aware secrets, the replay window, error mapping and one
 * structured log line per request. The returned handler never throws.
 */
export function signedHandler(options: SignedHandlerOptions, logic: ProviderLogic): LambdaHttpHandler {
  const { provider, secrets } = options;
  const env = options.env ?? process.env;
  const now = options.now ?? Date.now;
  const log = options.logger ?? defaultLogger;
  // Read once, like the other settings: a function's environment is fixed for its container's life.
  const secretId = signingSecretIdFromEnv(provider.id, env);
  const rule = provider.signature;
  const header = signatureHeader(provider, env);
  const replay = replayRuleOf(provider);
  const replayWindowSeconds = replay ? numberFromEnv(env, ENV.replayWindowSeconds, replay.windowSeconds) : 0;
  const alternativeMessage = options.alternativeSignedMessage ?? (rule.scheme === 'hmac-sha256' && rule.signs === 'query' ? reserialisedQuery : undefined);
  // A request waits for Secrets Manager only when nothing usable is cached, and then only this long.
  const secretsOptions = { keys: provider.secretKeys, waitMs: secretsDeadlineMs(provider.budget) };

  /** The bytes as sent, then the platform's alternative form of them after a mismatch. */
  function verify(request: HttpRequest, parts: Extract<SignedParts, { ok: true }>, candidates: CandidatesResult): Verification {
    if (!candidates.ok) return candidates;
    const secrets = candidates.secrets.map((secret) => signingKey(rule, secret));
    const { digests, message } = parts;
    const result = matchDigests(message, digests, secrets);
    if (result.ok) return { ok: true, message };
    const alternative = result.reason === 'mismatch' ? alternativeMessage?.(request) : undefined;
    if (alternative === undefined) return result;
    const viaAlternative = matchDigests(alternative, digests, secrets);
    return viaAlternative.ok ? { ok: true, message: alternative } : viaAlternative;
  }

  /**
   * Verifies with the cached secret versions. A mismatch (or a key still holding its placeholder) may
   * be a secret changed in the console since the cache filled: refresh, rate-limited, and verify once more.
   */
  async function verifyWithRefresh(request: HttpRequest, route: RouteDefinition, secretId: string, parts: Extract<SignedParts, { ok: true }>): Promise<Verification> {
    const first = verify(request, parts, await secrets.candidates(secretId, route.secretKey, secretsOptions));
    const worthRefreshing = !first.ok && (first.reason === 'mismatch' || first.reason === 'no_secret');
    if (!worthRefreshing || !(await secrets.refreshAfterMismatch(secretId, secretsOptions))) return first;
    return verify(request, parts, await secrets.candidates(secretId, route.secretKey, secretsOptions));
  }

  /** Signature, secrets, body, replay window, then the provider's logic: each step answers a bad input itself. */
  async function answer(request: HttpRequest, route: RouteDefinition): Promise<Answer> {
    if (!secretId) return refusal('secret_not_configured');
    const parts = signedParts(rule, request, header);
    if (!parts.ok) return refusal(parts.reason);

    const verified = await verifyWithRefresh(request, route, secretId, parts);
    if (!verified.ok) return verified.reason === 'secrets_unavailable' ? secretsUnavailable(verified.retryAfterSeconds) : refusal(verified.reason);

    const signsQuery = rule.scheme === 'hmac-sha256' && rule.signs === 'query';
    const json = signsQuery ? { ok: true as const, value: undefined } : parseJson(request.rawBody);
    if (!json.ok) return refusal('invalid_json');

    const receivedAtMs = now();
    if (replay) {
      const fresh = checkTimestamp(signedTimestamp(replay, request, json.value), receivedAtMs, replayWindowSeconds);
      if (!fresh.ok) return refusal(fresh.reason);
    }
    return logic({ request, route, provider, json: json.value, signedMessage: verified.message, receivedAtMs });
  }

  async function answerOrInternalError(request: HttpRequest, route: RouteDefinition): Promise<Answer> {
    try {
      return await answer(request, route);
    } catch (error) {
      log.error({ message: 'unhandled error in handler', provider: provider.id, outcome: 'internal_error', ...describeError(error) });
      return { outcome: 'internal_error', response: errorResponse(500, 'Internal error') };
    }
  }

  /** One log line per request, with what handling learned about it. */
  function respond(started: number, answered: Answer, request?: HttpRequest, route?: RouteDefinition): HttpResponse {
    const status = answered.response.statusCode;
    log.log(status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info', {
      provider: provider.id,
      // An unmatched path and the method are the caller's: bounded like any request value.
      route: route?.path ?? loggable(request?.path),
      method: route ? request?.method : loggable(request?.method),
      format: request?.format,
      outcome: answered.outcome,
      status,
      latencyMs: Math.round((performance.now() - started) * 100) / 100,
      requestId: request?.requestId,
      eventType: answered.eventType,
      dedupeKey: answered.dedupeKey,
      droppedFields: answered.droppedFields,
    });
    return answered.response;
  }

  return async (event: unknown): Promise<HttpResponse> => {
    const started = performance.now();
    const parsed = parseHttpEvent(event, provider.maxBodyBytes);
    if (!parsed.ok) return respond(started, unreadableEvent(parsed.failure));
    const { request } = parsed;
    const match = matchRoute(provider, request.method, request.path);
    if (!match.ok) return respond(started, noRoute(match), request);
    return respond(started, await answerOrInternalError(request, match.route), request, match.route);
  };
}

export { jsonResponse, errorResponse, unavailableResponse };
