import { parseHttpEvent, type HttpRequest } from './http/request.js';
import { errorResponse, jsonResponse, unavailableResponse, type HttpResponse } from './http/response.js';
import { ENV, numberFromEnv, signingSecretIdFromEnv } from './config.js';
import { describeError, logger as defaultLogger, type Logger } from './log.js';
import { loggable } from './log-value.js';
import { matchRoute, signatureHeader, type ProviderDefinition, type RouteDefinition } from './providers.js';
import { checkTimestamp } from './signing/replay.js';
import { decodeSignatures, shapeOf, verifyDigests, type DecodedSignatures, type SignedMessage, type VerifyResult } from './signing/verify.js';
import type { CandidatesResult, SecretsCache, SecretStage } from './secrets/cache.js';

/** What a provider's logic decided: the answer, and the outcome word the request log carries. */
export interface Answer {
  readonly response: HttpResponse;
  readonly outcome: string;
  readonly eventType?: string;
  readonly dedupeKey?: string;
  readonly droppedFields?: readonly string[];
}

export type JsonBody = { readonly ok: true; readonly value: unknown } | { readonly ok: false };

/** A request whose signature verified, as the provider's logic sees it. */
export interface VerifiedRequest {
  readonly request: HttpRequest;
  readonly route: RouteDefinition;
  readonly provider: ProviderDefinition;
  /** The secret version that verified: `AWSPENDING`/`AWSPREVIOUS` show a rotation in progress. */
  readonly secretStage: SecretStage;
  /** The body parsed as JSON, once, shared by the replay check and the provider's logic. */
  json(): JsonBody;
  readonly receivedAtMs: number;
  /** The exact string or bytes that verified: the bytes as sent, or the alternative form the platform signed instead. */
  readonly signedMessage: SignedMessage;
}

/**
 * A provider's answer to a verified request. Logic that only hands on another promise (a webhook's
 * forward) returns it as is: an async wrapper around it would add a promise and two microtask ticks per call.
 */
export type ProviderLogic = (verified: VerifiedRequest) => Answer | Promise<Answer>;

export interface SignedHandlerOptions {
  readonly provider: ProviderDefinition;
  readonly secrets: SecretsCache;
  /** The Secrets Manager secret id or ARN; read until it is set, so tests and the local server can set it late. */
  readonly secretId?: () => string | undefined;
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

/** Given the request and its body parsed once, a second form of the signed message, or undefined when there is none. */
export type AlternativeMessage = (request: HttpRequest, json: () => JsonBody) => SignedMessage | undefined;

/** The bytes the platform signed, as they arrived: the body, or for query-signed providers the raw query. */
function messageAsSent(provider: ProviderDefinition, request: HttpRequest): SignedMessage {
  // Strings: HMAC reads them as UTF-8, the bytes the platform signed, without a Buffer copy each.
  return provider.signature.signs === 'body' ? request.bodyAsSent : request.rawQuery;
}

/** A proxy may re-encode the query (e.g. `@` vs `%40`); the platform signed URLSearchParams' form. */
const reserialisedQuery: AlternativeMessage = (request) => {
  const reserialised = request.query.toString();
  return reserialised === request.rawQuery ? undefined : reserialised;
};

/** `bearer ` for `Bearer`: what a value starts with, lower-cased. Schemes come from the registry, so this stays a handful. */
const schemePrefixes = new Map<string, string>();

function schemePrefix(scheme: string): string {
  let prefix = schemePrefixes.get(scheme);
  if (prefix === undefined) schemePrefixes.set(scheme, (prefix = `${scheme.trim().toLowerCase()} `));
  return prefix;
}

/** Signature values from the header, with the platform's scheme prefix (such as `Bearer `) removed. */
export function signatureValues(request: HttpRequest, header: string, scheme: string | undefined): string[] {
  const values = request.headers.all(header);
  if (!scheme) return values;
  const prefix = schemePrefix(scheme);
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    // Only the prefix is lower-cased and compared: lower-casing the whole value copies it on every request.
    if (value.slice(0, prefix.length).toLowerCase() === prefix) values[i] = value.slice(prefix.length).trim();
  }
  return values;
}

/** The body parsed as JSON at most once, shared by the replay check, a signed-messages hook and the provider's logic. */
class JsonOnce {
  private parsed: JsonBody | undefined;

  constructor(private readonly request: HttpRequest) {}

  get(): JsonBody {
    if (this.parsed) return this.parsed;
    try {
      // The event's own text when it is exactly the body's bytes: no decode of rawBody back to a string.
      this.parsed = { ok: true, value: JSON.parse(this.request.bodyText ?? this.request.rawBody.toString('utf8')) };
    } catch {
      this.parsed = { ok: false };
    }
    return this.parsed;
  }
}

