import { mkdir, open, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { createProviderHandler, defaultProviderDeps } from '../functions/index.js';
import { ENV } from '../shared/config.js';
import { parseCustomerProfiles, seedCustomers } from '../shared/customers/from-env.js';
import { DynamoDbDirectory } from '../shared/customers/dynamodb.js';
import type { CustomerProfile } from '../shared/customers/profile.js';
import type { LambdaHttpHandler } from '../shared/handler.js';
import { LAMBDA_PAYLOAD_LIMIT_BYTES } from '../shared/http/request.js';
import type { HttpResponse } from '../shared/http/response.js';
import { loggable } from '../shared/log-value.js';
import { createLogger, logger as defaultLogger } from '../shared/log.js';
import { PROVIDER_IDS, PROVIDERS, type HttpMethod, type ProviderDefinition, type ProviderId } from '../shared/providers.js';
import {
  customersFileFromEnv,
  LOCAL_BULLSEYE,
  eventsFileFromEnv,
  loadLocalSecrets,
  localSecretId,
  readJsonFile,
  secretsFileFromEnv,
} from './defaults.js';
import { functionUrlEventFrom, splitTarget } from './function-url-event.js';
import { signingSecretFor } from './platform-requests.js';
import { createCustomersTable, createDedupeTable, LOCAL_AWS_ENV, startDynamoStandIn, type DynamoStandIn } from './stand-ins/dynamodb.js';
import { startS3StandIn, type S3StandIn } from './stand-ins/s3.js';
import { startSecretsManagerStandIn, type SecretsManagerStandIn } from './stand-ins/secrets-manager.js';
import { startBullseyeStandIn, type BullseyeStandIn } from './stand-ins/bullseye.js';

/**
 * The whole system on one machine, no AWS account: an HTTP server that turns each request into the
 * event a Lambda function URL delivers and invokes the real handlers (functions/<id>/handler.ts, the
 * code that runs in AWS), with the AWS services they use played by local stand-ins reached through
 * the SDK's standard endpoint overrides: Secrets Manager (signing secrets from local/secrets.json),
 * DynamoDB via dynalite (customers from local/customers.json, webhook de-duplication), S3 via s3rver
 * (the delivery bucket: claim-checked bodies, parked deliveries), and the file event sink
 * (local/events.jsonl).
 */
export interface LocalStackOptions {
  /** 0 picks an ephemeral port. Default 3000. */
  readonly port?: number;
  readonly host?: string;
  readonly secretsFile?: string;
  readonly customersFile?: string;
  readonly eventsFile?: string;
  /** No handler logs and no event printing (tests, benchmarks). */
  readonly quiet?: boolean;
  /** Where the handlers' JSON log lines go (tests read them); default stdout, none when quiet. */
  readonly logSink?: (line: string) => void;
  /** Where printed lines go when not quiet. */
  readonly print?: (line: string) => void;
  /**
   * The DynamoDB endpoint the handlers reach, given dynalite's: a test puts a wire-level stand-in
   * between them (test/support/dynamodb-relay.ts). Default: dynalite's own.
   */
  readonly dynamoDbEndpoint?: (dynalite: string) => Promise<string>;
}

export type { SecretsManagerStandIn };

export interface LocalRoute {
  readonly provider: ProviderId;
  readonly method: HttpMethod;
  readonly path: string;
}

export interface LocalStack {
  /** e.g. http://127.0.0.1:3000 */
  readonly url: string;
  readonly port: number;
  readonly routes: readonly LocalRoute[];
  /** The Secrets Manager stand-in the handlers read: rotate secrets and count calls through it. */
  readonly secretsManager: SecretsManagerStandIn;
  readonly dynamo: DynamoStandIn;
  /** The delivery bucket (claims/, parked/) on s3rver. */
  readonly s3: S3StandIn;
  /** Bullseye's platform, configured to deliver to this server's Bullseye routes with the local secret. */
  readonly bullseye: BullseyeStandIn;
  readonly eventsFile: string;
  /** Where the stand-ins' endpoints are written while the stack runs, for `npm run redrive`. */
  readonly stackFile: string;
  readonly secretsFile: string;
  readonly customersFile: string;
  /** The profiles seeded into the customers table. */
  readonly customers: readonly CustomerProfile[];
  /** Each provider's secret value as the stand-in holds it (JSON text). */
  readonly secrets: Readonly<Partial<Record<ProviderId, string>>>;
  close(): Promise<void>;
}

export const LOCAL_TABLES = { customers: 'local-customers', dedupe: 'local-dedupe' } as const;
export const LOCAL_DELIVERY_BUCKET = 'local-deliveries';

/**
 * What `npm run redrive` needs to reach a running local stack: written next to its events file (so a
 * test's stack and a developer's `npm start` never share one), removed when the stack closes.
 */
export interface LocalStackEndpoints {
  readonly s3Endpoint: string;
  readonly dynamoDbEndpoint: string;
  readonly deliveryBucket: string;
  readonly dedupeTable: string;
  readonly eventsFile: string;
}

export function stackFileFor(eventsFile: string): string {
  return resolve(dirname(eventsFile), '.local-stack.json');
}

/** Reading stops here: past it the function URL answers 413 before the function runs. */
export const MAX_REQUEST_BYTES = LAMBDA_PAYLOAD_LIMIT_BYTES;
/** After a 413 the rest of the body is read and dropped so the client sees the answer; past this, the socket is closed. */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

export const LOCAL_ROUTES: readonly LocalRoute[] = PROVIDER_IDS.flatMap((provider) =>
  PROVIDERS[provider].routes.map((r) => ({ provider, method: r.method, path: r.path })),
);

function jsonAnswer(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

type BodyRead = { readonly ok: true; readonly body: Buffer } | { readonly ok: false; readonly reason: 'too_large' | 'aborted' };

/** Reads the body up to `limit` bytes; one byte more and it stops keeping them. */
export function readBodyCapped(req: IncomingMessage, limit: number): Promise<BodyRead> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve({ ok: false, reason: 'too_large' });
  return new Promise((resolvePromise) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (result: BodyRead) => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      resolvePromise(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) finish({ ok: false, reason: 'too_large' });
      else chunks.push(chunk);
    };
    const onEnd = () => finish({ ok: true, body: Buffer.concat(chunks, size) });
    const onError = () => finish({ ok: false, reason: 'aborted' });
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    // A client that goes away mid-body: 'close' without 'end'.
    req.once('close', () => finish({ ok: false, reason: 'aborted' }));
  });
}

