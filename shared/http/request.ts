import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';

/**
 * The three events AWS hands a Lambda that sits behind HTTP:
 * API Gateway REST (payload 1.0), HTTP API (payload 2.0) and function URLs (payload 2.0 shape).
 */
export type HttpEvent = APIGatewayProxyEvent | APIGatewayProxyEventV2;

export type EventFormat = 'rest-v1' | 'http-v2' | 'function-url';

/** One request, whatever carried it: the bytes and query exactly as the caller signed them. */
export interface HttpRequest {
  readonly format: EventFormat;
  readonly method: string;
  readonly path: string;
  readonly headers: RequestHeaders;
  /** The body bytes as sent: base64 bodies decoded, text bodies as UTF-8, never re-serialised. */
  readonly rawBody: Buffer;
  /**
   * The query string as sent, without `?`. REST v1 events carry no raw query, so for them it is
   * rebuilt in order from the decoded parameters the way `URLSearchParams` serialises.
   */
  readonly rawQuery: string;
  readonly query: URLSearchParams;
  readonly requestId: string | undefined;
}

export type ParseFailure =
  | { readonly reason: 'body_too_large'; readonly limitBytes: number }
  | { readonly reason: 'malformed_event' };

export type ParseResult =
  | { readonly ok: true; readonly request: HttpRequest }
  | { readonly ok: false; readonly failure: ParseFailure };

/** Lambda's own synchronous invocation payload limit. */
export const LAMBDA_PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024;

const MALFORMED: ParseResult = { ok: false, failure: { reason: 'malformed_event' } };

/** Case-insensitive header values, as the event carried them (AWS sends strings; anything else is no header). */
export class RequestHeaders {
  private readonly byName = new Map<string, string[]>();

  constructor(headers: unknown, cookies?: readonly string[]) {
    if (typeof headers === 'object' && headers !== null) {
      for (const [name, value] of Object.entries(headers)) {
        for (const item of Array.isArray(value) ? value : [value]) if (typeof item === 'string') this.add(name, item);
      }
    }
    // Payload 2.0 moves cookies out of the headers; put them back so nothing the caller sent is lost.
    if (cookies && cookies.length > 0) this.add('cookie', cookies.join('; '));
  }

  private add(name: string, value: string): void {
    const key = name.toLowerCase();
    const values = this.byName.get(key);
    if (values) values.push(value);
    else this.byName.set(key, [value]);
  }

  /** Every value sent under `name`, as sent (REST v1 keeps repeats apart; HTTP APIs and function URLs comma-join them). */
  raw(name: string): readonly string[] {
    return this.byName.get(name.toLowerCase()) ?? [];
  }

  /** A header sent once, trimmed; undefined when it is absent, blank or repeated. */
  single(name: string): string | undefined {
    const values = this.raw(name);
    const value = values.length === 1 ? values[0]!.trim() : '';
    return value.length > 0 ? value : undefined;
  }

  /**
   * Every value of a header: duplicates delivered as separate values (REST v1 multi-value headers)
   * and duplicates comma-joined by API Gateway HTTP APIs and function URLs, split and trimmed.
   * Only for headers whose values can never contain a comma themselves, such as signatures.
   */
  all(name: string): string[] {
    return this.raw(name)
      .flatMap((value) => value.split(','))
      .map((part) => part.trim())
      .filter((part) => part.length > 0);
  }
}

/** The decoded size of a base64 string, known before decoding it. */
function base64DecodedLength(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return Math.floor((text.length * 3) / 4) - padding;
}

interface EventBody {
  readonly body?: string | null;
  readonly isBase64Encoded?: boolean;
}

/** The body's size, checked before it is decoded: a 6 MB body is not copied only to be refused. */
function bodySize({ body, isBase64Encoded }: EventBody): number {
  if (!body) return 0;
  return isBase64Encoded ? base64DecodedLength(body) : Buffer.byteLength(body, 'utf8');
}

function bodyBytes({ body, isBase64Encoded }: EventBody): Buffer {
  if (!body) return Buffer.alloc(0);
  return Buffer.from(body, isBase64Encoded ? 'base64' : 'utf8');
}

/** REST v1 has no raw query: rebuild it in the order API Gateway kept, as `URLSearchParams` writes it. */
export function serialiseQuery(
  multiValue: Record<string, string[] | undefined> | null | undefined,
  singleValue: Record<string, string | undefined> | null | undefined,
): string {
  const params = new URLSearchParams();
  if (multiValue) {
    for (const [name, values] of Object.entries(multiValue)) {
      for (const value of values ?? []) params.append(name, value);
    }
  } else if (singleValue) {
    for (const [name, value] of Object.entries(singleValue)) {
      if (value !== undefined) params.append(name, value);
    }
  }
  return params.toString();
}

function fromV1(event: APIGatewayProxyEvent): Omit<HttpRequest, 'rawBody'> | undefined {
  const path: unknown = event.path ?? '/';
  if (typeof event.httpMethod !== 'string' || typeof path !== 'string') return undefined;
  const rawQuery = serialiseQuery(event.multiValueQueryStringParameters, event.queryStringParameters);
  // multiValueHeaders holds every value when present; headers alone keeps only the last one.
  const multi = event.multiValueHeaders as unknown;
  const hasMulti = typeof multi === 'object' && multi !== null && Object.keys(multi).length > 0;
  return {
    format: 'rest-v1',
    method: event.httpMethod.toUpperCase(),
    path,
    headers: new RequestHeaders(hasMulti ? multi : event.headers),
    rawQuery,
    query: new URLSearchParams(rawQuery),
    requestId: event.requestContext?.requestId,
  };
}

function fromV2(event: APIGatewayProxyEventV2): Omit<HttpRequest, 'rawBody'> | undefined {
  const http = event.requestContext?.http;
  const rawQuery: unknown = event.rawQueryString ?? '';
  const path: unknown = event.rawPath ?? http?.path ?? '/';
  // Routing and signing read these as strings; an event where they are not is malformed (400), not a 500.
  if (!http || typeof http.method !== 'string' || typeof path !== 'string' || typeof rawQuery !== 'string') return undefined;
  return {
    // Same payload, but the log should say which door the request came through.
    format: event.requestContext.domainName?.includes('.lambda-url.') ? 'function-url' : 'http-v2',
    method: http.method.toUpperCase(),
    path,
    headers: new RequestHeaders(event.headers, event.cookies),
    rawQuery,
    query: new URLSearchParams(rawQuery),
    requestId: event.requestContext.requestId,
  };
}

/** Turns any HTTP-shaped Lambda event into one request value, refusing a body over `limitBytes`; never throws. */
export function parseHttpEvent(event: unknown, limitBytes: number = LAMBDA_PAYLOAD_LIMIT_BYTES): ParseResult {
  if (typeof event !== 'object' || event === null) return MALFORMED;
  try {
    const isV2 = (event as APIGatewayProxyEventV2).version === '2.0';
    const fields = isV2 ? fromV2(event as APIGatewayProxyEventV2) : fromV1(event as APIGatewayProxyEvent);
    if (!fields) return MALFORMED;
    const body = event as EventBody;
    if (bodySize(body) > limitBytes) return { ok: false, failure: { reason: 'body_too_large', limitBytes } };
    return { ok: true, request: { ...fields, rawBody: bodyBytes(body) } };
  } catch {
    return MALFORMED;
  }
}
