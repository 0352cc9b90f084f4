import fc from 'fast-check';
import { BUDDYSTAT_EVENTS } from '../../functions/buddystat/contract.js';
import type { HttpResponse } from '../../shared/http/response.js';
import { PROVIDER_IDS, PROVIDERS, signatureHeader, type ProviderId } from '../../shared/providers.js';
import { EVENT_KINDS, type EventKind, type RequestSpec } from '../support/events.js';
import { NOW_SECONDS } from '../support/handler-harness.js';
import { DOCUMENTED_STATUSES, PROFILE } from './setup.js';

/** Generators for the property suites: requests no platform would send, and ones every platform could. */

/** Cases per property: 200 in `npm test`; `PROPERTY_RUNS=5000 npx vitest run test/property` for a deeper search. */
export const NUM_RUNS = Number(process.env.PROPERTY_RUNS ?? 200);

const TOKEN_CHARS = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_'];

/** Every signature header any provider reads, in any case, and arbitrary header names. */
export const headerName: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    ...new Set(PROVIDER_IDS.map((id) => signatureHeader(PROVIDERS[id], {}))),
    'webhook-id',
    'webhook-timestamp',
    'x-platform-signature',
    'X-TALKI-SIGNATURE',
    'Content-Type',
    'Content-Length',
    'Cookie',
    'Host',
  ),
  fc.string({ unit: fc.constantFrom(...TOKEN_CHARS), minLength: 1, maxLength: 24 }),
);

const digest = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b));

/** Values that look like signatures (right length, wrong value), junk, and the empty string. */
export const headerValue: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 120 }),
  digest.map((d) => d.toString('hex')),
  digest.map((d) => d.toString('base64')),
  digest.map((d) => `Bearer ${d.toString('base64')}`),
  digest.map((d) => `${d.toString('hex')}, ${d.toString('hex').toUpperCase()}`),
  digest.map((d) => `v1,${d.toString('base64')} v1a,${d.toString('base64')}`),
  fc.integer({ min: 0, max: 4_000_000_000 }).map(String),
  fc.constant(''),
);

export const headers: fc.Arbitrary<Array<[string, string]>> = fc.array(fc.tuple(headerName, headerValue), { maxLength: 8 });

/** Bodies of any bytes: none, small binary, any text, and runs of bytes up to past every provider's limit. */
export const anyBody: fc.Arbitrary<string | Uint8Array | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.uint8Array({ maxLength: 1024 }),
  fc.string({ unit: 'binary', maxLength: 512 }),
  fc.integer({ min: 1, max: 260 * 1024 }).map((n) => new Uint8Array(n).fill(0x7b)),
);

export const eventKind: fc.Arbitrary<EventKind> = fc.constantFrom(...EVENT_KINDS);

export const method: fc.Arbitrary<string> = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'HEAD', 'PATCH', 'post');

/** The provider's own routes (most of the time), its routes under a stage prefix, and any path. */
export function pathFor(provider: ProviderId): fc.Arbitrary<string> {
  const own = PROVIDERS[provider].routes.map((r) => r.path as string);
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...own) },
    { weight: 1, arbitrary: fc.constantFrom(...own.map((p) => `/prod${p}/`), '/', '') },
    { weight: 1, arbitrary: fc.webPath() },
  );
}

export const rawQuery: fc.Arbitrary<string | undefined> = fc.oneof(fc.constant(undefined), fc.string({ maxLength: 80 }), fc.webQueryParameters());

export function anyRequest(provider: ProviderId): fc.Arbitrary<{ kind: EventKind; spec: RequestSpec }> {
  return fc.record({
    kind: eventKind,
    method,
    path: pathFor(provider),
    query: rawQuery,
    headers,
    body: anyBody,
    base64: fc.boolean(),
  }).map(({ kind, query, body, ...rest }) => ({
    kind,
    spec: { ...rest, ...(query !== undefined ? { query } : {}), ...(body !== undefined ? { body } : {}) },
  }));
}

