import { describe, expect, it } from 'vitest';
import {
  LAMBDA_PAYLOAD_LIMIT_BYTES,
  parseHttpEvent,
  serialiseQuery,
  type HttpRequest,
  type ParseResult,
} from '../../shared/http/request.js';
import { EVENT_KINDS, eventFor, functionUrlEvent, httpV2Event, restV1Event, type RequestSpec } from '../support/events.js';

function parsed(result: ParseResult): HttpRequest {
  if (!result.ok) throw new Error(`expected a request, got ${result.failure.reason}`);
  return result.request;
}

const NON_UTF8 = Uint8Array.from([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x82, 0x0a, 0xf0, 0x28, 0x8c, 0xbc]);
const PRETTY_JSON = '{\n  "sessionId": "sess_42",\n  "agentId": "agt_7",\n  "timestamp": 1717000000\n}\n';

describe.each(EVENT_KINDS)('parseHttpEvent (%s)', (kind) => {
  const format = kind;

  it('reads method, path, format and request id', () => {
    const request = parsed(parseHttpEvent(eventFor(kind, { method: 'post', path: '/buddy/identity', body: '{}' })));
    expect(request.format).toBe(format);
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/buddy/identity');
    expect(request.requestId).toBeTypeOf('string');
  });

  it('bullseye/talki/buddy: "HMAC of the raw body" — non-UTF-8 bytes delivered base64 come back byte-exact', () => {
    const event = eventFor(kind, { method: 'POST', path: '/bullseye/billing', body: NON_UTF8 });
    expect(event.isBase64Encoded).toBe(true);
    const request = parsed(parseHttpEvent(event));
    expect(Buffer.compare(request.rawBody, Buffer.from(NON_UTF8))).toBe(0);
  });

  it('non-ASCII UTF-8 ("Zoë 🚀") is byte-exact as text and as base64', () => {
    const text = JSON.stringify({ name: 'Zoë 🚀' });
    for (const base64 of [false, true]) {
      const event = eventFor(kind, { method: 'POST', path: '/talki/customer', body: text, base64 });
      expect(event.isBase64Encoded).toBe(base64);
      const request = parsed(parseHttpEvent(event));
      expect(request.rawBody.equals(Buffer.from(text, 'utf8'))).toBe(true);
      expect(request.rawBody.toString('utf8')).toBe(text);
    }
  });

  it('talki: "Compute the HMAC over the raw request body — not the parsed JSON" — pretty-printed JSON is not re-serialised', () => {
    const request = parsed(parseHttpEvent(eventFor(kind, { method: 'POST', path: '/talki/customer', body: PRETTY_JSON })));
    expect(request.rawBody.toString('utf8')).toBe(PRETTY_JSON);
    expect(request.rawBody.toString('utf8')).not.toBe(JSON.stringify(JSON.parse(PRETTY_JSON)));
  });

  it('an absent body is zero bytes', () => {
    const request = parsed(parseHttpEvent(eventFor(kind, { method: 'GET', path: '/helper/customer' })));
    expect(request.rawBody.length).toBe(0);
  });

  it('headers are case-insensitive', () => {
    const request = parsed(
      parseHttpEvent(eventFor(kind, { method: 'POST', path: '/talki/customer', headers: [['X-Talki-Signature', 'a3f8c2'], ['Content-Type', 'application/json']] })),
    );
    expect(request.headers.all('x-talki-signature')[0]).toBe('a3f8c2');
    expect(request.headers.all('X-TALKI-SIGNATURE')[0]).toBe('a3f8c2');
    expect(request.headers.all('content-type').length > 0).toBe(true);
    expect(request.headers.all('x-missing')[0]).toBeUndefined();
    expect(request.headers.all('x-missing')).toEqual([]);
  });

  it('a repeated signature header yields every value through headers.all() (v2 comma-joins, v1 multiValueHeaders)', () => {
    const event = eventFor(kind, {
      method: 'POST',
      path: '/bullseye/identification',
      headers: [['X-Bullseye-Signature', 'aaaa'], ['X-Bullseye-Signature', 'bbbb']],
    });
    if ('multiValueHeaders' in event) {
      expect(event.multiValueHeaders['X-Bullseye-Signature']).toEqual(['aaaa', 'bbbb']);
      expect(event.headers['X-Bullseye-Signature']).toBe('bbbb'); // v1 `headers` keeps only the last
    } else {
      expect(event.headers['x-bullseye-signature']).toBe('aaaa,bbbb');
    }
    const request = parsed(parseHttpEvent(event));
    expect(request.headers.all('X-Bullseye-Signature')).toEqual(['aaaa', 'bbbb']);
    expect(request.headers.all('x-bullseye-signature')).toEqual(['aaaa', 'bbbb']);
  });

  it('header names differing only in case are one header', () => {
    const event = eventFor(kind, { method: 'POST', path: '/bullseye/billing', headers: [['X-Bullseye-Signature', 'aaaa'], ['x-bullseye-signature', 'bbbb']] });
    expect(parsed(parseHttpEvent(event)).headers.all('X-BULLSEYE-SIGNATURE')).toEqual(['aaaa', 'bbbb']);
  });

  it('helper: the query the platform signed is available as rawQuery and decoded as query', () => {
    const query = 'email=ada%40example.com&timestamp=1717000000';
    const request = parsed(parseHttpEvent(eventFor(kind, { method: 'GET', path: '/helper/customer', query })));
    expect(request.rawQuery).toBe(query);
    expect(request.query.get('email')).toBe('ada@example.com');
    expect(request.query.get('timestamp')).toBe('1717000000');
  });

  it('a body over the limit is body_too_large, text or base64, measured in bytes', () => {
    const limit = 16;
    const cases: [RequestSpec['body'], boolean, boolean][] = [
      ['x'.repeat(16), false, true],
      ['x'.repeat(17), false, false],
      ['ë'.repeat(8), false, true], // 16 bytes
      ['ë'.repeat(9), false, false], // 9 characters, 18 bytes
      [new Uint8Array(15), true, true],
      [new Uint8Array(16), true, true],
      [new Uint8Array(17), true, false],
      [new Uint8Array(18), true, false],
    ];
    for (const [body, base64, fits] of cases) {
      const result = parseHttpEvent(eventFor(kind, { method: 'POST', path: '/buddy/identity', body, base64 }), limit);
      if (fits) expect(result.ok, `${String(body)} fits`).toBe(true);
      else expect(result).toEqual({ ok: false, failure: { reason: 'body_too_large', limitBytes: limit } });
    }
  });
});

