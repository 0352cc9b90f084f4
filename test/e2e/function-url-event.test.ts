import { describe, expect, it } from 'vitest';
import { functionUrlEventFrom, isTextContentType, requestTime, splitTarget } from '../../local/function-url-event.js';
import { parseHttpEvent } from '../../shared/http/request.js';
import { functionUrlEvent } from '../support/events.js';

const base = {
  method: 'POST',
  url: '/helper/customer?email=ada%40example.com&tag=a+b&tag=c',
  headers: [
    ['Host', 'localhost:3000'],
    ['Content-Type', 'application/json'],
    ['X-Sig', 'one'],
    ['x-sig', 'two'],
    ['Cookie', 'a=1; b=2'],
  ] as [string, string][],
  body: Buffer.from('{"userToken":"u1"}'),
  sourceIp: '127.0.0.1',
  receivedAtMs: Date.UTC(2024, 4, 29, 16, 26, 40),
};

describe('functionUrlEventFrom: the event a Lambda function URL delivers', () => {
  it('is payload 2.0 with routeKey $default, the raw path and query exactly as received', () => {
    const event = functionUrlEventFrom(base);
    expect(event.version).toBe('2.0');
    expect(event.routeKey).toBe('$default');
    expect(event.rawPath).toBe('/helper/customer');
    expect(event.rawQueryString).toBe('email=ada%40example.com&tag=a+b&tag=c');
    // Decoded, repeats comma-joined, as function URLs deliver them.
    expect(event.queryStringParameters).toEqual({ email: 'ada@example.com', tag: 'a b,c' });
    expect(event.requestContext).toMatchObject({
      routeKey: '$default',
      stage: '$default',
      http: { method: 'POST', path: '/helper/customer', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1' },
      time: '29/May/2024:16:26:40 +0000',
      timeEpoch: base.receivedAtMs,
    });
  });

  it('lower-cases header names, comma-joins repeats, and moves cookies to their own array', () => {
    const event = functionUrlEventFrom(base);
    expect(event.headers).toMatchObject({ host: 'localhost:3000', 'content-type': 'application/json', 'x-sig': 'one,two' });
    expect(event.headers.cookie).toBeUndefined();
    expect(event.cookies).toEqual(['a=1', 'b=2']);
  });

  it('keeps a JSON body as text, and base64-encodes binary, untyped, or invalid UTF-8 bodies', () => {
    expect(functionUrlEventFrom(base)).toMatchObject({ body: '{"userToken":"u1"}', isBase64Encoded: false });
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x7b]);
    const asJson = functionUrlEventFrom({ ...base, body: binary });
    expect(asJson).toMatchObject({ body: binary.toString('base64'), isBase64Encoded: true });
    const untyped = functionUrlEventFrom({ ...base, headers: [] });
    expect(untyped).toMatchObject({ body: base.body.toString('base64'), isBase64Encoded: true });
    const none = functionUrlEventFrom({ ...base, method: 'GET', body: Buffer.alloc(0) });
    expect(none.body).toBeUndefined();
    expect(none.isBase64Encoded).toBe(false);
  });

  it('parses back to the same bytes and query through the handlers\' own parseHttpEvent', () => {
    for (const body of [base.body, Buffer.from([0xff, 0x00, 0x80])]) {
      const parsed = parseHttpEvent(functionUrlEventFrom({ ...base, body }));
      expect(parsed.ok).toBe(true);
      if (!parsed.ok) return;
      expect(parsed.request.rawBody.equals(body)).toBe(true);
      expect(parsed.request.rawQuery).toBe('email=ada%40example.com&tag=a+b&tag=c');
      expect(parsed.request.headers.all('x-sig')).toEqual(['one', 'two']);
      expect(parsed.request.format).toBe('function-url');
    }
  });

  it('has the same shape as the function URL fixture the handler tests use', () => {
    const ours = functionUrlEventFrom(base);
    const fixture = functionUrlEvent({ method: 'POST', path: '/helper/customer', query: 'email=ada%40example.com', headers: base.headers, body: '{}' });
    expect(Object.keys(ours).sort()).toEqual(Object.keys(fixture).sort());
    expect(Object.keys(ours.requestContext).sort()).toEqual(Object.keys(fixture.requestContext).sort());
    expect(Object.keys(ours.requestContext.http).sort()).toEqual(Object.keys(fixture.requestContext.http).sort());
  });

  it('helpers: target split, text content types, request time', () => {
    expect(splitTarget('/a?b=c?d')).toEqual({ rawPath: '/a', rawQueryString: 'b=c?d' });
    expect(splitTarget('/a')).toEqual({ rawPath: '/a', rawQueryString: '' });
    expect(isTextContentType('application/json; charset=utf-8')).toBe(true);
    expect(isTextContentType('application/cloudevents+json')).toBe(true);
    expect(isTextContentType('text/plain')).toBe(true);
    expect(isTextContentType('application/octet-stream')).toBe(false);
    expect(isTextContentType('application/x-www-form-urlencoded')).toBe(false);
    expect(requestTime(Date.UTC(2020, 2, 12, 19, 3, 58))).toBe('12/Mar/2020:19:03:58 +0000');
  });
});
