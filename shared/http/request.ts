import type {
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2,
} from 'aws-lambda';
import { hasKeys } from '../contract.js';

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
   * The body as the event carried it, when that was text whose UTF-8 bytes are `rawBody` (not base64,
   * no lone surrogates): JSON parsing reads it instead of decoding `rawBody` back into a string.
   */
  readonly bodyText: string | undefined;
  /**
   * The signed bytes in the cheapest form to hash: `bodyText` when there is one (HMAC and SHA-256
   * read a string as its UTF-8 bytes, which are exactly the bytes sent), `rawBody` otherwise.
   */
  readonly bodyAsSent: string | Buffer;
  /**
   * The query string as sent, without `?`. REST v1 events carry no raw query, so for them it is
   * rebuilt in order from the decoded parameters the way `URLSearchParams` serialises.
   */
  readonly rawQuery: string;
  readonly query: URLSearchParams;
  readonly requestId: string | undefined;
  readonly sourceIp: string | undefined;
}

export type ParseFailure =
  | { readonly reason: 'body_too_large'; readonly limitBytes: number }
  | { readonly reason: 'malformed_event' };

export type ParseResult =
  | { readonly ok: true; readonly request: HttpRequest }
  | { readonly ok: false; readonly failure: ParseFailure };

/** Lambda's own synchronous invocation payload limit. */
export const LAMBDA_PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024;

/** Every non-blank, trimmed part of a comma-joined header value, appended to `into`. */
function pushParts(into: string[], value: string): void {
  // Most values hold no comma (a signature never does): no split array for them.
  if (!value.includes(',')) {
    const trimmed = value.trim();
    if (trimmed.length > 0) into.push(trimmed);
    return;
  }
  for (const part of value.split(',')) {
    const trimmed = part.trim();
    if (trimmed.length > 0) into.push(trimmed);
  }
}

type HeaderSource = Readonly<Record<string, unknown>>;

/** One header value the event carries outside its headers object. */
interface ExtraHeader {
  readonly name: string;
  readonly value: string;
}

/**
 * Case-insensitive header access over the event's own header object, read in place. A request reads
 * one header (its signature), so a scan comparing name lengths first costs less than lower-casing
 * every name into a map on every request (an API Gateway event carries ten or more headers).
 */
export class RequestHeaders {
  private constructor(
    /** name -> value (`headers`) or name -> values (REST v1 `multiValueHeaders`), as the event has it. */
    private readonly source: HeaderSource | undefined,
    /** A value carried outside the headers: payload 2.0 moves cookies to `cookies`. */
    private readonly extra?: ExtraHeader,
  ) {}

  /** Headers from a name -> value or name -> values object; anything else (a hand-made or corrupted event) holds none. */
  static fromObject(headers: unknown, extra?: ExtraHeader): RequestHeaders {
    return new RequestHeaders(typeof headers === 'object' && headers !== null ? (headers as HeaderSource) : undefined, extra);
  }

  /** Every value sent under `name` in any case, in the event's order; AWS sends strings, anything else is no header. */
  private values(name: string): string[] {
    const wanted = name.toLowerCase();
    const found: string[] = [];
    const source = this.source;
    if (source) {
      for (const key in source) {
        if (key.length !== wanted.length || key.toLowerCase() !== wanted || !Object.hasOwn(source, key)) continue;
        const value = source[key];
        if (typeof value === 'string') found.push(value);
        else if (Array.isArray(value)) for (const item of value as unknown[]) if (typeof item === 'string') found.push(item);
      }
    }
    if (this.extra && this.extra.name === wanted) found.push(this.extra.value);
    return found;
  }

  /** The first value sent for a header (before any comma-joining was undone). */
  get(name: string): string | undefined {
    return this.values(name)[0];
  }

  /**
   * Every value of a header: duplicates delivered as separate values (REST v1 multi-value headers)
   * and duplicates comma-joined by API Gateway HTTP APIs and function URLs, split and trimmed.
   * Only for headers whose values can never contain a comma themselves, such as signatures.
   */
  all(name: string): string[] {
    const parts: string[] = [];
    for (const value of this.values(name)) pushParts(parts, value);
    return parts;
  }

  has(name: string): boolean {
    return this.values(name).length > 0;
  }
}

function isV2(event: HttpEvent): event is APIGatewayProxyEventV2 {
  return (event as APIGatewayProxyEventV2).version === '2.0';
}

/** The decoded size of a base64 string, known before decoding it. */
function base64DecodedLength(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return Math.floor((text.length * 3) / 4) - padding;
}

/**
 * The body of every request without one (a GET such as Helper's): one shared empty Buffer instead of
 * a new one per request. It has no bytes, so nothing can write to it.
 */
const NO_BODY = Buffer.alloc(0);

/** Over the limit, the failure; checked before anything reads the body (a 6 MB body is not scanned to be refused). */
function bodySizeFailure(body: string | null | undefined, isBase64Encoded: boolean | undefined, limitBytes: number): ParseFailure | undefined {
  if (body === null || body === undefined || body === '') return undefined;
  const size = isBase64Encoded ? base64DecodedLength(body) : Buffer.byteLength(body, 'utf8');
  return size > limitBytes ? { reason: 'body_too_large', limitBytes } : undefined;
}

/** The body's bytes when they cannot be read off `text` (base64, a text with lone surrogates), or undefined when they can. */
function bodyBytes(body: string | null | undefined, isBase64Encoded: boolean | undefined, text: string | undefined): Buffer | undefined {
  if (body === null || body === undefined || body === '') return NO_BODY;
  if (isBase64Encoded) return Buffer.from(body, 'base64');
  return text === undefined ? Buffer.from(body, 'utf8') : undefined;
}

