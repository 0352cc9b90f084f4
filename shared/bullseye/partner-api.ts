import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ENV, settingFromEnv } from '../config.js';
import { PLACEHOLDER_PREFIX } from '../secrets/cache.js';

/**
 * A small client for Bullseye's partner API (../shared/providers/bullseye-partner-api.txt): the
 * webhook configuration calls the rotation function needs. Every call answers a result value, never
 * throws; failures carry Bullseye's own `{code, message}` when it sent one.
 *
 *   GET  {base}/partner/webhooks                      getWebhooks()
 *   PUT  {base}/partner/webhooks/{identification|billing}   updateWebhook(type, { url?, secret?, enabled? })
 *   POST {base}{testWebhookPath}  { "type": ... }     sendTestWebhook(type)     path not stated by Bullseye
 *   GET  {base}{webhookLogsPath}?page&pageSize&type&status&organizationId   getWebhookLogs(query)   path and fields not stated
 *
 * Requests carry `X-Partner-API-Key`; the key is never put in an error, a log line or a URL. A 429 is
 * waited out until `X-RateLimit-Reset` (a Unix timestamp) when that is within `maxRateLimitWaitMs`,
 * then retried; past that, or after `rateLimitRetries`, it is an error with `retryAtMs`.
 */
export type WebhookType = 'identification' | 'billing';
export const WEBHOOK_TYPES: readonly WebhookType[] = ['identification', 'billing'];

export interface WebhookSettings {
  readonly url: string | null;
  readonly enabled: boolean;
  readonly hasSecret: boolean;
}

export type WebhookConfiguration = Readonly<Record<WebhookType, WebhookSettings>>;

export interface WebhookUpdate {
  readonly url?: string;
  readonly secret?: string;
  readonly enabled?: boolean;
}

/**
 * One delivery as the logs report it. Bullseye does not state the fields; these names are read, each
 * with the alternatives listed, and anything else is ignored (see PARTNER_API_DEFAULTS, docs/deploy.md).
 */
export interface WebhookLogEntry {
  /** `id` | `deliveryId` */
  readonly id?: string;
  /** `type` */
  readonly type?: string;
  /** `statusCode` | `responseStatus` | `httpStatus`: the receiver's answer. */
  readonly statusCode?: number;
  /** `status`: Bullseye's word for the outcome (e.g. `success`, `failed`). */
  readonly status?: string;
  /** `createdAt` | `timestamp` | `deliveredAt`, epoch ms. */
  readonly atMs?: number;
  /** `test` | `isTest` */
  readonly test?: boolean;
}

export interface WebhookLogPage {
  readonly entries: readonly WebhookLogEntry[];
  readonly page?: number;
  readonly pageSize?: number;
  readonly total?: number;
}

export interface WebhookLogQuery {
  readonly page?: number;
  readonly pageSize?: number;
  readonly type?: WebhookType;
  readonly status?: string;
  readonly organizationId?: string;
}

/** What Bullseye answered to send-test-webhook; its fields are not stated, so only an id is looked for. */
export interface TestWebhookReceipt {
  readonly id?: string;
}

export type PartnerApiErrorKind =
  /** Bullseye answered a non-2xx status (its `code` and `message` when the body had them). */
  | 'api'
  /** 429, and the reset is further off than we wait (or the retries ran out). */
  | 'rate_limited'
  | 'timeout'
  | 'network'
  /** 2xx with a body that is not what the call returns. */
  | 'invalid_response'
  /** No usable API key (missing, placeholder, unreadable secret). */
  | 'no_api_key';

export interface PartnerApiError {
  readonly kind: PartnerApiErrorKind;
  /** Bullseye's code (BadRequest, Unauthorized, NotFound, InternalError, ...) or ours for local failures. */
  readonly code: string;
  readonly message: string;
  readonly status?: number;
  /** When a 429 may be retried, epoch ms (from X-RateLimit-Reset). */
  readonly retryAtMs?: number;
  /** Which call failed, e.g. `PUT /partner/webhooks/billing`. */
  readonly call: string;
}

export type PartnerApiResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: PartnerApiError };

