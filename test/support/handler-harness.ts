import { createHmac } from 'node:crypto';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { EventBridgeClient, PutEventsCommand, type PutEventsCommandInput } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { documentedRejection } from '../../shared/events/entry.js';
import type { InProcessSecretsManager } from '../../local/stand-ins/secrets-manager.js';
import type { CustomerDirectory } from '../../shared/customers/profile.js';
import type { HttpResponse } from '../../shared/http/response.js';
import type { LambdaHttpHandler } from '../../shared/handler.js';
import { createLogger, type Logger } from '../../shared/log.js';
import { SecretsCache } from '../../shared/secrets/cache.js';
import { EVENT_KINDS, eventFor, type EventKind, type RequestSpec } from './events.js';
import { secretsManagerWith } from './secrets-manager.js';

/**
 * What the per-provider handler suites share: the Secrets Manager stand-in (the real SecretsCache
 * and SDK client on top of it), a logger whose lines the test can read, a fixed clock, signatures
 * computed exactly as each platform's doc computes them, and one call that runs a request through
 * every AWS event shape.
 */

export const SECRET_ID = 'webhooks/test';

/** The clock every suite runs at: the doc's own sample timestamp (Buddy's `1717000000`). */
export const NOW_SECONDS = 1_717_000_000;
export const NOW_MS = NOW_SECONDS * 1000;

/**
 * A SecretsCache over the Secrets Manager stand-in holding one AWSCURRENT version of `value`
 * (a plain string, or an object of named keys stored as JSON, as the CDK stack writes it).
 */
export function standInSecrets(value: string | Record<string, string>): { secrets: SecretsCache; secretsManager: InProcessSecretsManager; client: SecretsManagerClient } {
  const { sm, client } = secretsManagerWith(SECRET_ID, value, { now: () => NOW_MS });
  const secrets = new SecretsCache({ client, logger: createLogger(() => undefined) });
  return { secrets, secretsManager: sm, client };
}

export interface LogRecord {
  readonly level: string;
  readonly [field: string]: unknown;
}

export interface CapturedLogger {
  readonly logger: Logger;
  /** Every line written so far, parsed. */
  records(): LogRecord[];
  /** The request log lines (the one per request signedHandler writes: it carries `status`). */
  requests(): LogRecord[];
  /** All lines as written, for "never logs X" checks. */
  text(): string;
  clear(): void;
}

export function capturedLogger(): CapturedLogger {
  const lines: string[] = [];
  const records = () => lines.map((line) => JSON.parse(line) as LogRecord);
  return {
    logger: createLogger((line) => lines.push(line), 'debug'),
    records,
    requests: () => records().filter((r) => typeof r.status === 'number'),
    text: () => lines.join('\n'),
    clear: () => void lines.splice(0),
  };
}

export interface Harness {
  readonly secrets: SecretsCache;
  readonly secretsManager: InProcessSecretsManager;
  readonly logger: Logger;
  readonly logs: CapturedLogger;
  readonly env: NodeJS.ProcessEnv;
  readonly now: () => number;
}

/** The common deps of every handler: secrets, a captured logger, `env` with SIGNING_SECRET_ID, the fixed clock. */
export function harness(secret: string | Record<string, string>, env: Record<string, string> = {}): Harness {
  const { secrets, secretsManager } = standInSecrets(secret);
  const logs = capturedLogger();
  return { secrets, secretsManager, logger: logs.logger, logs, env: { SIGNING_SECRET_ID: SECRET_ID, ...env }, now: () => NOW_MS };
}

/** The deps object a create<Name>Handler takes, minus its directory or sink and ledger. */
export function commonDeps(h: Harness): { secrets: SecretsCache; logger: Logger; env: NodeJS.ProcessEnv; now: () => number } {
  return { secrets: h.secrets, logger: h.logger, env: h.env, now: h.now };
}

// ---- Signatures, computed the way each platform's doc computes them ----

/**
 * Buddy, Talki and Bullseye: `crypto.createHmac('sha256', secret).update(rawBody).digest('hex')`
 * over the raw body bytes, verbatim.
 */
export function rawBodyHex(secret: string, rawBody: string | Buffer): string {
  return createHmac('sha256', secret).update(rawBody).digest('hex');
}

/** BuddyStat's documented verifier: `.update(JSON.stringify(payload)).digest('hex')`. */
export function buddyStatSignature(secret: string, payload: unknown): string {
  return createHmac('sha256', secret).update(JSON.stringify(payload)).digest('hex');
}

export interface HelperSigned {
  /** The query Helper sends: the same string it signed. */
  readonly query: string;
  /** `Bearer <base64 HMAC>`. */
  readonly authorization: string;
  readonly signature: string;
}