/** JSON text a platform could send, or nearly: values of every JSON type where the contract wants one. */
export function contractBody(provider: ProviderId): fc.Arbitrary<string> {
  const anyJson = fc.jsonValue({ maxDepth: 3 });
  const some = (...options: fc.Arbitrary<unknown>[]) => fc.oneof(...options, anyJson);
  switch (provider) {
    case 'buddy':
      return fc
        .record(
          {
            sessionId: some(fc.constant(PROFILE.sessionIds![0]!), fc.string({ maxLength: 600 })),
            agentId: some(fc.string()),
            timestamp: some(fc.constant(NOW_SECONDS), fc.constant(String(NOW_SECONDS)), fc.integer(), fc.constant(NOW_SECONDS * 1000)),
          },
          { requiredKeys: [] },
        )
        .map((body) => JSON.stringify(body));
    case 'talki':
      return fc
        .record({ userToken: some(fc.constant(PROFILE.userId), fc.string(), fc.integer(), fc.double()) }, { requiredKeys: [] })
        .map((body) => JSON.stringify(body));
    case 'bullseye':
      return fc
        .record(
          {
            id: some(fc.string()),
            type: some(fc.constantFrom('visitor.identified', 'invoice.paid', 'test', 'webhook.test'), fc.string()),
            test: some(fc.boolean()),
            data: anyJson,
          },
          { requiredKeys: [] },
        )
        .map((body) => JSON.stringify(body));
    case 'buddystat':
      return fc
        .record(
          {
            event: some(fc.constantFrom(...BUDDYSTAT_EVENTS), fc.string()),
            deliveryId: some(fc.string()),
            test: some(fc.boolean()),
            data: anyJson,
          },
          { requiredKeys: [] },
        )
        .map((body) => JSON.stringify(body));
    case 'helper':
      return fc.constant('');
    case 'standardwebhooks':
      return fc
        .record({ type: some(fc.constantFrom('invoice.paid', 'user.created'), fc.string()), timestamp: some(fc.date({ noInvalidDate: true }).map((d) => d.toISOString())), data: anyJson }, { requiredKeys: [] })
        .map((body) => JSON.stringify(body));
  }
}

/** Helper's query parameters: its two, as it sends them or not, plus anything else. */
export const helperParams: fc.Arbitrary<Record<string, string>> = fc
  .record(
    {
      email: fc.oneof(fc.constant(PROFILE.email!), fc.constant(PROFILE.email!.toUpperCase()), fc.string({ maxLength: 400 }), fc.emailAddress()),
      timestamp: fc.oneof(fc.constant(String(NOW_SECONDS)), fc.string({ maxLength: 20 }), fc.integer().map(String)),
    },
    { requiredKeys: [] },
  )
  .chain((known) => fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 20 }), { maxKeys: 3 }).map((extra) => ({ ...extra, ...known })));

/** What every answer must be: a documented status, a string body, `{ error }` on failures, Retry-After on 503. */
export function problemsWith(response: HttpResponse): string[] {
  const problems: string[] = [];
  if (!DOCUMENTED_STATUSES.includes(response.statusCode)) problems.push(`status ${response.statusCode} is not documented`);
  if (typeof response.body !== 'string') problems.push('body is not a string');
  if (response.statusCode >= 400) {
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch {
      body = undefined;
    }
    const keys = typeof body === 'object' && body !== null ? Object.keys(body) : [];
    if (keys.length !== 1 || keys[0] !== 'error') problems.push(`error body is not { error }: ${response.body.slice(0, 200)}`);
  }
  if (response.statusCode === 503 && !/^\d+$/.test(response.headers['retry-after'] ?? '')) problems.push('503 without Retry-After');
  if (response.statusCode === 405 && !response.headers.allow) problems.push('405 without Allow');
  return problems;
}
