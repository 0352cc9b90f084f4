import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { bearerTokenFromSecret, HttpDirectory, type TokenProvider } from '../../shared/customers/http.js';

const ADA = { userId: 'usr_ada', email: 'ada@example.com', name: 'Ada', value: 4200, attributes: { mrr: 149 } };

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly authorization: string | undefined;
  readonly accept: string | undefined;
}

type Route = (req: IncomingMessage, res: ServerResponse) => void;

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** A real user API on an ephemeral port; each test sets `route`. */
describe('HttpDirectory against a local HTTP server', () => {
  let server: Server;
  let baseUrl: string;
  let route: Route;
  const seen: Seen[] = [];
  const token: TokenProvider = async () => 'tok_123';

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, accept: req.headers.accept });
      route(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(() => {
    seen.length = 0;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('GET /users/{id} with the bearer token, answering the profile', async () => {
    route = (_req, res) => json(res, 200, ADA);
    const directory = new HttpDirectory({ baseUrl, token });
    await expect(directory.findByUserId('usr/ada 1')).resolves.toEqual(ADA);
    expect(seen).toEqual([{ method: 'GET', url: '/users/usr%2Fada%201', authorization: 'Bearer tok_123', accept: 'application/json' }]);
  });

  it('GET /sessions/{id} answers the session user\'s profile', async () => {
    route = (_req, res) => json(res, 200, ADA);
    const directory = new HttpDirectory({ baseUrl: `${baseUrl}/v1/`, token });
    await expect(directory.findBySessionId('sess_1')).resolves.toEqual(ADA);
    expect(seen[0]?.url).toBe('/v1/sessions/sess_1');
  });

  it('GET /users?email= sends the trimmed lower-cased email; an object or the first of an array is the answer', async () => {
    route = (req, res) => (req.url?.includes('list') ? json(res, 200, [ADA, { userId: 'usr_other' }]) : json(res, 200, ADA));
    const directory = new HttpDirectory({ baseUrl, token });
    await expect(directory.findByEmail('  Ada+Test@Example.COM ')).resolves.toEqual(ADA);
    expect(seen[0]?.url).toBe('/users?email=ada%2Btest%40example.com');
    await expect(directory.findByEmail('list@example.com')).resolves.toEqual(ADA);
  });

  it('an empty array from the email search is "not found"', async () => {
    route = (_req, res) => json(res, 200, []);
    await expect(new HttpDirectory({ baseUrl, token }).findByEmail('nobody@example.com')).resolves.toBeUndefined();
  });

  it('404 is undefined', async () => {
    route = (_req, res) => json(res, 404, { error: 'not found' });
    const directory = new HttpDirectory({ baseUrl, token });
    await expect(directory.findByUserId('usr_nobody')).resolves.toBeUndefined();
    await expect(directory.findBySessionId('sess_nobody')).resolves.toBeUndefined();
    await expect(directory.findByEmail('nobody@example.com')).resolves.toBeUndefined();
  });

  it('empty keys are undefined without a request (an empty id would hit the collection URL)', async () => {
    route = (_req, res) => json(res, 200, ADA);
    const directory = new HttpDirectory({ baseUrl, token });
    await expect(directory.findByUserId('')).resolves.toBeUndefined();
    await expect(directory.findBySessionId('')).resolves.toBeUndefined();
    await expect(directory.findByEmail(' ')).resolves.toBeUndefined();
    expect(seen).toHaveLength(0);
  });

  it('500 throws (the handler answers 503), naming the endpoint but not the id', async () => {
    route = (_req, res) => json(res, 500, { error: 'boom' });
    const failing = new HttpDirectory({ baseUrl, token }).findByUserId('usr_secretive');
    await expect(failing).rejects.toThrow('customer API answered 500 to GET /users/{userId}');
    await expect(new HttpDirectory({ baseUrl, token }).findByUserId('usr_secretive')).rejects.not.toThrow(/usr_secretive/);
  });

  it('a slow server is abandoned at timeoutMs', async () => {
    route = () => undefined; // never answers
    const started = Date.now();
    await expect(new HttpDirectory({ baseUrl, token, timeoutMs: 100 }).findByUserId('usr_ada')).rejects.toThrow(/within 100 ms/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a body that stalls after the headers is abandoned at timeoutMs too', async () => {
    route = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"userId":');
    };
    await expect(new HttpDirectory({ baseUrl, token, timeoutMs: 100 }).findByUserId('usr_ada')).rejects.toThrow(/within 100 ms/);
  });

  it("the caller's signal aborts the request", async () => {
    route = () => undefined;
    const controller = new AbortController();
    const pending = new HttpDirectory({ baseUrl, token, timeoutMs: 10_000 }).findByUserId('usr_ada', { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('deadline passed')), 20);
    await expect(pending).rejects.toThrow('deadline passed');
  });

  it('an already-aborted signal rejects without a request', async () => {
    route = (_req, res) => json(res, 200, ADA);
    await expect(new HttpDirectory({ baseUrl, token }).findByUserId('usr_ada', { signal: AbortSignal.abort() })).rejects.toThrow();
    expect(seen).toHaveLength(0);
  });

  it('a body that is not JSON throws', async () => {
    route = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>login</html>');
    };
    await expect(new HttpDirectory({ baseUrl, token }).findByUserId('usr_ada')).rejects.toThrow(/not JSON/);
  });

  it('JSON that is not a profile (no userId, wrong types) throws', async () => {
    route = (_req, res) => json(res, 200, { name: 'Ada' });
    await expect(new HttpDirectory({ baseUrl, token }).findByUserId('usr_ada')).rejects.toThrow(/userId/);
    route = (_req, res) => json(res, 200, { userId: 'usr_ada', value: '4200' });
    await expect(new HttpDirectory({ baseUrl, token }).findByUserId('usr_ada')).rejects.toThrow(/value/);
  });

  it('null optional fields count as absent; unknown fields are dropped', async () => {
    route = (_req, res) => json(res, 200, { userId: 'usr_ada', plan: null, internalScore: 7 });
    await expect(new HttpDirectory({ baseUrl, token }).findByUserId('usr_ada')).resolves.toEqual({ userId: 'usr_ada' });
  });

  it('a redirect is refused, so the token is never sent elsewhere', async () => {
    route = (_req, res) => {
      res.writeHead(302, { location: 'http://example.invalid/users/usr_ada' });
      res.end();
    };
    await expect(new HttpDirectory({ baseUrl, token }).findByUserId('usr_ada')).rejects.toThrow();
    expect(seen).toHaveLength(1);
  });

  it('no token: no Authorization header', async () => {
    route = (_req, res) => json(res, 200, ADA);
    await new HttpDirectory({ baseUrl, token: async () => undefined }).findByUserId('usr_ada');
    expect(seen[0]?.authorization).toBeUndefined();
  });

  it('401 re-reads the token once (it may have been rotated) and retries with the new one', async () => {
    route = (req, res) => (req.headers.authorization === 'Bearer new' ? json(res, 200, ADA) : json(res, 401, { error: 'bad token' }));
    const rotating: TokenProvider = async (request) => (request?.refresh ? 'new' : 'old');
    await expect(new HttpDirectory({ baseUrl, token: rotating }).findByUserId('usr_ada')).resolves.toEqual(ADA);
    expect(seen.map((s) => s.authorization)).toEqual(['Bearer old', 'Bearer new']);
  });

  it('401 with an unchanged token throws without a second request', async () => {
    route = (_req, res) => json(res, 401, { error: 'bad token' });
    await expect(new HttpDirectory({ baseUrl, token }).findByUserId('usr_ada')).rejects.toThrow(/401/);
    expect(seen).toHaveLength(1);
  });

  it('a failing token source throws', async () => {
    route = (_req, res) => json(res, 200, ADA);
    const broken: TokenProvider = () => Promise.reject(new Error('secrets unavailable'));
    await expect(new HttpDirectory({ baseUrl, token: broken }).findByUserId('usr_ada')).rejects.toThrow('secrets unavailable');
  });

  it('414 URI Too Long (an id longer than the API takes) is undefined too: unknown, not a failure', async () => {
    route = (_req, res) => json(res, 414, { error: 'URI too long' });
    await expect(new HttpDirectory({ baseUrl, token }).findByUserId('u'.repeat(10_000))).resolves.toBeUndefined();
  });

  it('an invalid base URL is refused at construction', () => {
    expect(() => new HttpDirectory({ baseUrl: 'not a url', token })).toThrow();
    expect(() => new HttpDirectory({ baseUrl: 'ftp://users.example.com', token })).toThrow(/http/);
  });
});

