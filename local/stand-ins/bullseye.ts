import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readRequestBody } from './request-body.js';
import { PARTNER_API_DEFAULTS, WEBHOOK_TYPES, type WebhookType } from '../../shared/bullseye/partner-api.js';

/**
 * A local Bullseye platform: the partner API calls of ../shared/providers/bullseye-partner-api.txt
 * over real HTTP, and the webhook deliveries of bullseye-webhooks.txt, for `npm start`,
 * `npm run rotate -- bullseye` and the tests.
 *
 *   base       {apiUrl} = http://127.0.0.1:<port>/api/v1
 *   auth       X-Partner-API-Key must equal `apiKey`, else 401
 *   limit      `rateLimitPerMinute` requests per minute (1,000 as documented); every answer carries
 *              X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset (Unix seconds); over it, 429
 *   errors     `{ "code": "...", "message": "...", "details": {} }`: BadRequest 400, Unauthorized 401,
 *              NotFound 404, TooManyRequests 429 (code not stated by Bullseye), InternalError 500
 *   GET  /partner/webhooks                       both webhooks' { url, enabled, hasSecret }
 *   PUT  /partner/webhooks/{type}                { url?, secret?, enabled? }; the secret is kept, never returned
 *   POST /partner/webhooks/test   { type }       queues a signed test delivery; answers { id, type, status: "queued" } (fields not stated)
 *   GET  /partner/webhooks/logs?page&pageSize&type&status&organizationId   newest first:
 *              { data: [{ id, type, event, status, statusCode, createdAt, organizationId, test }], page, pageSize, total }
 *   (the last two paths are not stated by Bullseye: ours are the client's defaults, and both are options)
 *
 * Deliveries POST the JSON payload to the webhook's URL with `X-Bullseye-Signature` = hex
 * HMAC-SHA256 of the raw body under the webhook's current secret, give up after 30 seconds, and are
 * logged ("success" for a 2xx, "failed" otherwise). `deliver(type)` sends one now (the tests' command).
 * `setFault` makes matching partner API calls answer 401, 429 or 500 until cleared.
 */
export interface WebhookState {
  readonly url: string | null;
  readonly secret: string | null;
  readonly enabled: boolean;
}

export interface DeliveryLog {
  readonly id: string;
  readonly type: WebhookType;
  readonly event: string;
  readonly status: 'success' | 'failed';
  /** The receiver's status; 0 when it did not answer. */
  readonly statusCode: number;
  readonly createdAt: string;
  readonly organizationId: string;
  readonly test: boolean;
}

export type PartnerCall = 'get' | 'update' | 'test' | 'logs';

export interface BullseyeFault {
  readonly status: 401 | 429 | 500;
  /** Which calls meet it; default every partner API call. */
  readonly calls?: readonly PartnerCall[];
  /** The first `skip` matching calls still succeed (a failure half-way through a step). */
  readonly skip?: number;
}

export interface BullseyeStandInOptions {
  readonly apiKey: string;
  readonly webhooks?: Partial<Record<WebhookType, Partial<WebhookState>>>;
  readonly port?: number;
  readonly host?: string;
  readonly rateLimitPerMinute?: number;
  readonly organizationId?: string;
  readonly testWebhookPath?: string;
  readonly webhookLogsPath?: string;
  readonly deliveryTimeoutMs?: number;
}

export interface DeliverOptions {
  readonly test?: boolean;
  /** The delivery id (default a random UUID). */
  readonly id?: string;
}

export interface BullseyeStandIn {
  /** The partner API base URL, e.g. http://127.0.0.1:54321/api/v1: the client's baseUrl. */
  readonly apiUrl: string;
  /** A webhook's configuration as Bullseye keeps it (the secret too: tests compare it). */
  webhook(type: WebhookType): WebhookState;
  /** Sends one signed delivery of `type` to its configured URL now; undefined when it is disabled or unset. */
  deliver(type: WebhookType, options?: DeliverOptions): Promise<DeliveryLog | undefined>;
  /** Every delivery so far, oldest first. */
  readonly deliveries: readonly DeliveryLog[];
  /** Partner API calls received, per call (faulted ones too). */
  readonly calls: Readonly<Record<PartnerCall, number>>;
  setFault(fault: BullseyeFault | undefined): void;
  close(): Promise<void>;
}

const API_PREFIX = '/api/v1';
const MAX_BODY_BYTES = 64 * 1024;

type Json = Record<string, unknown>;

const ERROR_CODES: Record<number, string> = { 400: 'BadRequest', 401: 'Unauthorized', 404: 'NotFound', 429: 'TooManyRequests', 500: 'InternalError' };

