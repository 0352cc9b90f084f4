import { createHmac, timingSafeEqual } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  buildPlatformRequest,
  eventTypesFor,
  requestUrl,
  routeFor,
  signingSecretFor,
  toCurl,
  type PlatformRequest,
} from '../../local/platform-requests.js';
import { PROVIDERS } from '../../shared/providers.js';

const NOW = Date.UTC(2024, 4, 29, 16, 26, 40); // 1717000000 s
const SECRET = 'dev-secret-for-tests';

function header(request: PlatformRequest, name: string): string | undefined {
  return request.headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
}

const hmac = (secret: string, message: string, encoding: 'hex' | 'base64') => createHmac('sha256', secret).update(message).digest(encoding);

describe('buildPlatformRequest', () => {
  it('buddy: POSTs { sessionId, agentId, timestamp } in seconds, hex X-Platform-Signature of the raw body (buddy-identity-callback.txt)', () => {
    const request = buildPlatformRequest('buddy', { secret: SECRET, now: NOW, sessionId: 'sess_1' });
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/buddy/identity');
    expect(request.body).toBe('{"sessionId":"sess_1","agentId":"agt_demo","timestamp":1717000000}');
    expect(header(request, 'content-type')).toBe('application/json');
    // The doc's Express verifier, verbatim in spirit: hex HMAC of the raw body, same length, timingSafeEqual.
    const expected = hmac(SECRET, request.body!, 'hex');
    const got = header(request, 'X-Platform-Signature')!;
    expect(got.length === expected.length && timingSafeEqual(Buffer.from(got), Buffer.from(expected))).toBe(true);
  });

  it('talki: POSTs { userToken }, or the configured field, with hex X-Talki-Signature (talki-backend-connect.txt)', () => {
    const request = buildPlatformRequest('talki', { secret: SECRET, userToken: 'usr_abc123' });
    expect(request.body).toBe('{"userToken":"usr_abc123"}');
    expect(header(request, 'X-Talki-Signature')).toBe(hmac(SECRET, request.body!, 'hex'));
    const custom = buildPlatformRequest('talki', { secret: SECRET, userToken: 'u1', tokenField: 'visitorId' });
    expect(JSON.parse(custom.body!)).toEqual({ visitorId: 'u1' });
  });

  it('bullseye: the event family picks the route, hex X-Bullseye-Signature of the raw body (bullseye-webhooks.txt)', () => {
    expect(eventTypesFor('bullseye')).toEqual(['identification', 'billing']);
    const identification = buildPlatformRequest('bullseye', { secret: SECRET, now: NOW });
    expect(identification.path).toBe('/bullseye/identification');
    const billing = buildPlatformRequest('bullseye', { secret: SECRET, now: NOW, eventType: 'billing', test: true });
    expect(billing.path).toBe('/bullseye/billing');
    expect(JSON.parse(billing.body!)).toMatchObject({ test: true, type: 'invoice.paid' });
    expect(header(billing, 'X-Bullseye-Signature')).toBe(hmac(SECRET, billing.body!, 'hex'));
    expect(() => routeFor('bullseye', 'refund')).toThrow(RangeError);
  });

  it("buddystat: the body is JSON.stringify(payload), so the doc's verifyWebhook(payload, signature, secret) accepts it (buddystat-webhooks.txt)", () => {
    const request = buildPlatformRequest('buddystat', { secret: SECRET, now: NOW, eventType: 'goal.converted' });
    const payload: unknown = JSON.parse(request.body!);
    expect(payload).toMatchObject({ event: 'goal.converted' });
    expect(request.body).toBe(JSON.stringify(payload));
    // The doc's verifier, as published.
    const verifyWebhook = (p: unknown, signature: string, secret: string) =>
      timingSafeEqual(Buffer.from(signature), Buffer.from(createHmac('sha256', secret).update(JSON.stringify(p)).digest('hex')));
    expect(verifyWebhook(payload, header(request, 'X-BuddyStat-Signature')!, SECRET)).toBe(true);
    const renamed = buildPlatformRequest('buddystat', { secret: SECRET, signatureHeader: 'X-Signature' });
    expect(header(renamed, 'X-Signature')).toBeDefined();
  });

  it("helper: GET with the URLSearchParams query and Authorization: Bearer <base64 HMAC>, as the doc's validateHelperRequest checks (helper-metadata-endpoint.txt)", () => {
    const request = buildPlatformRequest('helper', { secret: SECRET, now: NOW, email: 'customer@example.com' });
    expect(request.method).toBe('GET');
    expect(request.body).toBeUndefined();
    expect(request.query).toBe('email=customer%40example.com&timestamp=1717000000');
    expect(header(request, 'content-type')).toBe('application/json');
    // The doc's validator, as published.
    const validateHelperRequest = (queryParams: Record<string, string>, authorizationHeader: string, hmacSecret: string) => {
      const hmacSignature = authorizationHeader.replace('Bearer ', '');
      const serializedParams = new URLSearchParams(queryParams).toString();
      return hmacSignature === createHmac('sha256', hmacSecret).update(serializedParams).digest('base64');
    };
    const params = Object.fromEntries(new URLSearchParams(request.query));
    expect(validateHelperRequest(params, header(request, 'Authorization')!, SECRET)).toBe(true);
  });
});

describe('signingSecretFor', () => {
  it('reads the route key of a stored JSON secret, or a plain-string secret, like the handlers', () => {
    const stored = JSON.stringify({ identification: 'id-secret', billing: 'billing-secret' });
    expect(signingSecretFor(stored, routeFor('bullseye', 'billing'))).toBe('billing-secret');
    expect(signingSecretFor('plain', PROVIDERS.talki.routes[0])).toBe('plain');
    expect(signingSecretFor('{"other":"x"}', PROVIDERS.talki.routes[0])).toBeUndefined();
  });
});

describe('requestUrl and toCurl', () => {
  const helper = buildPlatformRequest('helper', { secret: SECRET, now: NOW });

  it('appends the route and the query byte for byte, without doubling a route already in the URL', () => {
    expect(requestUrl('http://localhost:3000', helper)).toBe('http://localhost:3000/helper/customer?email=ada%40example.com&timestamp=1717000000');
    expect(requestUrl('https://abc.lambda-url.eu-west-1.on.aws/', helper)).toBe(
      'https://abc.lambda-url.eu-west-1.on.aws/helper/customer?email=ada%40example.com&timestamp=1717000000',
    );
    expect(requestUrl('https://api.example.com/prod/helper/customer', helper)).toBe(
      'https://api.example.com/prod/helper/customer?email=ada%40example.com&timestamp=1717000000',
    );
  });

  it('prints a shell-safe curl carrying the exact body and headers', () => {
    const talki = buildPlatformRequest('talki', { secret: SECRET, userToken: "o'brien" });
    const curl = toCurl('http://localhost:3000', talki);
    expect(curl).toContain(`-X POST 'http://localhost:3000/talki/customer'`);
    expect(curl).toContain(`-H 'X-Talki-Signature: ${header(talki, 'X-Talki-Signature')}'`);
    expect(curl).toContain(`--data-raw '{"userToken":"o'\\''brien"}'`);
    expect(toCurl('http://localhost:3000', helper)).toContain(`-H 'Authorization: Bearer `);
  });
});
