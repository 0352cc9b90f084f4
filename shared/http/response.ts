/** The result shape all three HTTP event sources accept from a Lambda proxy integration. */
export interface HttpResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly isBase64Encoded: false;
}

export function jsonResponse(statusCode: number, body: unknown, extraHeaders?: Record<string, string>): HttpResponse {
  return jsonTextResponse(statusCode, JSON.stringify(body), extraHeaders);
}

/** A JSON answer whose body is serialised already: an answer that never changes is serialised once, not per request. */
export function jsonTextResponse(statusCode: number, json: string, extraHeaders?: Record<string, string>): HttpResponse {
  // A fresh literal per answer (callers may add headers); spreading a constant into it costs more.
  const headers: Record<string, string> = { 'content-type': 'application/json', 'cache-control': 'no-store' };
  if (extraHeaders) Object.assign(headers, extraHeaders);
  return { statusCode, headers, body: json, isBase64Encoded: false };
}

/** A JSON error answer: `{ "error": message }`, never carrying profile data. */
export function errorResponse(statusCode: number, message: string, extraHeaders?: Record<string, string>): HttpResponse {
  return jsonResponse(statusCode, { error: message }, extraHeaders);
}

/** 503 with Retry-After: every platform here retries a non-2xx, and this tells them when. */
export function unavailableResponse(message: string, retryAfterSeconds = 1): HttpResponse {
  return errorResponse(503, message, { 'retry-after': String(retryAfterSeconds) });
}
