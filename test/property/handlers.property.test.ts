import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PROVIDER_IDS, PROVIDERS, signatureHeader, type ProviderId, type SignatureRule } from '../../shared/providers.js';
import { signStandardWebhook, STANDARD_WEBHOOKS_HEADERS } from '../../shared/signing/standard-webhooks.js';
import { sign } from '../../shared/signing/verify.js';
import { NOW_SECONDS } from '../support/handler-harness.js';
import { eventFor, type RequestSpec } from '../support/events.js';
import { anyBody, anyRequest, contractBody, eventKind, headerName, helperParams, NUM_RUNS, problemsWith } from './arbitraries.js';
import { SECRETS, subject, type Subject } from './setup.js';

/**
 * For any bytes as body and any header set, every handler answers with a status from its documented
 * set (README: 200, 400, 401, 404, 405, 413, 503) and never throws — including requests that pass
 * the signature check and reach the provider's contract, directory and bus.
 */

/** Fields of the three event shapes that a corrupted event might carry anything in. */
const EVENT_FIELDS = ['headers', 'multiValueHeaders', 'body', 'isBase64Encoded', 'requestContext', 'rawPath', 'rawQueryString', 'path', 'httpMethod', 'queryStringParameters', 'multiValueQueryStringParameters', 'cookies', 'version'];

async function answer(s: Subject, event: unknown): Promise<string[]> {
  const response = await s.handler(event); // a rejection fails the property: handlers never throw
  return problemsWith(response);
}

/** A request correctly signed with the route's secret, the way the platform signs (body or query). */
function signedSpec(provider: ProviderId, routeIndex: number, body: string | Uint8Array | undefined, query?: string): RequestSpec {
  const definition = PROVIDERS[provider];
  const route = definition.routes[routeIndex % definition.routes.length]!;
  const secret = SECRETS[provider][route.secretKey]!;
  const rule: SignatureRule = definition.signature;
  const id = `msg_${routeIndex}`;
  const signatureHeaders: Array<[string, string]> =
    rule.scheme === 'standard-webhooks'
      ? [
          [STANDARD_WEBHOOKS_HEADERS.id, id],
          [STANDARD_WEBHOOKS_HEADERS.timestamp, String(NOW_SECONDS)],
          [STANDARD_WEBHOOKS_HEADERS.signature, signStandardWebhook(secret, id, String(NOW_SECONDS), Buffer.from(body ?? ''))],
        ]
      : [[rule.header, `${rule.prefix ?? ''}${sign(secret, rule.signs === 'query' ? Buffer.from(query ?? '') : Buffer.from(body ?? ''), rule.encoding)}`]];
  return {
    method: route.method,
    path: route.path,
    headers: [['Content-Type', 'application/json'], ...signatureHeaders],
    ...(query !== undefined ? { query } : {}),
    ...(body !== undefined ? { body } : {}),
  };
}

describe.each(PROVIDER_IDS)('%s handler, any input', (provider) => {
  it(`${provider}: any method, path, query, header set and body bytes, in any AWS event shape -> a documented status, never a throw`, async () => {
    const s = subject(provider);
    await fc.assert(
      fc.asyncProperty(anyRequest(provider), async ({ kind, spec }) => {
        expect(await answer(s, eventFor(kind, spec))).toEqual([]);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it(`${provider}: any value as the event itself, and real events with one field replaced by anything -> a documented status`, async () => {
    const s = subject(provider);
    const route = PROVIDERS[provider].routes[0]!;
    const header = signatureHeader(PROVIDERS[provider], {});
    const base = eventFor('http-v2', { method: route.method, path: route.path, headers: [[header, 'x']], body: '{}' }) as unknown as Record<string, unknown>;
    const fields = Object.keys(base);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.anything(),
          fc.tuple(fc.constantFrom(...fields), fc.anything()).map(([field, value]) => ({ ...base, [field]: value })),
          fc.tuple(eventKind, fc.constantFrom(...EVENT_FIELDS), fc.anything()).map(
            ([kind, field, value]) => ({ ...(eventFor(kind, { method: route.method, path: route.path, body: '{}' }) as unknown as Record<string, unknown>), [field]: value }),
          ),
          // Header values of any type, the signature header among them.
          fc.tuple(eventKind, fc.dictionary(fc.oneof(headerName, fc.constant(header)), fc.anything(), { maxKeys: 4 })).map(([kind, values]) => ({
            ...(eventFor(kind, { method: route.method, path: route.path, body: '{}' }) as unknown as Record<string, unknown>),
            headers: values,
            multiValueHeaders: Object.fromEntries(Object.entries(values).map(([name, value]) => [name, [value]])),
          })),
        ),
        async (event) => {
          expect(await answer(s, event)).toEqual([]);
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it(`${provider}: correctly signed bodies of any bytes, and JSON near the platform's contract -> a documented status`, async () => {
    const s = subject(provider);
    const rule: SignatureRule = PROVIDERS[provider].signature;
    const signsQuery = rule.scheme === 'hmac-sha256' && rule.signs === 'query';
    const body = signsQuery ? anyBody : fc.oneof(anyBody, contractBody(provider), fc.json());
    const query = signsQuery
      ? fc.oneof(helperParams.map((p) => new URLSearchParams(p).toString()), fc.string({ maxLength: 120 }), fc.webQueryParameters())
      : fc.constant(undefined);
    await fc.assert(
      fc.asyncProperty(eventKind, fc.nat(), body, query, async (kind, routeIndex, b, q) => {
        expect(await answer(s, eventFor(kind, signedSpec(provider, routeIndex, b, q)))).toEqual([]);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
