import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';

/**
 * Builds the three events AWS delivers for one HTTP request, shaped exactly as AWS sends them:
 * API Gateway REST (payload 1.0), HTTP API (payload 2.0) and Lambda function URL (2.0 shape, its own
 * requestContext). Bodies that are not valid UTF-8, or all bodies when `base64` is set, arrive base64-encoded.
 */
export interface RequestSpec {
  readonly method: string;
  readonly path: string;
  /** Raw query string without `?`, exactly as the client sent it. */
  readonly query?: string;
  /** Header list in order; repeated names are allowed. */
  readonly headers?: ReadonlyArray<readonly [string, string]>;
  readonly body?: string | Uint8Array;
  /** Force base64 delivery even for a text body (API Gateway does so for binary media types). */
  readonly base64?: boolean;
}

export type EventKind = 'rest-v1' | 'http-v2' | 'function-url';
export const EVENT_KINDS: readonly EventKind[] = ['rest-v1', 'http-v2', 'function-url'];

function bodyFields(spec: RequestSpec): { body: string | undefined; isBase64Encoded: boolean } {
  if (spec.body === undefined) return { body: undefined, isBase64Encoded: false };
  const bytes = typeof spec.body === 'string' ? Buffer.from(spec.body, 'utf8') : Buffer.from(spec.body);
  const isText = typeof spec.body === 'string' && !spec.base64;
  return isText ? { body: spec.body as string, isBase64Encoded: false } : { body: bytes.toString('base64'), isBase64Encoded: true };
}

/**
 * Headers API Gateway and function URLs add to every request they forward (a handler reads past them
 * on every request, so benchmarks and tests carry them as AWS does). Names as REST APIs write them;
 * payload 2.0 lower-cases them. A name the request itself sets is left as the request set it.
 */
function withAwsHeaders(spec: RequestSpec, host: string): Array<readonly [string, string]> {
  const own = new Set((spec.headers ?? []).map(([name]) => name.toLowerCase()));
  const added: Array<readonly [string, string]> = [
    ['Host', host],
    ['X-Amzn-Trace-Id', 'Root=1-665756e0-3c5a9b2f1e0d4c6b8a7f9e12'],
    ['X-Forwarded-For', '203.0.113.10'],
    ['X-Forwarded-Port', '443'],
    ['X-Forwarded-Proto', 'https'],
  ];
  if (spec.body !== undefined) added.push(['Content-Length', String(typeof spec.body === 'string' ? Buffer.byteLength(spec.body) : spec.body.byteLength)]);
  return [...added.filter(([name]) => !own.has(name.toLowerCase())), ...(spec.headers ?? [])];
}

/** HTTP API and function URLs lower-case header names and comma-join repeated headers. */
function joinedHeaders(list: ReadonlyArray<readonly [string, string]>): Record<string, string> {
  // A Map, then Object.fromEntries: names such as `constructor` or `__proto__` become plain own keys, as in a parsed event.
  const headers = new Map<string, string>();
  for (const [name, value] of list) {
    const key = name.toLowerCase();
    const previous = headers.get(key);
    headers.set(key, previous === undefined ? value : `${previous},${value}`);
  }
  return Object.fromEntries(headers);
}

/** Appends to a list kept by name; the lists become an object of own keys (see joinedHeaders). */
function appendTo(lists: Map<string, string[]>, name: string, value: string): void {
  const list = lists.get(name);
  if (list) list.push(value);
  else lists.set(name, [value]);
}

function decodedQuery(query: string | undefined): { single: Record<string, string> | null; multi: Record<string, string[]> | null } {
  if (!query) return { single: null, multi: null };
  const single = new Map<string, string>();
  const multi = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(query)) {
    single.set(name, value);
    appendTo(multi, name, value);
  }
  return { single: Object.fromEntries(single), multi: Object.fromEntries(multi) };
}

export function restV1Event(spec: RequestSpec): APIGatewayProxyEvent {
  const lastValues = new Map<string, string>();
  const allValues = new Map<string, string[]>();
  for (const [name, value] of withAwsHeaders(spec, 'abc123defg.execute-api.eu-west-1.amazonaws.com')) {
    lastValues.set(name, value); // REST v1 keeps the last value in `headers`...
    appendTo(allValues, name, value); // ...and all of them here.
  }
  const headers: Record<string, string> = Object.fromEntries(lastValues);
  const multiValueHeaders: Record<string, string[]> = Object.fromEntries(allValues);
  const { single, multi } = decodedQuery(spec.query);
  const { body, isBase64Encoded } = bodyFields(spec);
  return {
    resource: spec.path,
    path: spec.path,
    httpMethod: spec.method,
    headers,
    multiValueHeaders,
    queryStringParameters: single,
    multiValueQueryStringParameters: multi,
    pathParameters: null,
    stageVariables: null,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123defg',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: spec.method,
      identity: {
        accessKey: null, accountId: null, apiKey: null, apiKeyId: null, caller: null, clientCert: null,
        cognitoAuthenticationProvider: null, cognitoAuthenticationType: null, cognitoIdentityId: null,
        cognitoIdentityPoolId: null, principalOrgId: null, sourceIp: '203.0.113.10', user: null,
        userAgent: 'platform-webhooks/1.0', userArn: null,
      },
      path: `/prod${spec.path}`,
      stage: 'prod',
      requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      requestTimeEpoch: 1717000000000,
      resourceId: 'abcdef',
      resourcePath: spec.path,
    },
    body: body ?? null,
    isBase64Encoded,
  };
}

function v2Event(spec: RequestSpec, domainName: string, apiId: string, routeKey: string): APIGatewayProxyEventV2 {
  const { single } = decodedQuery(spec.query);
  const { body, isBase64Encoded } = bodyFields(spec);
  const headers = joinedHeaders(withAwsHeaders(spec, domainName));
  const cookieHeader = headers['cookie'];
  delete headers['cookie'];
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey,
    rawPath: spec.path,
    rawQueryString: spec.query ?? '',
    headers,
    requestContext: {
      accountId: '123456789012',
      apiId,
      domainName,
      domainPrefix: domainName.split('.')[0]!,
      http: { method: spec.method, path: spec.path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.10', userAgent: 'platform-webhooks/1.0' },
      requestId: 'JKJaXmPLvHcESHA=',
      routeKey,
      stage: '$default',
      time: '29/May/2024:16:26:40 +0000',
      timeEpoch: 1717000000000,
    },
    isBase64Encoded,
  };
  if (cookieHeader) event.cookies = cookieHeader.split(/;\s*/);
  if (single) event.queryStringParameters = single;
  if (body !== undefined) event.body = body;
  return event;
}

export function httpV2Event(spec: RequestSpec): APIGatewayProxyEventV2 {
  return v2Event(spec, 'abc123defg.execute-api.eu-west-1.amazonaws.com', 'abc123defg', `${spec.method} ${spec.path}`);
}

export function functionUrlEvent(spec: RequestSpec): APIGatewayProxyEventV2 {
  // Function URLs use the 2.0 shape with routeKey `$default` and the URL id as the api id.
  const urlId = 'a1b2c3d4e5f6g7h8i9j0klmnopqrstuv';
  return v2Event(spec, `${urlId}.lambda-url.eu-west-1.on.aws`, urlId, '$default');
}

export function eventFor(kind: EventKind, spec: RequestSpec): APIGatewayProxyEvent | APIGatewayProxyEventV2 {
  if (kind === 'rest-v1') return restV1Event(spec);
  if (kind === 'http-v2') return httpV2Event(spec);
  return functionUrlEvent(spec);
}