/**
 * Helper: `createHmac('sha256', secret).update(new URLSearchParams(queryParams).toString()).digest('base64')`,
 * sent as `Authorization: Bearer <sig>` with that same serialisation as the query string.
 */
export function helperSigned(secret: string, params: Record<string, string>): HelperSigned {
  const query = new URLSearchParams(params).toString();
  const signature = createHmac('sha256', secret).update(query).digest('base64');
  return { query, signature, authorization: `Bearer ${signature}` };
}

// ---- Requests ----

export type Headers = ReadonlyArray<readonly [string, string]>;

/** A JSON POST as the platforms send it. */
export function postJson(path: string, body: string, headers: Headers = [], options: { base64?: boolean } = {}): RequestSpec {
  return {
    method: 'POST',
    path,
    headers: [['Content-Type', 'application/json'], ['User-Agent', 'platform-webhooks/1.0'], ...headers],
    body,
    ...(options.base64 ? { base64: true } : {}),
  };
}

/** Helper's GET: query, bearer signature and (as Helper sends it) `Content-Type: application/json`. */
export function helperGet(path: string, query: string, authorization?: string): RequestSpec {
  return {
    method: 'GET',
    path,
    query,
    headers: [['Content-Type', 'application/json'], ...(authorization !== undefined ? ([['Authorization', authorization]] as const) : [])],
  };
}

// ---- Calling a handler ----

export interface Answered {
  readonly kind: EventKind | 'raw';
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  readonly json: unknown;
  readonly response: HttpResponse;
}

function answered(kind: EventKind | 'raw', response: HttpResponse): Answered {
  let json: unknown;
  try {
    json = JSON.parse(response.body);
  } catch {
    json = undefined;
  }
  return { kind, status: response.statusCode, headers: response.headers, text: response.body, json, response };
}

export async function call(handler: LambdaHttpHandler, kind: EventKind, spec: RequestSpec): Promise<Answered> {
  return answered(kind, await handler(eventFor(kind, spec)));
}

/** Feeds a handler anything at all; it must answer, never throw. */
export async function callRaw(handler: LambdaHttpHandler, event: unknown): Promise<Answered> {
  return answered('raw', await handler(event));
}

/** The same request in all three AWS event shapes, one after the other (order matters for de-duplication tests). */
export async function callInEveryShape(handler: LambdaHttpHandler, spec: RequestSpec | ((kind: EventKind) => RequestSpec)): Promise<Answered[]> {
  const results: Answered[] = [];
  for (const kind of EVENT_KINDS) results.push(await call(handler, kind, typeof spec === 'function' ? spec(kind) : spec));
  return results;
}

/**
 * A non-2xx answer carries `{ error }` and nothing else, and none of the profile's values.
 * `profileValues` are strings that must not appear anywhere in the body (emails, names, ids).
 */
export function noProfileData(answer: Answered, profileValues: readonly string[]): string[] {
  const problems: string[] = [];
  if (answer.status >= 200 && answer.status < 300) return problems;
  const body = answer.json;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) problems.push(`body is not a JSON object: ${answer.text}`);
  else {
    const keys = Object.keys(body);
    if (keys.length !== 1 || keys[0] !== 'error' || typeof (body as { error: unknown }).error !== 'string') problems.push(`body is not { error }: ${answer.text}`);
  }
  for (const value of profileValues) if (answer.text.toLowerCase().includes(value.toLowerCase())) problems.push(`body carries ${value}`);
  return problems;
}

/** Events no AWS integration would send: a handler answers them (4xx/5xx) and never throws. */
export const GARBAGE_EVENTS: ReadonlyArray<readonly [string, unknown]> = [
  ['null', null],
  ['undefined', undefined],
  ['an empty object', {}],
  ['a string', 'POST /buddy/identity'],
  ['a number', 42],
  ['an array', []],
  ['a v2 event without requestContext', { version: '2.0', rawPath: '/x', body: '{}' }],
  ['a v1 event whose body is a number', { httpMethod: 'POST', path: '/x', body: 5, headers: {} }],
  ['a v1 event whose headers are a string', { httpMethod: 'POST', path: '/x', headers: 'x', multiValueHeaders: 'y', body: '{}' }],
  ['a v2 event whose path is a number', { version: '2.0', rawPath: 7, requestContext: { http: { method: 'POST', path: 7 } }, headers: {} }],
];

/** A promise that never settles. */
export function never<T>(): Promise<T> {
  return new Promise<T>(() => undefined);
}

/**
 * A directory whose lookups never settle and ignore their signal: only the deadline can answer.
 * `entered` resolves when the first lookup starts (the deadline's timer is running by then).
 */