/**
 * 413 now, then drop the rest of the body as it arrives, so the client, still uploading, can read
 * the answer and the connection stays usable; a client that keeps sending past the drain limit is cut off.
 */
function answerTooLarge(req: IncomingMessage, res: ServerResponse): void {
  jsonAnswer(res, 413, { error: `Request body exceeds Lambda's ${MAX_REQUEST_BYTES}-byte payload limit` });
  let drained = 0;
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > MAX_DRAIN_BYTES) req.socket.destroy();
  });
  req.resume();
}

function writeResponse(res: ServerResponse, response: HttpResponse, requestId: string): void {
  const body = Buffer.from(response.body ?? '', response.isBase64Encoded ? 'base64' : 'utf8');
  res.writeHead(response.statusCode, { ...response.headers, 'content-length': body.length, 'x-amzn-requestid': requestId });
  res.end(body);
}


/** Prints what the file sink appended since the last look (events are one JSON object per line). */
function eventsTail(file: string, print: (line: string) => void): { start(): Promise<void>; flush(): Promise<void> } {
  let offset = 0;
  let pending = Promise.resolve();
  const read = async () => {
    const size = await stat(file).then((s) => s.size, () => 0);
    if (size <= offset) return;
    const handle = await open(file, 'r');
    try {
      const buffer = Buffer.alloc(size - offset);
      await handle.read(buffer, 0, buffer.length, offset);
      const text = buffer.toString('utf8');
      const complete = text.lastIndexOf('\n') + 1;
      offset += Buffer.byteLength(text.slice(0, complete));
      for (const line of text.slice(0, complete).split('\n')) if (line.trim()) print(`  event: ${line}`);
    } finally {
      await handle.close();
    }
  };
  return {
    start: async () => {
      offset = await stat(file).then((s) => s.size, () => 0);
    },
    // Serialised, so two webhooks finishing together do not print the same line twice.
    flush: () => (pending = pending.then(read, read)),
  };
}