/**
 * A request as parseHttpEvent makes it, from the event's body as carried (its size already held to
 * the limit). `rawBody` of a text body is its UTF-8 encoding, made on first read: verification, the
 * de-duplication hash and JSON parsing take the text when there is one, so a warm request never
 * copies its body into a Buffer (and Buffer.from's 8 KiB pool, refilled every few bodies, costs
 * more than the copy).
 */
class ParsedRequest implements HttpRequest {
  readonly bodyText: string | undefined;
  private bytes: Buffer | undefined;

  constructor(
    readonly format: EventFormat,
    readonly method: string,
    readonly path: string,
    readonly headers: RequestHeaders,
    body: string | null | undefined,
    isBase64Encoded: boolean | undefined,
    readonly rawQuery: string,
    readonly query: URLSearchParams,
    readonly requestId: string | undefined,
    readonly sourceIp: string | undefined,
  ) {
    this.bodyText = bodyText(body, isBase64Encoded);
    this.bytes = bodyBytes(body, isBase64Encoded, this.bodyText);
  }

  get rawBody(): Buffer {
    // No bytes were kept only when bodyText is exactly their source.
    return (this.bytes ??= Buffer.from(this.bodyText ?? '', 'utf8'));
  }

  get bodyAsSent(): string | Buffer {
    return this.bodyText ?? this.rawBody;
  }
}

/** String.prototype.isWellFormed (Node 20) is newer than the ES2023 library this project compiles against. */
interface WellFormedCheck {
  isWellFormed(): boolean;
}

/** The text whose UTF-8 encoding `bodyBytes` made, when decoding those bytes gives that same text back. */
function bodyText(body: string | null | undefined, isBase64Encoded: boolean | undefined): string | undefined {
  if (isBase64Encoded || typeof body !== 'string') return undefined;
  // A lone surrogate is written as U+FFFD, so such a text is not what its bytes decode to.
  return (body as string & WellFormedCheck).isWellFormed() ? body : undefined;
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

function v1Headers(event: APIGatewayProxyEvent): RequestHeaders {
  // multiValueHeaders holds every value when present; headers alone keeps only the last one.
  const multi: unknown = event.multiValueHeaders;
  return RequestHeaders.fromObject(typeof multi === 'object' && multi !== null && hasKeys(multi) ? multi : event.headers);
}

function fromV1(event: APIGatewayProxyEvent, limitBytes: number): ParseResult {
  if (typeof event.httpMethod !== 'string') return { ok: false, failure: { reason: 'malformed_event' } };
  const tooLarge = bodySizeFailure(event.body, event.isBase64Encoded, limitBytes);
  if (tooLarge) return { ok: false, failure: tooLarge };
  const rawQuery = serialiseQuery(event.multiValueQueryStringParameters, event.queryStringParameters);
  const path: unknown = event.path ?? '/';
  if (typeof path !== 'string') return { ok: false, failure: { reason: 'malformed_event' } };
  return {
    ok: true,
    request: new ParsedRequest(
      'rest-v1',
      event.httpMethod.toUpperCase(),
      path,
      v1Headers(event),
      event.body,
      event.isBase64Encoded,
      rawQuery,
      new URLSearchParams(rawQuery),
      event.requestContext?.requestId,
      event.requestContext?.identity?.sourceIp ?? undefined,
    ),
  };
}

function fromV2(event: APIGatewayProxyEventV2, limitBytes: number): ParseResult {
  const http = event.requestContext?.http;
  if (!http || typeof http.method !== 'string') return { ok: false, failure: { reason: 'malformed_event' } };
  const tooLarge = bodySizeFailure(event.body, event.isBase64Encoded, limitBytes);
  if (tooLarge) return { ok: false, failure: tooLarge };
  const rawQuery: unknown = event.rawQueryString ?? '';
  const path: unknown = event.rawPath ?? http.path ?? '/';
  // Routing and signing read these as strings; an event where they are not is malformed (400), not a 500.
  if (typeof path !== 'string' || typeof rawQuery !== 'string') return { ok: false, failure: { reason: 'malformed_event' } };
  // Payload 2.0 moves cookies out of the headers; put them back so nothing the caller sent is lost.
  const cookies = event.cookies && event.cookies.length > 0 ? { name: 'cookie', value: event.cookies.join('; ') } : undefined;
  const headers = RequestHeaders.fromObject(event.headers, cookies);
  return {
    ok: true,
    request: new ParsedRequest(
      // Same payload, but the log should say which door the request came through.
      event.requestContext.domainName?.includes('.lambda-url.') ? 'function-url' : 'http-v2',
      http.method.toUpperCase(),
      path,
      headers,
      event.body,
      event.isBase64Encoded,
      rawQuery,
      new URLSearchParams(rawQuery),
      event.requestContext.requestId,
      http.sourceIp,
    ),
  };
}

/** Turns any HTTP-shaped Lambda event into one request value; never throws. */
export function parseHttpEvent(event: unknown, limitBytes: number = LAMBDA_PAYLOAD_LIMIT_BYTES): ParseResult {
  if (typeof event !== 'object' || event === null) return { ok: false, failure: { reason: 'malformed_event' } };
  try {
    return isV2(event as HttpEvent)
      ? fromV2(event as APIGatewayProxyEventV2, limitBytes)
      : fromV1(event as APIGatewayProxyEvent, limitBytes);
  } catch {
    return { ok: false, failure: { reason: 'malformed_event' } };
  }
}