/** A routed request with its signature decoded, on its way through verification: what each step of it shares. */
class SignedRequest {
  readonly body: JsonOnce;
  /** Set by verification when a form verified. */
  signedMessage: SignedMessage = '';

  constructor(
    readonly request: HttpRequest,
    readonly route: RouteDefinition,
    readonly secretId: string,
    readonly decoded: DecodedSignatures,
  ) {
    this.body = new JsonOnce(request);
  }
}

/** The logic's view of a verified request; a class, so `json` is a shared method rather than a closure made per request. */
class Verified implements VerifiedRequest {
  readonly request: HttpRequest;
  readonly route: RouteDefinition;
  readonly signedMessage: SignedMessage;
  private readonly body: JsonOnce;

  constructor(
    signed: SignedRequest,
    readonly provider: ProviderDefinition,
    readonly secretStage: SecretStage,
    readonly receivedAtMs: number,
  ) {
    this.request = signed.request;
    this.route = signed.route;
    this.body = signed.body;
    this.signedMessage = signed.signedMessage;
  }

  json(): JsonBody {
    return this.body.get();
  }
}

/** What the request log can say about a request, filled in as handling gets that far (also when it then throws). */
interface Seen {
  request: HttpRequest | undefined;
  route: RouteDefinition | undefined;
}