export const PARTNER_API_DEFAULTS = {
  baseUrl: 'https://api.app.bullseye.so/api/v1',
  /** Not stated by Bullseye: our assumption, overridable with BULLSEYE_TEST_WEBHOOK_PATH. */
  testWebhookPath: '/partner/webhooks/test',
  /** Not stated by Bullseye: our assumption, overridable with BULLSEYE_WEBHOOK_LOGS_PATH. */
  webhookLogsPath: '/partner/webhooks/logs',
  /** Per request, including the body. */
  timeoutMs: 10_000,
  /** The rate limit is per minute: a reset is never more than a minute away. */
  maxRateLimitWaitMs: 60_000,
  rateLimitRetries: 2,
} as const;

/** Where the key comes from; called per request, so a rotated key is picked up by the provider. */
export type ApiKeyProvider = () => Promise<PartnerApiResult<string>>;

export interface PartnerApiOptions {
  readonly baseUrl?: string;
  readonly apiKey: ApiKeyProvider;
  readonly testWebhookPath?: string;
  readonly webhookLogsPath?: string;
  readonly timeoutMs?: number;
  readonly maxRateLimitWaitMs?: number;
  readonly rateLimitRetries?: number;
  readonly fetchImpl?: typeof fetch;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function fail(call: string, kind: PartnerApiErrorKind, code: string, message: string, extra: Partial<PartnerApiError> = {}): { ok: false; error: PartnerApiError } {
  return { ok: false, error: { kind, code, message, call, ...extra } };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `/x` joined to the base without doubling or losing a slash. */
function joinPath(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

function parseSettings(value: unknown): WebhookSettings | undefined {
  if (!isObject(value)) return undefined;
  const url = typeof value.url === 'string' && value.url.length > 0 ? value.url : null;
  return { url, enabled: value.enabled === true, hasSecret: value.hasSecret === true };
}

function timeOf(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value < 1e12 ? value * 1000 : value;
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

function firstOf<T>(record: Record<string, unknown>, names: readonly string[], read: (v: unknown) => T | undefined): T | undefined {
  for (const name of names) {
    const value = read(record[name]);
    if (value !== undefined) return value;
  }
  return undefined;
}

const asString = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : typeof v === 'number' ? String(v) : undefined);
const asStatus = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) ? v : typeof v === 'string' && /^\d{3}$/.test(v) ? Number(v) : undefined);
const asBoolean = (v: unknown) => (typeof v === 'boolean' ? v : undefined);

export function parseLogEntry(value: unknown): WebhookLogEntry | undefined {
  if (!isObject(value)) return undefined;
  const entry: Record<string, unknown> = {
    id: firstOf(value, ['id', 'deliveryId'], asString),
    type: firstOf(value, ['type'], asString),
    statusCode: firstOf(value, ['statusCode', 'responseStatus', 'httpStatus'], asStatus),
    status: firstOf(value, ['status'], asString),
    atMs: firstOf(value, ['createdAt', 'timestamp', 'deliveredAt'], timeOf),
    test: firstOf(value, ['test', 'isTest'], asBoolean),
  };
  for (const key of Object.keys(entry)) if (entry[key] === undefined) delete entry[key];
  return entry as WebhookLogEntry;
}

/** The list under `data`, `logs` or `items` (or the body itself when it is a list), with the page fields. */
export function parseLogPage(body: unknown): WebhookLogPage | undefined {
  const list = Array.isArray(body) ? body : isObject(body) ? [body.data, body.logs, body.items].find(Array.isArray) : undefined;
  if (!list) return undefined;
  const page: { entries: WebhookLogEntry[]; page?: number; pageSize?: number; total?: number } = {
    entries: list.map(parseLogEntry).filter((e): e is WebhookLogEntry => e !== undefined),
  };
  if (isObject(body)) {
    if (typeof body.page === 'number') page.page = body.page;
    if (typeof body.pageSize === 'number') page.pageSize = body.pageSize;
    if (typeof body.total === 'number') page.total = body.total;
  }
  return page;
}

export class PartnerApi {
  private readonly baseUrl: string;
  private readonly apiKey: ApiKeyProvider;
  private readonly testWebhookPath: string;
  private readonly webhookLogsPath: string;
  private readonly timeoutMs: number;
  private readonly maxRateLimitWaitMs: number;
  private readonly rateLimitRetries: number;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: PartnerApiOptions) {
    this.baseUrl = options.baseUrl ?? PARTNER_API_DEFAULTS.baseUrl;
    const url = new URL(this.baseUrl);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError('Bullseye API URL must be http(s)');
    this.apiKey = options.apiKey;
    this.testWebhookPath = options.testWebhookPath ?? PARTNER_API_DEFAULTS.testWebhookPath;
    this.webhookLogsPath = options.webhookLogsPath ?? PARTNER_API_DEFAULTS.webhookLogsPath;
    this.timeoutMs = options.timeoutMs ?? PARTNER_API_DEFAULTS.timeoutMs;
    this.maxRateLimitWaitMs = options.maxRateLimitWaitMs ?? PARTNER_API_DEFAULTS.maxRateLimitWaitMs;
    this.rateLimitRetries = options.rateLimitRetries ?? PARTNER_API_DEFAULTS.rateLimitRetries;
    this.fetchImpl = options.fetchImpl ?? fetch;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? sleepFor;
  }

