import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { defaultSecretsManagerClient, readSecretKey, SECRET_PROBLEMS } from '../secrets/cache.js';
import { normaliseEmail, parseCustomerProfile } from './parse.js';
import type { CustomerDirectory, CustomerProfile, LookupOptions } from './profile.js';

/**
 * Customers from your own user API, for teams whose users do not live in the DynamoDB table
 * (`CUSTOMER_DIRECTORY=http`, `CUSTOMER_API_URL`, `CUSTOMER_API_TOKEN_SECRET_ID`).
 *
 * The API this adapter expects (paths are relative to CUSTOMER_API_URL, which may carry a prefix
 * such as https://users.internal.example.com/v1):
 *
 *   GET /users/{userId}             -> 200 profile | 404
 *   GET /sessions/{sessionId}       -> 200 profile of the session's user | 404 (unknown or expired session)
 *   GET /users?email={email}        -> 200 profile, or an array of profiles (the first is used; [] = unknown) | 404
 *
 *   Request headers: `Authorization: Bearer <token>` (token from CUSTOMER_API_TOKEN_SECRET_ID; no header
 *   when that variable is unset) and `Accept: application/json`. Ids and the email are URL-encoded;
 *   the email is sent trimmed and lower-cased, and the API should match it case-insensitively.
 *
 *   A profile is JSON with at least a non-empty string `userId`:
 *   { "userId": "usr_1", "email": "ada@example.com", "name": "Ada", "role": "customer", "plan": "pro",
 *     "value": 4200, "attributes": { ... }, "actions": { "Profile": "https://..." } }
 *   (CustomerProfile in shared/customers/profile.ts; `null` counts as absent, unknown fields are ignored).
 *
 * Answers: 404 (and 414 URI Too Long: an id longer than any the API holds) is "not found"
 * (`undefined`). Any other non-2xx status, a redirect, a body that is not a profile, or no answer
 * within `timeoutMs` throws, and the handler answers the platform 503 so it
 * retries. A 401 re-reads the token once (it may just have been rotated) and retries with the new one.
 * Keep the API fast: the platforms give the whole callback a budget of a few seconds.
 */
export interface TokenRequest {
  /** The API rejected the token: read it again (subject to the provider's rate limit) rather than from cache. */
  readonly refresh?: boolean;
}

/** Where the bearer token comes from. A plain `() => Promise<string | undefined>` is one. */
export type TokenProvider = (request?: TokenRequest) => Promise<string | undefined>;

export interface HttpDirectoryOptions {
  readonly baseUrl: string;
  readonly token: TokenProvider;
  /** Per request, including reading the body. Default HTTP_DIRECTORY_DEFAULTS.timeoutMs. */
  readonly timeoutMs?: number;
  readonly fetchImpl?: typeof fetch;
}

export const HTTP_DIRECTORY_DEFAULTS = {
  /** Like the DynamoDB client's request timeout: a slow API must not eat the provider's budget. */
  timeoutMs: 1_500,
} as const;

/** Remove trailing slashes so `${base}/users/...` never doubles one; the URL is checked once, here. */
function normaliseBaseUrl(baseUrl: string): string {
  const url = new URL(baseUrl);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError('customer API URL must be http(s)');
  return url.toString().replace(/\/+$/, '');
}

async function discardBody(response: Response): Promise<void> {
  // An unread body holds the connection; nothing in it is needed.
  await response.body?.cancel().catch(() => undefined);
}

export class HttpDirectory implements CustomerDirectory {
  private readonly baseUrl: string;
  private readonly token: TokenProvider;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(options: HttpDirectoryOptions) {
    this.baseUrl = normaliseBaseUrl(options.baseUrl);
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? HTTP_DIRECTORY_DEFAULTS.timeoutMs;
    this.fetchImpl = options.fetchImpl ?? fetch;
  }

  async findByUserId(userId: string, options: LookupOptions = {}): Promise<CustomerProfile | undefined> {
    // An empty id would turn `/users/{id}` into the collection URL.
    if (userId.length === 0) return undefined;
    return this.profileAt(`/users/${encodeURIComponent(userId)}`, 'GET /users/{userId}', options.signal);
  }

  async findBySessionId(sessionId: string, options: LookupOptions = {}): Promise<CustomerProfile | undefined> {
    if (sessionId.length === 0) return undefined;
    return this.profileAt(`/sessions/${encodeURIComponent(sessionId)}`, 'GET /sessions/{sessionId}', options.signal);
  }

  async findByEmail(email: string, options: LookupOptions = {}): Promise<CustomerProfile | undefined> {
    const emailLower = normaliseEmail(email);
    if (emailLower.length === 0) return undefined;
    return this.profileAt(`/users?email=${encodeURIComponent(emailLower)}`, 'GET /users?email=', options.signal);
  }