describe('bearerTokenFromSecret (Secrets Manager stubbed at the SDK client)', () => {
  const secrets = mockClient(SecretsManagerClient);
  const client = new SecretsManagerClient({ region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });

  afterEach(() => secrets.reset());

  it('reads a plain-string secret', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: 'api-token' }).resolves({ SecretString: 'tok_plain' });
    await expect(bearerTokenFromSecret('api-token', client)()).resolves.toBe('tok_plain');
  });

  it('reads {"token": "..."}', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ token: 'tok_json' }) });
    await expect(bearerTokenFromSecret('api-token', client)()).resolves.toBe('tok_json');
  });

  it('caches the token for the TTL (5 minutes by default), sharing one read among concurrent callers', async () => {
    secrets.on(GetSecretValueCommand).resolvesOnce({ SecretString: 'tok_1' }).resolves({ SecretString: 'tok_2' });
    let now = 1_000_000;
    const token = bearerTokenFromSecret('api-token', client, { now: () => now });
    await expect(Promise.all([token(), token()])).resolves.toEqual(['tok_1', 'tok_1']);
    now += 299_000;
    await expect(token()).resolves.toBe('tok_1');
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    now += 1_000;
    await expect(token()).resolves.toBe('tok_2');
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('a refresh request re-reads, but not more often than minRefreshIntervalMs', async () => {
    secrets.on(GetSecretValueCommand).resolvesOnce({ SecretString: 'tok_1' }).resolves({ SecretString: 'tok_2' });
    let now = 1_000_000;
    const token = bearerTokenFromSecret('api-token', client, { now: () => now, minRefreshIntervalMs: 30_000 });
    await token();
    now += 1_000;
    await expect(token({ refresh: true })).resolves.toBe('tok_1');
    now += 30_000;
    await expect(token({ refresh: true })).resolves.toBe('tok_2');
  });

  it('keeps serving the last token when a later read fails', async () => {
    secrets.on(GetSecretValueCommand).resolvesOnce({ SecretString: 'tok_1' }).rejects(new Error('throttled'));
    let now = 1_000_000;
    const token = bearerTokenFromSecret('api-token', client, { now: () => now });
    await token();
    now += 600_000;
    await expect(token()).resolves.toBe('tok_1');
  });

  it('throws when there is no token yet and the read fails', async () => {
    secrets.on(GetSecretValueCommand).rejects(new Error('AccessDenied'));
    await expect(bearerTokenFromSecret('api-token', client)()).rejects.toThrow('AccessDenied');
  });

  it('nothing read yet and the read failing: one read per minRefreshIntervalMs, however many lookups ask', async () => {
    secrets.on(GetSecretValueCommand).rejects(new Error('AccessDenied'));
    let now = 1_000_000;
    const token = bearerTokenFromSecret('api-token', client, { now: () => now, minRefreshIntervalMs: 30_000 });
    for (let i = 0; i < 50; i++) await expect(token()).rejects.toThrow('AccessDenied');
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    now += 30_000;
    await expect(token()).rejects.toThrow('AccessDenied');
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('a token stored with a trailing newline is an error naming the problem, never the value', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'tok_pasted\n' });
    const read = bearerTokenFromSecret('api-token', client)();
    await expect(read).rejects.toThrow(/misconfigured: the value has leading or trailing whitespace/);
    await expect(read).rejects.not.toThrow(/tok_pasted/);
  });

  it('a placeholder or a JSON secret without "token" is an error, not an empty bearer', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'REPLACE_WITH_TOKEN' });
    await expect(bearerTokenFromSecret('api-token', client)()).rejects.toThrow(/no bearer token/);
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ other: 'x' }) });
    await expect(bearerTokenFromSecret('api-token', client)()).rejects.toThrow(/no bearer token/);
  });
});