/** Sets variables for the stack's lifetime; the returned function puts the previous values back. */
function setEnv(values: Record<string, string | undefined>): () => void {
  const previous = Object.fromEntries(Object.keys(values).map((name) => [name, process.env[name]]));
  const apply = (entries: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(entries)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  apply(values);
  return () => apply(previous);
}

/**
 * Starts the stand-ins, seeds them, and serves every registry route. One stack per process at a
 * time: the handlers' SDK clients find the stand-ins through process-wide environment variables.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const print = options.print ?? ((line: string) => console.log(line));
  const secretsFile = resolve(options.secretsFile ?? secretsFileFromEnv());
  const customersFile = resolve(options.customersFile ?? customersFileFromEnv());
  const eventsFile = resolve(options.eventsFile ?? eventsFileFromEnv());

  const secrets = await loadLocalSecrets(secretsFile);
  if (!secrets.ok) throw new Error(secrets.error);
  const customers = await readJsonFile(customersFile, parseCustomerProfiles);
  if (!customers.ok) throw new Error(customers.error);
  const missing = PROVIDER_IDS.filter((id) => secrets.value[id] === undefined);
  if (missing.length > 0 && !options.quiet) print(`warning: ${secretsFile} has no secret for ${missing.join(', ')}; those routes answer 503`);
  await mkdir(dirname(eventsFile), { recursive: true });

  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step();
  };
  try {
    const dynamo = await startDynamoStandIn();
    cleanups.push(() => dynamo.close());
    const s3 = await startS3StandIn(LOCAL_DELIVERY_BUCKET);
    cleanups.push(() => s3.close());
    const secretsManager = await startSecretsManagerStandIn({
      secrets: {
        ...Object.fromEntries(Object.entries(secrets.value).map(([id, value]) => [localSecretId(id as ProviderId), value])),
        [LOCAL_BULLSEYE.apiKeySecretId]: JSON.stringify({ apiKey: LOCAL_BULLSEYE.apiKey }),
      },
    });
    cleanups.push(() => secretsManager.close());
    const handlersDynamoDb = options.dynamoDbEndpoint ? await options.dynamoDbEndpoint(dynamo.endpoint) : dynamo.endpoint;

    cleanups.push(
      setEnv({
        ...LOCAL_AWS_ENV,
        // Never a real account: no session token, profile or global endpoint from the developer's shell.
        AWS_SESSION_TOKEN: undefined,
        AWS_PROFILE: undefined,
        AWS_ENDPOINT_URL: undefined,
        AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: undefined,
        AWS_ENDPOINT_URL_DYNAMODB: handlersDynamoDb,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.endpoint,
        AWS_ENDPOINT_URL_S3: s3.endpoint,
        ...Object.fromEntries(PROVIDER_IDS.map((id) => [`${ENV.signingSecretId}_${id.toUpperCase()}`, localSecretId(id)])),
        [ENV.directory]: 'dynamodb',
        [ENV.customersTable]: LOCAL_TABLES.customers,
        [ENV.eventSink]: 'file',
        [ENV.eventsFile]: eventsFile,
        [ENV.dedupeTable]: LOCAL_TABLES.dedupe,
        [ENV.deliveryBucket]: LOCAL_DELIVERY_BUCKET,
      }),
    );
    const stackFile = stackFileFor(eventsFile);
    const running: LocalStackEndpoints = {
      s3Endpoint: s3.endpoint,
      dynamoDbEndpoint: dynamo.endpoint,
      deliveryBucket: LOCAL_DELIVERY_BUCKET,
      dedupeTable: LOCAL_TABLES.dedupe,
      eventsFile,
    };
    await writeFile(stackFile, JSON.stringify(running, null, 2) + '\n', 'utf8');
    cleanups.push(() => rm(stackFile, { force: true }));

    await createCustomersTable(dynamo.client, LOCAL_TABLES.customers);
    await createDedupeTable(dynamo.client, LOCAL_TABLES.dedupe);
    await seedCustomers(new DynamoDbDirectory({ client: dynamo.client, tableName: LOCAL_TABLES.customers }), customers.value);

    const logger = options.logSink ? createLogger(options.logSink) : options.quiet ? createLogger(() => undefined) : defaultLogger;
    const handlers = new Map<string, { provider: ProviderDefinition; handler: LambdaHttpHandler }>();
    for (const id of PROVIDER_IDS) {
      const provider: ProviderDefinition = PROVIDERS[id];
      handlers.set(id, { provider, handler: createProviderHandler(id, { ...defaultProviderDeps(process.env), logger }) });
    }

    const tail = eventsTail(eventsFile, print);
    await tail.start();

    const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      const receivedAtMs = Date.now();
      const read = await readBodyCapped(req, MAX_REQUEST_BYTES);
      const { rawPath } = splitTarget(req.url ?? '/');
      if (!read.ok) {
        if (read.reason === 'aborted') return void res.destroy();
        // What the function URL answers before the function runs; the handlers' own log never sees it.
        logger.warn({ message: 'request over the Lambda payload limit', route: loggable(rawPath), method: loggable(req.method), outcome: 'body_too_large', status: 413 });
        return answerTooLarge(req, res);
      }
      const entry = handlers.get(rawPath.split('/')[1] ?? '');
      if (!entry) {
        logger.warn({ message: 'no provider owns this path', route: loggable(rawPath), method: loggable(req.method), outcome: 'unknown_route', status: 404 });
        return jsonAnswer(res, 404, { error: 'Not found', routes: LOCAL_ROUTES.map((r) => `${r.method} ${r.path}`) });
      }
      const headers: [string, string][] = [];
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
      const event = functionUrlEventFrom({
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers,
        body: read.body,
        sourceIp: req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
        protocol: `HTTP/${req.httpVersion}`,
        receivedAtMs,
      });
      let response: HttpResponse;
      try {
        response = await entry.handler(event);
      } catch {
        // The handlers never throw; if one does, answer as Lambda would for a function error.
        response = { statusCode: 500, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: 'Internal Server Error' }), isBase64Encoded: false };
      }
      writeResponse(res, response, event.requestContext.requestId);
      if (!options.quiet && entry.provider.kind === 'webhook') await tail.flush();
    };

    const server: Server = createServer((req, res) => {
      serve(req, res).catch(() => {
        if (!res.headersSent) jsonAnswer(res, 500, { error: 'Internal error' });
        else res.destroy();
      });
    });
    // `Expect: 100-continue` with a declared body over the limit: answer 413 before the body is sent.
    server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      const declared = Number(req.headers['content-length']);
      if (Number.isFinite(declared) && declared > MAX_REQUEST_BYTES) {
        jsonAnswer(res, 413, { error: `Request body exceeds Lambda's ${MAX_REQUEST_BYTES}-byte payload limit` }, { connection: 'close' });
        return;
      }
      res.writeContinue();
      server.emit('request', req, res);
    });
    const host = options.host ?? '127.0.0.1';
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 3000, host, () => {
        server.off('error', reject);
        resolveListen();
      });
    });
    cleanups.push(
      () =>
        new Promise<void>((resolveClose) => {
          server.close(() => resolveClose());
          server.closeAllConnections();
        }),
    );
    const port = (server.address() as AddressInfo).port;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    const bullseye = await startBullseyeStandIn({
      apiKey: LOCAL_BULLSEYE.apiKey,
      webhooks: Object.fromEntries(
        PROVIDERS.bullseye.routes.map((route) => [
          route.secretKey,
          { url: `${url}${route.path}`, secret: secrets.value.bullseye === undefined ? null : (signingSecretFor(secrets.value.bullseye, route) ?? null) },
        ]),
      ),
    });
    cleanups.push(() => bullseye.close());
    let closed: Promise<void> | undefined;
    return {
      url,
      port,
      routes: LOCAL_ROUTES,
      secretsManager,
      dynamo,
      s3,
      bullseye,
      eventsFile,
      stackFile,
      secretsFile,
      customersFile,
      customers: customers.value,
      secrets: secrets.value,
      close: () => (closed ??= cleanup()),
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