  /** `what` names the endpoint in errors without the id or email (they end up in logs). */
  private async profileAt(path: string, what: string, callerSignal: AbortSignal | undefined): Promise<CustomerProfile | undefined> {
    callerSignal?.throwIfAborted();
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = callerSignal ? AbortSignal.any([callerSignal, timeout]) : timeout;
    try {
      const body = await this.getJson(`${this.baseUrl}${path}`, what, signal);
      if (body === undefined) return undefined;
      const candidate: unknown = Array.isArray(body) ? body[0] : body;
      if (candidate === undefined) return undefined;
      const parsed = parseCustomerProfile(candidate);
      if (!parsed.ok) throw new Error(`customer API answered ${what} with an invalid profile: ${parsed.error}`);
      return parsed.profile;
    } catch (error) {
      if (timeout.aborted && !callerSignal?.aborted) {
        throw new Error(`customer API did not answer ${what} within ${this.timeoutMs} ms`, { cause: error });
      }
      throw error;
    }
  }

  /** The parsed JSON body of a 2xx answer, `undefined` for 404; throws for everything else. */
  private async getJson(url: string, what: string, signal: AbortSignal): Promise<unknown> {
    const token = await this.token();
    let response = await this.send(url, token, signal);
    if (response.status === 401) {
      // The token may have been rotated since it was cached: one retry with a freshly read one.
      const fresh = await this.token({ refresh: true });
      if (fresh !== token) {
        await discardBody(response);
        response = await this.send(url, fresh, signal);
      }
    }
    // 414 URI Too Long: no user has an id (or email) that long, so it is unknown rather than a failure.
    if (response.status === 404 || response.status === 414) {
      await discardBody(response);
      return undefined;
    }
    if (response.status < 200 || response.status > 299) {
      await discardBody(response);
      throw new Error(`customer API answered ${response.status} to ${what}`);
    }
    const text = await response.text();
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new Error(`customer API answered ${what} with a body that is not JSON`);
    }
  }

  private send(url: string, token: string | undefined, signal: AbortSignal): Promise<Response> {
    return this.fetchImpl(url, {
      method: 'GET',
      headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      // A redirect from an internal API is a misconfiguration; following it could send the token elsewhere.
      redirect: 'error',
      signal,
    });
  }
}

export interface BearerTokenOptions {
  /** How long a read token is used before Secrets Manager is asked again. Default 5 minutes. */
  readonly ttlMs?: number;
  /** The least time between two reads forced by a 401 or retried after a failure. Default 30 s. */
  readonly minRefreshIntervalMs?: number;
  readonly now?: () => number;
}

export const BEARER_TOKEN_DEFAULTS = { ttlMs: 300_000, minRefreshIntervalMs: 30_000 } as const;

/**
 * The bearer token for the user API, from a Secrets Manager secret holding either the token itself
 * or `{"token": "..."}`. Cached for `ttlMs`; concurrent callers share one read; when a read fails and
 * a token was read before, that token keeps being used (and the read is retried after
 * `minRefreshIntervalMs`), so a Secrets Manager hiccup does not take the directory down.
 * A secret with no token (or the CDK stack's REPLACE_WITH_ placeholder) is an error.
 */
export function bearerTokenFromSecret(secretId: string, client?: SecretsManagerClient, options: BearerTokenOptions = {}): TokenProvider {
  const ttlMs = options.ttlMs ?? BEARER_TOKEN_DEFAULTS.ttlMs;
  const minRefreshIntervalMs = options.minRefreshIntervalMs ?? BEARER_TOKEN_DEFAULTS.minRefreshIntervalMs;
  const now = options.now ?? Date.now;
  let secrets = client;
  let cached: { readonly token: string; readonly fetchedAt: number } | undefined;
  let lastAttemptAt = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<string> | undefined;
  let lastError: unknown;

  const read = async (): Promise<string> => {
    secrets ??= defaultSecretsManagerClient();
    const result = await secrets.send(new GetSecretValueCommand({ SecretId: secretId }));
    const read = readSecretKey(result.SecretString ?? '', 'token');
    if (read.kind === 'misconfigured') throw new Error(`secret ${secretId} is misconfigured: ${SECRET_PROBLEMS[read.problem]}`);
    if (read.kind === 'absent') throw new Error(`secret ${secretId} holds no bearer token (expected the token or {"token": "..."})`);
    return read.value;
  };

  return async (request: TokenRequest = {}) => {
    const at = now();
    const mayRetry = at - lastAttemptAt >= minRefreshIntervalMs;
    const expired = cached === undefined || at - cached.fetchedAt >= ttlMs;
    const wanted = (expired || request.refresh === true) && mayRetry;
    if (!wanted && !inFlight) {
      if (cached) return cached.token;
      // Nothing read yet and the last read failed within the interval: no call (a flood costs one per interval).
      throw lastError;
    }
    if (!inFlight) {
      lastAttemptAt = at;
      inFlight = read()
        .then((token) => {
          cached = { token, fetchedAt: now() };
          return token;
        })
        .catch((error: unknown) => {
          lastError = error;
          throw error;
        })
        .finally(() => {
          inFlight = undefined;
        });
    }
    try {
      return await inFlight;
    } catch (error) {
      if (cached) return cached.token;
      throw error;
    }
  };
}
