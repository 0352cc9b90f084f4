/** The result shape all three HTTP event sources accept from a Lambda proxy integration. */
export interface HttpResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly isBase64Encoded: false;
}

export function jsonResponse(statusCode: number, body: unknown, extraHeaders?: Record<string, string>): HttpResponse {
  const headers = { 'content-type': 'application/json', 'cache-control': 'no-store', ...extraHeaders };
  return { statusCode, headers, body: JSON.stringify(body), isBase64Encoded: false };
}

/** A JSON error answer: `{ "error": message }`, never carrying profile data. */
export function errorResponse(statusCode: number, message: string, extraHeaders?: Record<string, string>): HttpResponse {
  return jsonResponse(statusCode, { error: message }, extraHeaders);
}

/** 503 with Retry-After: every platform here retries a non-2xx, and this tells them when. */
export function unavailableResponse(message: string, retryAfterSeconds = 1): HttpResponse {
  return errorResponse(503, message, { 'retry-after': String(retryAfterSeconds) });
}