describe('parseHttpEvent: query strings per event format', () => {
  it('HTTP API and function URLs keep the raw query exactly (helper signs the query string)', () => {
    for (const build of [httpV2Event, functionUrlEvent]) {
      for (const query of ['email=ada%40example.com&timestamp=1717000000', 'email=ada@example.com&timestamp=1717000000', 'name=Ada+Lovelace&x=a%20b']) {
        expect(parsed(parseHttpEvent(build({ method: 'GET', path: '/helper/customer', query }))).rawQuery).toBe(query);
      }
    }
    const plus = parsed(parseHttpEvent(httpV2Event({ method: 'GET', path: '/helper/customer', query: 'name=Ada+Lovelace' })));
    expect(plus.query.get('name')).toBe('Ada Lovelace');
  });

  it('REST v1 has no raw query: it is rebuilt in order as URLSearchParams serialises', () => {
    const rebuilt = (query: string) => parsed(parseHttpEvent(restV1Event({ method: 'GET', path: '/helper/customer', query }))).rawQuery;
    expect(rebuilt('email=ada%40example.com&timestamp=1717000000')).toBe('email=ada%40example.com&timestamp=1717000000');
    expect(rebuilt('email=ada@example.com&timestamp=1717000000')).toBe('email=ada%40example.com&timestamp=1717000000');
    expect(rebuilt('name=Ada+Lovelace&x=a%20b')).toBe('name=Ada+Lovelace&x=a+b');
    expect(rebuilt('timestamp=1717000000&email=ada%40example.com')).toBe('timestamp=1717000000&email=ada%40example.com');
    expect(rebuilt('')).toBe('');
  });

  it('REST v1 with only queryStringParameters (no multi-value map) is rebuilt from it', () => {
    const event = restV1Event({ method: 'GET', path: '/helper/customer', query: 'email=ada%40example.com&timestamp=1717000000' });
    event.multiValueQueryStringParameters = null;
    expect(parsed(parseHttpEvent(event)).rawQuery).toBe('email=ada%40example.com&timestamp=1717000000');
  });

  it('serialiseQuery keeps repeated parameters', () => {
    expect(serialiseQuery({ a: ['1', '2'], b: ['x y'] }, { a: '2', b: 'x y' })).toBe('a=1&a=2&b=x+y');
    expect(serialiseQuery(null, { a: '1', skip: undefined })).toBe('a=1');
    expect(serialiseQuery(undefined, undefined)).toBe('');
  });
});