function isWebhookType(value: unknown): value is WebhookType {
  return typeof value === 'string' && (WEBHOOK_TYPES as readonly string[]).includes(value);
}

async function readJson(req: IncomingMessage): Promise<Json | undefined> {
  const body = await readRequestBody(req, MAX_BODY_BYTES);
  if (body === undefined) return undefined;
  const text = body.toString('utf8');
  if (text.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Json) : undefined;
  } catch {
    return undefined;
  }
}

/** A payload with the top-level fields the partner docs list; every delivery is distinct. */
function payloadFor(type: WebhookType, id: string, organizationId: string, test: boolean): Json {
  const timestamp = new Date().toISOString();
  if (test) return { id, event: 'webhook.test', test: true, type, timestamp, organization_id: organizationId };
  if (type === 'billing') {
    return { id, event: 'billing.invoice_paid', timestamp, organization_id: organizationId, billing: { invoice_id: `inv_${id.slice(0, 8)}`, amount: 14900, currency: 'usd' } };
  }
  return {
    id,
    event: 'visitor.identified',
    timestamp,
    organization_id: organizationId,
    session_id: `ses_${id.slice(0, 8)}`,
    visitor: { email: 'ada@example.com', first_name: 'Ada', last_name: 'Lovelace', job_title: 'Analyst' },
    company: { name: 'Analytical Engines Ltd', industry: 'Computing', employee_count: 12, domain: 'example.com' },
    session: { landing_page: '/pricing', pages_visited: 3, utm_source: 'newsletter', device_type: 'desktop' },
  };
}