const VERIFY_FAILURE_MESSAGE: Record<string, string> = {
  missing: 'Missing signature',
  malformed: 'Malformed signature',
  mismatch: 'Invalid signature',
};

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
  const readSecretId = options.secretId ?? (() => signingSecretIdFromEnv(provider.id, env));
  // A function's environment is fixed for its life: read once found (process.env reads are slow), retried while unset.
  let knownSecretId: string | undefined;
  const secretId = () => (knownSecretId ??= readSecretId());
  const header = signatureHeader(provider, env);
  const replayWindowSeconds = provider.replay ? numberFromEnv(env, ENV.replayWindowSeconds, provider.replay.windowSeconds) : 0;
  const alternativeMessage = options.alternativeSignedMessage ?? (provider.signature.signs === 'query' ? reserialisedQuery : undefined);
  /**
   * The bytes as sent, then the alternative form only after a mismatch: a warm valid request makes
   * no generator and no closure for a fallback it never needs.
   */
  const verify = (signed: SignedRequest, candidates: CandidatesResult): VerifyResult | undefined => {
    if (!candidates.ok) return undefined;
    const { request, decoded } = signed;
    const sent = messageAsSent(provider, request);
    const asSent = verifyDigests({ messages: [sent], decoded, secrets: candidates.secrets });
    if (asSent.ok) signed.signedMessage = sent;
    if (asSent.ok || asSent.reason !== 'mismatch' || !alternativeMessage) return asSent;
    const alternative = alternativeMessage(request, () => signed.body.get());
    if (alternative === undefined) return asSent;
    const viaAlternative = verifyDigests({ messages: [alternative], decoded, secrets: candidates.secrets });
    if (!viaAlternative.ok) return viaAlternative;
    signed.signedMessage = alternative;
    // Numbered as the second candidate message, after the bytes as sent.
    return { ...viaAlternative, messageIndex: 1 };
  };

  /**
   * Parsing, routing and the signature's shape, then verification. Not an async function: a warm
   * request (secrets cached, signature matching) goes from here to the logic without an await of
   * its own, and each async layer on the way costs a promise and a tick on every invocation.
   */
  const handle = (event: unknown, seen: Seen): Answer | Promise<Answer> => {
    const parsed = parseHttpEvent(event, provider.maxBodyBytes);
    if (!parsed.ok) {
      return parsed.failure.reason === 'body_too_large'
        ? { outcome: 'body_too_large', response: errorResponse(413, `Body exceeds ${parsed.failure.limitBytes} bytes`) }
        : { outcome: 'malformed_event', response: errorResponse(400, 'Unrecognised request') };
    }
    const request = (seen.request = parsed.request);
    const match = matchRoute(provider, request.method, request.path);
    if (!match.ok) {
      return match.status === 404
        ? { outcome: 'unknown_route', response: errorResponse(404, 'Not found') }
        : { outcome: 'method_not_allowed', response: errorResponse(405, 'Method not allowed', { allow: match.allow.join(', ') }) };
    }
    const route = (seen.route = match.route);
    const id = secretId();
    if (!id) {
      return { outcome: 'secret_not_configured', response: unavailableResponse('Signing secret not configured', 30) };
    }

    // Decoded once: the shape check here and the verification below share the digests.
    const decoded = decodeSignatures(signatureValues(request, header, provider.signature.scheme), provider.signature.encoding);
    const shape = shapeOf(decoded);
    if (shape !== 'ok') {
      return { outcome: `bad_signature_${shape}`, response: errorResponse(401, VERIFY_FAILURE_MESSAGE[shape]!) };
    }
    const signed = new SignedRequest(request, route, id, decoded);
    // Warm cache: the candidates as a value, so the common path verifies without awaiting.
    const cached = secrets.cachedCandidates(id, route.secretKey);
    if (cached) return verifyThenAdmit(signed, cached);
    return secrets.candidates(id, route.secretKey).then((candidates) => verifyThenAdmit(signed, candidates));
  };

  const verifyThenAdmit = (signed: SignedRequest, candidates: CandidatesResult): Answer | Promise<Answer> => {
    const result = verify(signed, candidates);
    // A secret still holding its placeholder is refreshed like a mismatch: a value just pasted in the console works within the interval, not the TTL.
    const worthRefreshing = result && !result.ok && (result.reason === 'mismatch' || result.reason === 'no_secret');
    return worthRefreshing ? refreshThenAdmit(signed, candidates, result) : admit(signed, candidates, result);
  };

  /** A mismatch may be a secret rotated in the console since the cache filled: refresh (rate-limited) and verify once more. */
  const refreshThenAdmit = async (signed: SignedRequest, candidates: CandidatesResult, result: VerifyResult): Promise<Answer> => {
    if (!(await secrets.refreshAfterMismatch(signed.secretId))) return admit(signed, candidates, result);
    const refreshed = await secrets.candidates(signed.secretId, signed.route.secretKey);
    return admit(signed, refreshed, verify(signed, refreshed));
  };

  /** The verification's verdict, then the replay window, then the provider's logic. */
  const admit = (signed: SignedRequest, candidates: CandidatesResult, result: VerifyResult | undefined): Answer | Promise<Answer> => {
    if (!result || !candidates.ok) {
      return { outcome: 'secrets_unavailable', response: unavailableResponse('Signing secret temporarily unavailable', 5) };
    }
    if (!result.ok) {
      if (result.reason === 'no_secret') {
        return { outcome: 'secret_not_configured', response: unavailableResponse('Signing secret not configured', 30) };
      }
      return { outcome: `bad_signature_${result.reason}`, response: errorResponse(401, VERIFY_FAILURE_MESSAGE[result.reason] ?? 'Invalid signature') };
    }

    const receivedAtMs = now();
    if (provider.replay) {
      const rule = provider.replay;
      let value: unknown;
      if (rule.in === 'query') value = signed.request.query.get(rule.field) ?? undefined;
      else {
        const json = signed.body.get();
        if (!json.ok) return { outcome: 'invalid_json', response: errorResponse(400, 'Body is not valid JSON') };
        value = typeof json.value === 'object' && json.value !== null ? (json.value as Record<string, unknown>)[rule.field] : undefined;
      }
      const fresh = checkTimestamp(value, receivedAtMs, replayWindowSeconds);
      if (!fresh.ok) return { outcome: fresh.reason, response: errorResponse(401, 'Timestamp missing or outside the allowed window') };
    }

    const stage = candidates.stages[result.secretIndex] ?? 'AWSCURRENT';
    return logic(new Verified(signed, provider, stage, receivedAtMs));
  };

  return async (event: unknown): Promise<HttpResponse> => {
    const started = performance.now();
    const seen: Seen = { request: undefined, route: undefined };
    let outcome: Answer;
    try {
      outcome = await handle(event, seen);
    } catch (error) {
      log.error({ message: 'unhandled error in handler', provider: provider.id, outcome: 'internal_error', ...describeError(error) });
      outcome = { outcome: 'internal_error', response: errorResponse(500, 'Internal error') };
    }
    const status = outcome.response.statusCode;
    log.request(status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info', {
      provider: provider.id,
      // An unmatched path and the method are the caller's: bounded like any request value.
      route: seen.route?.path ?? loggable(seen.request?.path),
      method: seen.route ? seen.request?.method : loggable(seen.request?.method),
      format: seen.request?.format,
      outcome: outcome.outcome,
      status,
      latencyMs: Math.round((performance.now() - started) * 100) / 100,
      requestId: seen.request?.requestId,
      eventType: outcome.eventType,
      dedupeKey: outcome.dedupeKey,
      droppedFields: outcome.droppedFields,
    });
    return outcome.response;
  };
}

export { jsonResponse, errorResponse, unavailableResponse };