describe('parseHttpEvent: other event details', () => {
  it('REST v1 without multiValueHeaders falls back to headers', () => {
    const event = restV1Event({ method: 'POST', path: '/buddy/identity', headers: [['X-Platform-Signature', 'abc']] });
    event.multiValueHeaders = {};
    expect(parsed(parseHttpEvent(event)).headers.all('x-platform-signature')[0]).toBe('abc');
  });

  it('payload 2.0 cookies are put back as a cookie header', () => {
    const request = parsed(parseHttpEvent(httpV2Event({ method: 'GET', path: '/helper/customer', headers: [['Cookie', 'a=1; b=2']] })));
    expect(request.headers.all('cookie')[0]).toBe('a=1; b=2');
  });

  it('hand-made header objects: names in any case are one header, values that are not strings are no header', () => {
    const event = httpV2Event({ method: 'POST', path: '/buddy/identity' });
    (event as { headers: Record<string, unknown> }).headers = { 'X-Platform-Signature': 'aaaa', 'x-platform-signature': 'bbbb', 'x-platform-signaturE': 7, Cookie: ['c=1'] };
    event.cookies = ['a=1'];
    const headers = parsed(parseHttpEvent(event)).headers;
    expect(headers.all('x-platform-signature')).toEqual(['aaaa', 'bbbb']);
    expect(headers.all('X-PLATFORM-SIGNATURE')[0]).toBe('aaaa');
    expect(headers.all('cookie')).toEqual(['c=1', 'a=1']);
    expect(headers.all('x-platform')).toEqual([]);
  });

  it('the default limit is Lambda’s 6 MB payload limit', () => {
    expect(LAMBDA_PAYLOAD_LIMIT_BYTES).toBe(6 * 1024 * 1024);
    const big = 'x'.repeat(LAMBDA_PAYLOAD_LIMIT_BYTES + 1);
    expect(parseHttpEvent(functionUrlEvent({ method: 'POST', path: '/buddy/identity', body: big }))).toEqual({
      ok: false,
      failure: { reason: 'body_too_large', limitBytes: LAMBDA_PAYLOAD_LIMIT_BYTES },
    });
  });
});

describe('parseHttpEvent: malformed events are a value, never a throw', () => {
  const hostile = new Proxy(
    {},
    {
      get() {
        throw new Error('boom');
      },
    },
  );
  const throwingBody = { httpMethod: 'POST', path: '/x', get body(): string {
    throw new Error('boom');
  } };
  const cases: [string, unknown][] = [
    ['null', null],
    ['undefined', undefined],
    ['{}', {}],
    ['a number', 42],
    ['a string', 'POST /buddy/identity'],
    ['an array', []],
    ['a 2.0 event without requestContext', { version: '2.0', rawPath: '/x' }],
    ['a 2.0 event without http method', { version: '2.0', requestContext: { http: {} } }],
    ['a 1.0 event with a non-string method', { httpMethod: 5, path: '/x' }],
    ['a proxy that throws on every read', hostile],
    ['a body getter that throws', throwingBody],
  ];
  it.each(cases)('%s -> malformed_event', (_name, event) => {
    expect(() => parseHttpEvent(event)).not.toThrow();
    expect(parseHttpEvent(event)).toEqual({ ok: false, failure: { reason: 'malformed_event' } });
  });
});