export async function startBullseyeStandIn(options: BullseyeStandInOptions): Promise<BullseyeStandIn> {
  const host = options.host ?? '127.0.0.1';
  const limit = options.rateLimitPerMinute ?? 1000;
  const organizationId = options.organizationId ?? 'org_demo';
  const testPath = options.testWebhookPath ?? PARTNER_API_DEFAULTS.testWebhookPath;
  const logsPath = options.webhookLogsPath ?? PARTNER_API_DEFAULTS.webhookLogsPath;
  const deliveryTimeoutMs = options.deliveryTimeoutMs ?? 30_000;
  const webhooks = new Map<WebhookType, WebhookState>(
    WEBHOOK_TYPES.map((type) => {
      const given = options.webhooks?.[type] ?? {};
      return [type, { url: given.url ?? null, secret: given.secret ?? null, enabled: given.enabled ?? true }];
    }),
  );
  const deliveries: DeliveryLog[] = [];
  const calls: Record<PartnerCall, number> = { get: 0, update: 0, test: 0, logs: 0 };
  const inFlight = new Set<Promise<unknown>>();
  let fault: BullseyeFault | undefined;
  let faultSkipped = 0;
  let window = { startMs: 0, count: 0 };

  const deliver = async (type: WebhookType, deliverOptions: DeliverOptions = {}): Promise<DeliveryLog | undefined> => {
    const state = webhooks.get(type)!;
    if (!state.enabled || !state.url || !state.secret) return undefined;
    const id = deliverOptions.id ?? randomUUID();
    const test = deliverOptions.test === true;
    const payload = payloadFor(type, id, organizationId, test);
    const body = JSON.stringify(payload);
    const signature = createHmac('sha256', state.secret).update(body).digest('hex');
    let statusCode = 0;
    try {
      const response = await fetch(state.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Bullseye-Signature': signature },
        body,
        signal: AbortSignal.timeout(deliveryTimeoutMs),
      });
      statusCode = response.status;
      await response.body?.cancel().catch(() => undefined);
    } catch {
      statusCode = 0;
    }
    const log: DeliveryLog = {
      id,
      type,
      event: String(payload.event),
      status: statusCode >= 200 && statusCode < 300 ? 'success' : 'failed',
      statusCode,
      createdAt: new Date().toISOString(),
      organizationId,
      test,
    };
    deliveries.push(log);
    return log;
  };

  const answer = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    if (res.writableEnded) return;
    const text = status === 204 ? '' : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  };
  const error = (res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void =>
    answer(res, status, { code: ERROR_CODES[status] ?? 'InternalError', message, details: {} }, headers);

  /** Counts the request in this minute's window; the three headers every answer carries. */
  const rateLimit = (): { headers: Record<string, string>; over: boolean } => {
    const now = Date.now();
    if (now - window.startMs >= 60_000) window = { startMs: now, count: 0 };
    window.count++;
    const resetSeconds = Math.ceil((window.startMs + 60_000) / 1000);
    return {
      over: window.count > limit,
      headers: {
        'x-ratelimit-limit': String(limit),
        'x-ratelimit-remaining': String(Math.max(0, limit - window.count)),
        'x-ratelimit-reset': String(resetSeconds),
      },
    };
  };

  const view = (type: WebhookType) => {
    const state = webhooks.get(type)!;
    return { url: state.url, enabled: state.enabled, hasSecret: state.secret !== null };
  };

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const path = url.pathname.startsWith(API_PREFIX) ? url.pathname.slice(API_PREFIX.length) : undefined;
    const updateMatch = path === undefined ? null : /^\/partner\/webhooks\/([^/]+)$/.exec(path);
    const call: PartnerCall | undefined =
      req.method === 'GET' && path === '/partner/webhooks'
        ? 'get'
        : req.method === 'POST' && path === testPath
          ? 'test'
          : req.method === 'GET' && path === logsPath
            ? 'logs'
            : req.method === 'PUT' && updateMatch
              ? 'update'
              : undefined;
    const body = req.method === 'PUT' || req.method === 'POST' ? await readJson(req) : {};
    const { headers, over } = rateLimit();
    if (req.headers['x-partner-api-key'] !== options.apiKey) return error(res, 401, 'Missing or invalid partner API key', headers);
    if (over) return error(res, 429, `Rate limit of ${limit} requests per minute exceeded`, headers);
    if (!call) return error(res, 404, 'Not found', headers);
    calls[call]++;
    const active = fault;
    if (active && (active.calls === undefined || active.calls.includes(call)) && faultSkipped++ >= (active.skip ?? 0)) {
      const extra = active.status === 429 ? { ...headers, 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 1) } : headers;
      return error(res, active.status, `stand-in fault: ${active.status}`, extra);
    }
    if (body === undefined) return error(res, 400, 'Body must be a JSON object', headers);

    switch (call) {
      case 'get':
        return answer(res, 200, { identification: view('identification'), billing: view('billing') }, headers);
      case 'update': {
        const type = updateMatch![1];
        if (!isWebhookType(type)) return error(res, 404, `Unknown webhook type "${type}"`, headers);
        const problems: string[] = [];
        if (body.url !== undefined && (typeof body.url !== 'string' || !/^https?:\/\//.test(body.url))) problems.push('url must be an http(s) URL');
        if (body.secret !== undefined && (typeof body.secret !== 'string' || body.secret.length === 0)) problems.push('secret must be a non-empty string');
        if (body.enabled !== undefined && typeof body.enabled !== 'boolean') problems.push('enabled must be a boolean');
        if (problems.length > 0) return error(res, 400, problems.join('; '), headers);
        const state = webhooks.get(type)!;
        webhooks.set(type, {
          url: typeof body.url === 'string' ? body.url : state.url,
          secret: typeof body.secret === 'string' ? body.secret : state.secret,
          enabled: typeof body.enabled === 'boolean' ? body.enabled : state.enabled,
        });
        return answer(res, 200, { [type]: view(type) }, headers);
      }
      case 'test': {
        if (!isWebhookType(body.type)) return error(res, 400, 'type must be identification or billing', headers);
        const state = webhooks.get(body.type)!;
        if (!state.url || !state.secret) return error(res, 400, `The ${body.type} webhook has no URL or secret`, headers);
        // Queued, as a platform would: the delivery (and its log entry) follows the answer.
        const id = randomUUID();
        const delivery = deliver(body.type, { test: true, id });
        inFlight.add(delivery);
        void delivery.finally(() => inFlight.delete(delivery));
        return answer(res, 200, { id, type: body.type, status: 'queued' }, headers);
      }
      case 'logs': {
        const page = Math.max(1, Number(url.searchParams.get('page')) || 1);
        const pageSize = Math.min(100, Math.max(1, Number(url.searchParams.get('pageSize')) || 20));
        const type = url.searchParams.get('type');
        const status = url.searchParams.get('status');
        const org = url.searchParams.get('organizationId');
        const matching = [...deliveries]
          .reverse()
          .filter((d) => (!type || d.type === type) && (!status || d.status === status) && (!org || d.organizationId === org));
        return answer(res, 200, { data: matching.slice((page - 1) * pageSize, page * pageSize), page, pageSize, total: matching.length }, headers);
      }
    }
  };

  const server: Server = createServer((req, res) => {
    serve(req, res).catch(() => error(res, 500, 'stand-in error'));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    apiUrl: `http://${host.includes(':') ? `[${host}]` : host}:${port}${API_PREFIX}`,
    webhook: (type) => ({ ...webhooks.get(type)! }),
    deliver,
    deliveries,
    calls,
    setFault: (next) => {
      fault = next;
      faultSkipped = 0;
    },
    close: async () => {
      await Promise.allSettled([...inFlight]);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