  async getWebhooks(): Promise<PartnerApiResult<WebhookConfiguration>> {
    const call = 'GET /partner/webhooks';
    const answer = await this.request('GET', '/partner/webhooks', call);
    if (!answer.ok) return answer;
    const body = answer.value;
    const identification = isObject(body) ? parseSettings(body.identification) : undefined;
    const billing = isObject(body) ? parseSettings(body.billing) : undefined;
    if (!identification || !billing) return fail(call, 'invalid_response', 'InvalidResponse', 'expected { identification, billing }');
    return { ok: true, value: { identification, billing } };
  }

  async updateWebhook(type: WebhookType, update: WebhookUpdate): Promise<PartnerApiResult<WebhookSettings>> {
    const call = `PUT /partner/webhooks/${type}`;
    const answer = await this.request('PUT', `/partner/webhooks/${type}`, call, update);
    if (!answer.ok) return answer;
    const settings = isObject(answer.value) ? parseSettings(answer.value[type]) : undefined;
    if (!settings) return fail(call, 'invalid_response', 'InvalidResponse', `expected { ${type}: { url, enabled, hasSecret } }`);
    return { ok: true, value: settings };
  }

  async sendTestWebhook(type: WebhookType): Promise<PartnerApiResult<TestWebhookReceipt>> {
    const call = `POST ${this.testWebhookPath}`;
    const answer = await this.request('POST', this.testWebhookPath, call, { type });
    if (!answer.ok) return answer;
    const id = isObject(answer.value) ? firstOf(answer.value, ['id', 'deliveryId', 'logId'], asString) : undefined;
    return { ok: true, value: id === undefined ? {} : { id } };
  }

  async getWebhookLogs(query: WebhookLogQuery = {}): Promise<PartnerApiResult<WebhookLogPage>> {
    const call = `GET ${this.webhookLogsPath}`;
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
    const search = params.size > 0 ? `?${params.toString()}` : '';
    const answer = await this.request('GET', `${this.webhookLogsPath}${search}`, call);
    if (!answer.ok) return answer;
    const page = parseLogPage(answer.value);
    if (!page) return fail(call, 'invalid_response', 'InvalidResponse', 'expected a list of delivery logs (under data, logs or items)');
    return { ok: true, value: page };
  }

  /** One call, with 429s waited out while the reset is near; the parsed JSON body (or null) of a 2xx. */
  private async request(method: string, path: string, call: string, body?: unknown): Promise<PartnerApiResult<unknown>> {
    const key = await this.apiKey();
    if (!key.ok) return { ok: false, error: { ...key.error, call } };
    for (let attempt = 0; ; attempt++) {
      const sent = await this.send(method, joinPath(this.baseUrl, path), key.value, body);
      if (!sent.ok) return fail(call, sent.kind, sent.kind === 'timeout' ? 'Timeout' : 'NetworkError', sent.message);
      const { response, text } = sent;
      if (response.status >= 200 && response.status < 300) {
        if (text.trim() === '') return { ok: true, value: null };
        try {
          return { ok: true, value: JSON.parse(text) as unknown };
        } catch {
          return fail(call, 'invalid_response', 'InvalidResponse', `answered ${response.status} with a body that is not JSON`);
        }
      }
      const error = errorBody(text);
      if (response.status === 429) {
        const retryAtMs = rateLimitReset(response.headers, this.now());
        const waitMs = Math.max(0, retryAtMs - this.now());
        if (attempt < this.rateLimitRetries && waitMs <= this.maxRateLimitWaitMs) {
          await this.sleep(waitMs);
          continue;
        }
        return fail(call, 'rate_limited', error.code ?? 'TooManyRequests', error.message ?? 'rate limit exceeded', { status: 429, retryAtMs });
      }
      return fail(call, 'api', error.code ?? `Http${response.status}`, error.message ?? `answered ${response.status}`, { status: response.status });
    }
  }