export function stuckDirectory(): { directory: CustomerDirectory; entered: Promise<void>; calls: () => number } {
  let calls = 0;
  let enter: () => void = () => undefined;
  const entered = new Promise<void>((resolve) => (enter = resolve));
  const stuck = <T>(): Promise<T> => {
    calls++;
    enter();
    return never<T>();
  };
  return { directory: { findBySessionId: stuck, findByUserId: stuck, findByEmail: stuck }, entered, calls: () => calls };
}

/** A directory whose every lookup rejects, as an unreachable or throttled table does. */
export function failingDirectory(message = 'ProvisionedThroughputExceededException'): CustomerDirectory {
  const fail = () => Promise.reject(new Error(message));
  return { findBySessionId: fail, findByUserId: fail, findByEmail: fail };
}

// ---- The event bus (no EventBridge stand-in exists: the SDK client is stubbed) ----

function stubEventBridge(client: EventBridgeClient) {
  return mockClient(client);
}

export type EventBusMock = ReturnType<typeof stubEventBridge>;

/** One PutEvents entry as the sink sent it, with its Detail parsed, and as text. */
export interface PutEntry {
  readonly source: string | undefined;
  readonly detailType: string | undefined;
  readonly busName: string | undefined;
  readonly detail: Record<string, unknown>;
  readonly detailText: string;
}

/** The payload's text as the entry carries it: Detail is `{"delivery":{…},"payload":<text>}`. */
export function payloadText(entry: Pick<PutEntry, 'detail' | 'detailText'>): string {
  // The delivery object is ours, written by JSON.stringify: parsing and writing it again gives the same text.
  const prefix = `{"delivery":${JSON.stringify(entry.detail.delivery)},"payload":`;
  if (!entry.detailText.startsWith(prefix) || !entry.detailText.endsWith('}')) throw new Error(`not an inline entry: ${entry.detailText.slice(0, 200)}`);
  return entry.detailText.slice(prefix.length, -1);
}

export interface MockedEventBus {
  readonly client: EventBridgeClient;
  readonly mock: EventBusMock;
  /** Every entry PutEvents was called with, accepted or not. */
  entries(): PutEntry[];
  /** The entries EventBridge accepted: what subscribers saw. */
  accepted(): PutEntry[];
  /** The next `count` PutEvents calls report every entry failed (FailedEntryCount > 0, HTTP 200) with `code` (default InternalFailure). */
  failNext(count?: number, code?: string): void;
}

/**
 * An EventBridgeClient whose PutEvents accepts every entry that EventBridge's documented limits
 * accept (size, DetailType, nesting, int64: shared/events/entry.ts), as a failed entry with
 * InvalidArgument otherwise, unless told to fail some calls.
 */
export function mockedEventBus(): MockedEventBus {
  const client = new EventBridgeClient({ region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const mock = stubEventBridge(client);
  const all: PutEntry[] = [];
  const ok: PutEntry[] = [];
  let failures = 0;
  let failureCode = 'InternalFailure';
  let next = 0;
  mock.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => {
    const entries = (input.Entries ?? []).map((e) => ({
      source: e.Source,
      detailType: e.DetailType,
      busName: e.EventBusName,
      detail: JSON.parse(e.Detail ?? '{}') as Record<string, unknown>,
      detailText: e.Detail ?? '',
    }));
    all.push(...entries);
    if (failures > 0) {
      failures--;
      return {
        FailedEntryCount: entries.length,
        Entries: entries.map(() => ({ ErrorCode: failureCode, ErrorMessage: `${failureCode} (stubbed)` })),
        $metadata: { httpStatusCode: 200 },
      };
    }
    const refused = (input.Entries ?? []).map((e) =>
      documentedRejection({ source: e.Source ?? '', detailType: e.DetailType ?? '', detail: e.Detail ?? '', time: e.Time?.toISOString() ?? '' }),
    );
    if (refused.some(Boolean)) {
      ok.push(...entries.filter((_, i) => !refused[i]));
      return {
        FailedEntryCount: refused.filter(Boolean).length,
        Entries: refused.map((r, i) => (r ? { ErrorCode: r.code, ErrorMessage: r.message } : { EventId: `evt-${++next}-${i}` })),
        $metadata: { httpStatusCode: 200 },
      };
    }
    ok.push(...entries);
    return { FailedEntryCount: 0, Entries: entries.map(() => ({ EventId: `evt-${++next}` })), $metadata: { httpStatusCode: 200 } };
  });
  return {
    client,
    mock,
    entries: () => [...all],
    accepted: () => [...ok],
    failNext: (count = 1, code = 'InternalFailure') => {
      failures += count;
      failureCode = code;
    },
  };
}
