import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

/**
 * Builds the event a Lambda function URL hands the function for one HTTP request (payload 2.0,
 * routeKey `$default`), so the local server invokes the real handlers with what AWS would send:
 * the raw path and query exactly as received, lower-cased headers with repeats comma-joined,
 * cookies moved to their own array, and the body as text or base64 like the function URL does.
 * See https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads
 */
export interface ReceivedRequest {
  readonly method: string;
  /** The request target as received (`/path?query`), never re-encoded. */
  readonly url: string;
  /** Header names and values in the order received, repeats kept (Node's `req.rawHeaders` pairs). */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer;
  readonly sourceIp?: string;
  readonly protocol?: string;
  /** Request time, for `requestContext.time` and `timeEpoch`. */
  readonly receivedAtMs?: number;
  readonly requestId?: string;
}

export const LOCAL_URL_ID = 'local0000000000000000000000000000';
const LOCAL_DOMAIN = `${LOCAL_URL_ID}.lambda-url.local.on.aws`;

/** Content types the function URL passes as text; anything else (or no type) arrives base64-encoded. */
export function isTextContentType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return (
    type.startsWith('text/') ||
    type === 'application/json' ||
    type.endsWith('+json') ||
    type === 'application/xml' ||
    type.endsWith('+xml') ||
    type === 'application/javascript'
  );
}

function isValidUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Splits `/path?query` at the first `?`; both halves exactly as received. */
export function splitTarget(url: string): { rawPath: string; rawQueryString: string } {
  const at = url.indexOf('?');
  if (at < 0) return { rawPath: url || '/', rawQueryString: '' };
  return { rawPath: url.slice(0, at) || '/', rawQueryString: url.slice(at + 1) };
}

/** Decoded query parameters, repeated names comma-joined, as function URLs deliver them. */
function queryParameters(rawQueryString: string): Record<string, string> | undefined {
  if (rawQueryString === '') return undefined;
  const params: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    params[name] = params[name] === undefined ? value : `${params[name]},${value}`;
  }
  return params;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `29/May/2024:16:26:40 +0000`, the format of `requestContext.time`. */
export function requestTime(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}

export function functionUrlEventFrom(request: ReceivedRequest): APIGatewayProxyEventV2 {
  const { rawPath, rawQueryString } = splitTarget(request.url);
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (const [name, value] of request.headers) {
    const key = name.toLowerCase();
    if (key === 'cookie') {
      // Function URLs move cookies out of the headers into their own array, one entry per cookie.
      cookies.push(...value.split(';').map((c) => c.trim()).filter((c) => c.length > 0));
      continue;
    }
    headers[key] = headers[key] === undefined ? value : `${headers[key]},${value}`;
  }
  const sourceIp = request.sourceIp ?? '127.0.0.1';
  // What the function URL front end adds in AWS; the caller's own values are kept when present.
  headers['x-forwarded-for'] ??= sourceIp;
  headers['x-forwarded-proto'] ??= 'http';
  headers['x-amzn-trace-id'] ??= `Root=1-${Math.floor((request.receivedAtMs ?? Date.now()) / 1000).toString(16)}-${randomUUID().replace(/-/g, '').slice(0, 24)}`;

  const receivedAtMs = request.receivedAtMs ?? Date.now();
  const method = request.method.toUpperCase();
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    headers,
    requestContext: {
      accountId: 'anonymous',
      apiId: LOCAL_URL_ID,
      domainName: LOCAL_DOMAIN,
      domainPrefix: LOCAL_URL_ID,
      http: {
        method,
        path: rawPath,
        protocol: request.protocol ?? 'HTTP/1.1',
        sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: request.requestId ?? randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: requestTime(receivedAtMs),
      timeEpoch: receivedAtMs,
    },
    isBase64Encoded: false,
  };
  if (cookies.length > 0) event.cookies = cookies;
  const query = queryParameters(rawQueryString);
  if (query) event.queryStringParameters = query;
  if (request.body.length > 0) {
    const asText = isTextContentType(headers['content-type']) && isValidUtf8(request.body);
    event.body = asText ? request.body.toString('utf8') : request.body.toString('base64');
    event.isBase64Encoded = !asText;
  }
  return event;
}