  private async send(
    method: string,
    url: string,
    apiKey: string,
    body: unknown,
  ): Promise<{ ok: true; response: Response; text: string } | { ok: false; kind: 'timeout' | 'network'; message: string }> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    try {
      const response = await this.fetchImpl(url, {
        method,
        headers: {
          'X-Partner-API-Key': apiKey,
          Accept: 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        redirect: 'manual',
        signal,
      });
      return { ok: true, response, text: await response.text() };
    } catch (error) {
      if (signal.aborted) return { ok: false, kind: 'timeout', message: `no answer within ${this.timeoutMs} ms` };
      // The message names the host at most, never the key (it is only in a header).
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : error instanceof Error ? error.message : 'request failed';
      return { ok: false, kind: 'network', message: cause.slice(0, 200) };
    }
  }
}

/** Bullseye's `{ code, message, details }`, when the body is one; messages are cut short for logs. */
function errorBody(text: string): { code?: string; message?: string } {
  try {
    const parsed: unknown = JSON.parse(text);
    if (!isObject(parsed)) return {};
    return {
      ...(typeof parsed.code === 'string' ? { code: parsed.code.slice(0, 64) } : {}),
      ...(typeof parsed.message === 'string' ? { message: parsed.message.slice(0, 200) } : {}),
    };
  } catch {
    return {};
  }
}

/** X-RateLimit-Reset (Unix seconds) as epoch ms; a missing or odd value means "in a second". */
export function rateLimitReset(headers: Headers, nowMs: number): number {
  const seconds = Number(headers.get('x-ratelimit-reset'));
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : nowMs + 1000;
}

/**
 * The API key from its own secret, `{"apiKey": "..."}` (or a plain string), read through the caller's
 * client and kept for `maxAgeMs` (a test step polls the logs once a second; a replaced key is read
 * within a minute). A placeholder (`REPLACE_WITH_...`) or an empty key is `no_api_key`, as is a failed
 * read; neither is kept.
 */
export function apiKeyFromSecret(client: SecretsManagerClient, secretId: string, maxAgeMs = 60_000, now: () => number = Date.now): ApiKeyProvider {
  let kept: { key: string; until: number } | undefined;
  return async () => {
    if (kept && now() < kept.until) return { ok: true, value: kept.key };
    const read = await readApiKey(client, secretId);
    kept = read.ok ? { key: read.value, until: now() + maxAgeMs } : undefined;
    return read;
  };
}

async function readApiKey(client: SecretsManagerClient, secretId: string): Promise<PartnerApiResult<string>> {
  const call = 'read API key secret';
  let text: string | undefined;
  try {
    const got = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    text = got.SecretString;
  } catch (error) {
    return fail(call, 'no_api_key', 'ApiKeyUnavailable', `cannot read the API key secret: ${error instanceof Error ? error.name : 'error'}`);
  }
  const key = apiKeyIn(text ?? '');
  if (key === undefined) return fail(call, 'no_api_key', 'ApiKeyNotSet', 'the API key secret has no "apiKey" value yet (still the placeholder?)');
  return { ok: true, value: key };
}

export function apiKeyIn(secretString: string): string | undefined {
  let value: unknown = secretString.trim();
  if (typeof value === 'string' && value.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(value);
      value = isObject(parsed) ? parsed.apiKey : undefined;
    } catch {
      value = undefined;
    }
  }
  if (typeof value !== 'string' || value.length === 0 || value.startsWith(PLACEHOLDER_PREFIX)) return undefined;
  return value;
}

/** BULLSEYE_API_URL and the two unstated paths from the environment, each with its documented default. */
export function partnerApiSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): Pick<PartnerApiOptions, 'baseUrl' | 'testWebhookPath' | 'webhookLogsPath'> {
  return {
    baseUrl: settingFromEnv(env, ENV.bullseyeApiUrl) ?? PARTNER_API_DEFAULTS.baseUrl,
    testWebhookPath: settingFromEnv(env, ENV.bullseyeTestWebhookPath) ?? PARTNER_API_DEFAULTS.testWebhookPath,
    webhookLogsPath: settingFromEnv(env, ENV.bullseyeWebhookLogsPath) ?? PARTNER_API_DEFAULTS.webhookLogsPath,
  };
}
