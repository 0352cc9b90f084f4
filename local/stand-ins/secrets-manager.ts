import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { readRequestBody } from './request-body.js';
import { SECRETS_MANAGER_REQUEST_TIMEOUT_MS, SECRETS_MANAGER_RETRY } from '../../shared/secrets/cache.js';

/**
 * A local AWS Secrets Manager: a real HTTP server speaking the service's JSON protocol (awsJson1_1),
 * so the real `@aws-sdk/client-secrets-manager` client works against it unchanged when pointed at
 * `endpoint` (the client's `endpoint` option, or `AWS_ENDPOINT_URL_SECRETS_MANAGER`).
 *
 * Wire format, as AWS speaks it:
 *   request   POST /   `X-Amz-Target: secretsmanager.<Operation>`   JSON body
 *   success   200      `Content-Type: application/x-amz-json-1.1`   JSON body, dates as epoch seconds
 *   failure   4xx/5xx  `{ "__type": "<ErrorName>", "message": "..." }` (plus `x-amzn-ErrorType`)
 *
 * Operations, with AWS's version and staging-label rules:
 *   CreateSecret, GetSecretValue, PutSecretValue, ListSecretVersionIds, UpdateSecretVersionStage,
 *   DescribeSecret. Anything else answers 400 UnknownOperationException.
 *   - A version's value never changes; every PutSecretValue creates a new version.
 *   - Each staging label is on at most one version. Moving AWSCURRENT to a version (PutSecretValue
 *     without VersionStages, or UpdateSecretVersionStage) moves AWSPREVIOUS to the version that lost it.
 *   - A version without labels is deprecated: ListSecretVersionIds shows it only with IncludeDeprecated.
 *   - Secrets are addressed by name, full ARN or partial ARN (the ARN without AWS's random suffix).
 *
 * Credentials and signatures are not checked. Test helpers on top: direct `put`/`promotePending`
 * (no HTTP, not counted), per-operation call counters (the benchmarks read them), and a fault switch
 * (throttling, access denied, server error, delay) applied to every HTTP call while set.
 *
 *   const sm = await startSecretsManagerStandIn({ secrets: { 'local/buddy': '{"signingSecret":"dev"}' } });
 *   process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = sm.endpoint;   // or new SecretsManagerClient({ endpoint: sm.endpoint, ... })
 *   sm.put('local/buddy', '{"signingSecret":"rotated"}');          // rotate: new AWSCURRENT, old AWSPREVIOUS
 *   sm.setFault({ kind: 'throttle' });                              // every call now answers ThrottlingException
 *   sm.calls.ListSecretVersionIds; sm.totalCalls(); sm.resetCalls();
 *   await sm.close();
 *
 * `createSecretsManagerStandIn` is the same stand-in without the server: its `client()` is a real
 * SecretsManagerClient answered in process (the tests use it, with fake timers where time matters).
 */

export const SECRETS_MANAGER_OPERATIONS = [
  'CreateSecret',
  'GetSecretValue',
  'PutSecretValue',
  'ListSecretVersionIds',
  'UpdateSecretVersionStage',
  'DescribeSecret',
] as const;

export type SecretsManagerOperation = (typeof SECRETS_MANAGER_OPERATIONS)[number];

/** Call counts per operation; an unsupported operation that was called appears under its own name. */
export type SecretsManagerCalls = Record<SecretsManagerOperation, number> & Partial<Record<string, number>>;

/**
 * A failure every HTTP call meets while it is set (counted all the same):
 * - `throttle`: 400 ThrottlingException (the SDK retries it with backoff)
 * - `access_denied`: 400 AccessDeniedException (not retried)
 * - `server_error`: 500 InternalServiceError (retried)
 * - `delay`: the normal answer, sent `ms` later (longer than the client's requestTimeout = a timeout)
 */
export type SecretsManagerFault =
  | { readonly kind: 'throttle' }
  | { readonly kind: 'access_denied' }
  | { readonly kind: 'server_error' }
  | { readonly kind: 'delay'; readonly ms: number };

export type WritableStage = 'AWSCURRENT' | 'AWSPENDING';

export interface SecretsManagerStandInOptions {
  /** 0 (default) picks an ephemeral port. */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Secrets to create at start, by name: each value becomes the AWSCURRENT version. */
  readonly secrets?: Readonly<Record<string, string>>;
  /** Clock for CreatedDate and LastChangedDate, in epoch milliseconds. Default Date.now. */
  readonly now?: () => number;
  /** Region and account in the ARNs. Defaults us-east-1 and 123456789012. */
  readonly region?: string;
  readonly accountId?: string;
}

export interface PutOptions {
  /** Default AWSCURRENT (the old current becomes AWSPREVIOUS); AWSPENDING stages the value for rotation. */
  readonly stage?: WritableStage;
  /** Default a random UUID, as the SDK's ClientRequestToken would be. */
  readonly versionId?: string;
}

/** One version as the stand-in holds it, for assertions. */
export interface StandInVersion {
  readonly versionId: string;
  readonly stages: readonly string[];
  readonly createdAtMs: number;
}

export interface SecretsManagerStandIn {
  /** e.g. http://127.0.0.1:54321: the value for `endpoint` or AWS_ENDPOINT_URL_SECRETS_MANAGER. */
  readonly endpoint: string;
  /**
   * Stores a new version directly (no HTTP call, not counted), creating the secret when it is unknown.
   * Same staging rules as PutSecretValue. Returns the new version id.
   */
  put(secretId: string, value: string, options?: PutOptions): string;
  /**
   * Finishes a rotation directly: AWSCURRENT moves to the AWSPENDING version (the old current becomes
   * AWSPREVIOUS) and the AWSPENDING label is removed, as Secrets Manager does at the end of a rotation.
   * Returns the new current version id; throws when the secret or its pending version is missing.
   */
  promotePending(secretId: string): string;
  /** The secret's ARN, or undefined when unknown. */
  arnOf(secretId: string): string | undefined;
  /** Every version of a secret (deprecated ones too), oldest first; empty when unknown. */
  versions(secretId: string): readonly StandInVersion[];
  /** Live counters of HTTP calls received, per operation (faulted and delayed calls included). */
  readonly calls: Readonly<SecretsManagerCalls>;
  totalCalls(): number;
  resetCalls(): void;
  /** Sets (or with undefined clears) the fault every following HTTP call meets. */
  setFault(fault: SecretsManagerFault | undefined): void;
  /** Stops the server, dropping open connections and delayed answers. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// The store: secrets, versions and staging labels, independent of HTTP.

const CURRENT = 'AWSCURRENT';
const PREVIOUS = 'AWSPREVIOUS';
const PENDING = 'AWSPENDING';
const MAX_BODY_BYTES = 1024 * 1024;

interface Version {
  readonly id: string;
  readonly secretString: string | undefined;
  readonly secretBinary: Buffer | undefined;
  readonly stages: Set<string>;
  readonly createdMs: number;
}

interface Secret {
  readonly name: string;
  readonly arn: string;
  readonly description: string | undefined;
  readonly createdMs: number;
  lastChangedMs: number;
  /** Insertion order is creation order. */
  readonly versions: Map<string, Version>;
}

/** An answer AWS would give as an error: the SDK maps `type` to its exception class. */
class ServiceError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const notFound = (message: string) => new ServiceError(400, 'ResourceNotFoundException', message);
const invalidParameter = (message: string) => new ServiceError(400, 'InvalidParameterException', message);
const secretNotFound = () => notFound("Secrets Manager can't find the specified secret.");

type Json = Record<string, unknown>;

function optionalString(body: Json, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidParameter(`${field} must be a string.`);
  return value;
}

function requiredString(body: Json, field: string): string {
  const value = optionalString(body, field);
  if (value === undefined || value.length === 0) throw invalidParameter(`You must provide a value for the ${field} parameter.`);
  return value;
}

function optionalStringList(body: Json, field: string): string[] | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
    throw invalidParameter(`${field} must be a list of strings.`);
  }
  return value;
}

/** AWS serialises timestamps in its JSON protocols as epoch seconds (fractional). */
const epochSeconds = (ms: number) => ms / 1000;

class SecretStore {
  private readonly secrets = new Map<string, Secret>();

  constructor(
    private readonly now: () => number,
    private readonly region: string,
    private readonly accountId: string,
  ) {}

  find(secretId: string): Secret | undefined {
    const byName = this.secrets.get(secretId);
    if (byName) return byName;
    for (const secret of this.secrets.values()) {
      // Full ARN, or partial ARN: the ARN without the `-` and six random characters AWS appends.
      if (secret.arn === secretId || secret.arn.slice(0, -7) === secretId) return secret;
    }
    return undefined;
  }

  get(secretId: string): Secret {
    const secret = this.find(secretId);
    if (!secret) throw secretNotFound();
    return secret;
  }

  create(name: string, description: string | undefined): Secret {
    if (this.secrets.has(name)) throw new ServiceError(400, 'ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
    const suffix = randomBytes(6).toString('base64').replace(/[^A-Za-z0-9]/g, 'x').slice(0, 6);
    const createdMs = this.now();
    const secret: Secret = {
      name,
      arn: `arn:aws:secretsmanager:${this.region}:${this.accountId}:secret:${name}-${suffix}`,
      description,
      createdMs,
      lastChangedMs: createdMs,
      versions: new Map(),
    };
    this.secrets.set(name, secret);
    return secret;
  }

  /** A new version carrying `stages`; an existing id with the same value is an idempotent retry. */
  addVersion(
    secret: Secret,
    versionId: string,
    value: { secretString: string | undefined; secretBinary: Buffer | undefined },
    stages: readonly string[],
  ): Version {
    const existing = secret.versions.get(versionId);
    if (existing) {
      const same =
        existing.secretString === value.secretString &&
        (existing.secretBinary === undefined ? value.secretBinary === undefined : value.secretBinary !== undefined && existing.secretBinary.equals(value.secretBinary));
      if (same) return existing;
      throw new ServiceError(400, 'ResourceExistsException', "You can't modify an existing version, you can only create new versions.");
    }
    const version: Version = { id: versionId, ...value, stages: new Set(), createdMs: this.now() };
    secret.versions.set(versionId, version);
    for (const stage of stages) this.moveStage(secret, stage, version);
    secret.lastChangedMs = this.now();
    return version;
  }

  holderOf(secret: Secret, stage: string): Version | undefined {
    for (const version of secret.versions.values()) if (version.stages.has(stage)) return version;
    return undefined;
  }

  /** Attaches `stage` to `to`, taking it from whichever version had it; AWSCURRENT leaves AWSPREVIOUS behind. */
  moveStage(secret: Secret, stage: string, to: Version): void {
    const from = this.holderOf(secret, stage);
    if (from === to) return;
    from?.stages.delete(stage);
    to.stages.add(stage);
    if (stage === CURRENT && from) {
      this.holderOf(secret, PREVIOUS)?.stages.delete(PREVIOUS);
      from.stages.add(PREVIOUS);
    }
    secret.lastChangedMs = this.now();
  }

  removeStage(secret: Secret, stage: string, from: Version): void {
    from.stages.delete(stage);
    secret.lastChangedMs = this.now();
  }
}

// ---------------------------------------------------------------------------------------------
// The operations, each taking the request's JSON and returning the response's JSON.

type Operation = (store: SecretStore, body: Json) => Json;

function secretValue(body: Json): { secretString: string | undefined; secretBinary: Buffer | undefined } {
  const secretString = optionalString(body, 'SecretString');
  const binary = optionalString(body, 'SecretBinary');
  if (secretString !== undefined && binary !== undefined) {
    throw invalidParameter('You can specify either SecretString or SecretBinary, but not both.');
  }
  return { secretString, secretBinary: binary === undefined ? undefined : Buffer.from(binary, 'base64') };
}

function sortedStages(version: Version): string[] {
  return [...version.stages].sort();
}

const OPERATIONS: Record<SecretsManagerOperation, Operation> = {
  CreateSecret(store, body) {
    const name = requiredString(body, 'Name');
    const value = secretValue(body);
    const secret = store.create(name, optionalString(body, 'Description'));
    if (value.secretString === undefined && value.secretBinary === undefined) return { ARN: secret.arn, Name: secret.name };
    const version = store.addVersion(secret, optionalString(body, 'ClientRequestToken') ?? randomUUID(), value, [CURRENT]);
    return { ARN: secret.arn, Name: secret.name, VersionId: version.id };
  },

  GetSecretValue(store, body) {
    const secret = store.get(requiredString(body, 'SecretId'));
    const versionId = optionalString(body, 'VersionId');
    const stage = optionalString(body, 'VersionStage');
    let version: Version | undefined;
    if (versionId !== undefined) {
      version = secret.versions.get(versionId);
      if (!version) throw notFound(`Secrets Manager can't find the specified secret value for VersionId: ${versionId}`);
      if (stage !== undefined && !version.stages.has(stage)) {
        throw notFound(`Secrets Manager can't find the specified secret value for VersionId: ${versionId} and staging label: ${stage}`);
      }
    } else {
      version = store.holderOf(secret, stage ?? CURRENT);
      if (!version) throw notFound(`Secrets Manager can't find the specified secret value for staging label: ${stage ?? CURRENT}`);
    }
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.id,
      ...(version.secretString !== undefined ? { SecretString: version.secretString } : {}),
      ...(version.secretBinary !== undefined ? { SecretBinary: version.secretBinary.toString('base64') } : {}),
      VersionStages: sortedStages(version),
      CreatedDate: epochSeconds(version.createdMs),
    };
  },

  PutSecretValue(store, body) {
    const secret = store.get(requiredString(body, 'SecretId'));
    const value = secretValue(body);
    if (value.secretString === undefined && value.secretBinary === undefined) {
      throw invalidParameter('You must provide either SecretString or SecretBinary.');
    }
    const stages = optionalStringList(body, 'VersionStages') ?? [CURRENT];
    const version = store.addVersion(secret, optionalString(body, 'ClientRequestToken') ?? randomUUID(), value, stages);
    return { ARN: secret.arn, Name: secret.name, VersionId: version.id, VersionStages: sortedStages(version) };
  },

  ListSecretVersionIds(store, body) {
    const secret = store.get(requiredString(body, 'SecretId'));
    const includeDeprecated = body.IncludeDeprecated === true;
    const maxResults = typeof body.MaxResults === 'number' && body.MaxResults > 0 ? Math.min(Math.floor(body.MaxResults), 100) : 100;
    const start = Number(optionalString(body, 'NextToken') ?? '0');
    if (!Number.isInteger(start) || start < 0) throw new ServiceError(400, 'InvalidNextTokenException', 'The NextToken value is invalid.');
    // Newest first, as the console lists them.
    const all = [...secret.versions.values()].filter((v) => includeDeprecated || v.stages.size > 0).reverse();
    const page = all.slice(start, start + maxResults);
    const next = start + maxResults < all.length ? String(start + maxResults) : undefined;
    return {
      ARN: secret.arn,
      Name: secret.name,
      Versions: page.map((v) => ({ VersionId: v.id, VersionStages: sortedStages(v), CreatedDate: epochSeconds(v.createdMs) })),
      ...(next !== undefined ? { NextToken: next } : {}),
    };
  },

  UpdateSecretVersionStage(store, body) {
    const secret = store.get(requiredString(body, 'SecretId'));
    const stage = requiredString(body, 'VersionStage');
    const removeFromId = optionalString(body, 'RemoveFromVersionId');
    const moveToId = optionalString(body, 'MoveToVersionId');
    if (removeFromId === undefined && moveToId === undefined) {
      throw invalidParameter('You must specify MoveToVersionId, RemoveFromVersionId, or both.');
    }
    const holder = store.holderOf(secret, stage);
    if (removeFromId !== undefined) {
      if (!secret.versions.has(removeFromId)) throw notFound(`Secrets Manager can't find the specified secret version: ${removeFromId}`);
      if (holder?.id !== removeFromId) {
        throw invalidParameter(`The staging label ${stage} is not attached to version ${removeFromId}.`);
      }
    }
    if (moveToId === undefined) {
      // Every secret with versions keeps exactly one AWSCURRENT: it can only be moved, never just removed.
      if (stage === CURRENT) throw invalidParameter('You can only move staging label AWSCURRENT to a different secret version. It can’t be completely removed.');
      store.removeStage(secret, stage, holder!);
      return { ARN: secret.arn, Name: secret.name };
    }
    const target = secret.versions.get(moveToId);
    if (!target) throw notFound(`Secrets Manager can't find the specified secret version: ${moveToId}`);
    if (holder && holder !== target && removeFromId !== holder.id) {
      throw invalidParameter(
        `The parameter RemoveFromVersionId can't be empty. Staging label ${stage} is currently attached to version ${holder.id}, so you must explicitly reference that version in RemoveFromVersionId.`,
      );
    }
    store.moveStage(secret, stage, target);
    return { ARN: secret.arn, Name: secret.name };
  },

  DescribeSecret(store, body) {
    const secret = store.get(requiredString(body, 'SecretId'));
    const versionIdsToStages: Record<string, string[]> = {};
    for (const version of secret.versions.values()) {
      if (version.stages.size > 0) versionIdsToStages[version.id] = sortedStages(version);
    }
    return {
      ARN: secret.arn,
      Name: secret.name,
      ...(secret.description !== undefined ? { Description: secret.description } : {}),
      RotationEnabled: false,
      CreatedDate: epochSeconds(secret.createdMs),
      LastChangedDate: epochSeconds(secret.lastChangedMs),
      VersionIdsToStages: versionIdsToStages,
    };
  },
};

function isOperation(name: string): name is SecretsManagerOperation {
  return (SECRETS_MANAGER_OPERATIONS as readonly string[]).includes(name);
}

// ---------------------------------------------------------------------------------------------
// Answers, as AWS sends them: over HTTP from the server, or handed to an in-process client.

const FAULT_ERRORS: Record<Exclude<SecretsManagerFault['kind'], 'delay'>, ServiceError> = {
  throttle: new ServiceError(400, 'ThrottlingException', 'Rate exceeded'),
  access_denied: new ServiceError(400, 'AccessDeniedException', 'User is not authorized to perform this operation (stand-in fault)'),
  server_error: new ServiceError(500, 'InternalServiceError', 'An error occurred on the server side (stand-in fault).'),
};

/** One answer: status, headers and the JSON body's text. */
interface Reply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

function replyOf(status: number, body: Json, errorType?: string): Reply {
  const text = JSON.stringify(body);
  return {
    status,
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'content-length': String(Buffer.byteLength(text)),
      'x-amzn-requestid': randomUUID(),
      ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
    },
    body: text,
  };
}

function errorReply(error: ServiceError): Reply {
  return replyOf(error.status, { __type: error.type, message: error.message }, error.type);
}

function parseJsonObject(bytes: Buffer): Json | undefined {
  if (bytes.length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(bytes.toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Json) : undefined;
  } catch {
    return undefined;
  }
}

/** The stand-in without its server: everything but `endpoint` and `close`, plus how it answers one call. */
interface StandInCore extends Omit<SecretsManagerStandIn, 'endpoint' | 'close'> {
  /** The answer to one call, after the fault in force (a `delay` answers later); undefined once the stand-in is closed. */
  reply(method: string | undefined, target: string | undefined, bytes: Buffer | undefined): Promise<Reply | undefined>;
  dropDelayed(): void;
}

function standInCore(options: SecretsManagerStandInOptions): StandInCore {
  const now = options.now ?? Date.now;
  const store = new SecretStore(now, options.region ?? 'us-east-1', options.accountId ?? '123456789012');
  const calls = Object.fromEntries(SECRETS_MANAGER_OPERATIONS.map((op) => [op, 0])) as SecretsManagerCalls;
  const delayed = new Map<NodeJS.Timeout, () => void>();
  let fault: SecretsManagerFault | undefined;

  const put = (secretId: string, value: string, putOptions: PutOptions = {}): string => {
    const secret = store.find(secretId) ?? store.create(secretId, undefined);
    const version = store.addVersion(secret, putOptions.versionId ?? randomUUID(), { secretString: value, secretBinary: undefined }, [putOptions.stage ?? CURRENT]);
    return version.id;
  };
  for (const [name, value] of Object.entries(options.secrets ?? {})) put(name, value);

  const answer = (operation: string, body: Json): Reply => {
    if (!isOperation(operation)) {
      return errorReply(new ServiceError(400, 'UnknownOperationException', `The stand-in does not implement ${operation || 'this operation'}.`));
    }
    try {
      return replyOf(200, OPERATIONS[operation](store, body));
    } catch (error) {
      return errorReply(error instanceof ServiceError ? error : new ServiceError(500, 'InternalServiceError', 'stand-in error'));
    }
  };

  return {
    async reply(method, target, bytes) {
      const named = typeof target === 'string' && target.toLowerCase().startsWith('secretsmanager.') ? target.slice('secretsmanager.'.length) : '';
      // Only operation-shaped names become counters (never `__proto__` or other junk).
      const operation = /^[A-Z][A-Za-z0-9]{0,63}$/.test(named) ? named : '';
      if (operation) calls[operation] = (calls[operation] ?? 0) + 1;
      if (method !== 'POST' || !operation) {
        return errorReply(new ServiceError(400, 'UnknownOperationException', 'Expected POST / with X-Amz-Target: secretsmanager.<Operation>.'));
      }
      const body = bytes === undefined ? undefined : parseJsonObject(bytes);
      if (body === undefined) return errorReply(new ServiceError(400, 'SerializationException', 'The request body is not a JSON object (or is over 1 MiB).'));
      const active = fault;
      if (active?.kind === 'delay') {
        return new Promise<Reply | undefined>((resolve) => {
          const timer = setTimeout(() => {
            delayed.delete(timer);
            resolve(answer(operation, body));
          }, active.ms);
          delayed.set(timer, () => resolve(undefined));
        });
      }
      if (active) return errorReply(FAULT_ERRORS[active.kind]);
      return answer(operation, body);
    },
    dropDelayed() {
      for (const [timer, drop] of delayed) {
        clearTimeout(timer);
        drop();
      }
      delayed.clear();
    },
    put,
    promotePending(secretId) {
      const secret = store.find(secretId);
      if (!secret) throw new Error(`stand-in: no secret ${secretId}`);
      const pending = store.holderOf(secret, PENDING);
      if (!pending) throw new Error(`stand-in: secret ${secretId} has no AWSPENDING version`);
      store.moveStage(secret, CURRENT, pending);
      store.removeStage(secret, PENDING, pending);
      return pending.id;
    },
    arnOf: (secretId) => store.find(secretId)?.arn,
    versions(secretId) {
      const secret = store.find(secretId);
      if (!secret) return [];
      return [...secret.versions.values()].map((v) => ({ versionId: v.id, stages: sortedStages(v), createdAtMs: v.createdMs }));
    },
    calls,
    totalCalls: () => Object.values(calls).reduce<number>((sum, n) => sum + (n ?? 0), 0),
    resetCalls() {
      for (const name of Object.keys(calls)) {
        if (isOperation(name)) calls[name] = 0;
        else delete calls[name];
      }
    },
    setFault(next) {
      fault = next;
    },
  };
}

/** Starts the stand-in; resolves once it listens. */
export async function startSecretsManagerStandIn(options: SecretsManagerStandInOptions = {}): Promise<SecretsManagerStandIn> {
  const host = options.host ?? '127.0.0.1';
  const { reply, dropDelayed, ...core } = standInCore(options);

  const server: Server = createServer((req, res) => {
    void (async () => {
      const bytes = await readRequestBody(req, MAX_BODY_BYTES);
      const answer = await reply(req.method, req.headers['x-amz-target'] as string | undefined, bytes);
      // Closed, or the client gave up (its requestTimeout) before the answer was ready.
      if (!answer || res.destroyed || res.writableEnded) return;
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    })();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    ...core,
    endpoint,
    close() {
      dropDelayed();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

export interface InProcessClientOptions {
  /** Per attempt, like the Node HTTP handler's requestTimeout with throwOnRequestTimeout. Default as the functions' client. */
  readonly requestTimeoutMs?: number;
}

/** The stand-in reached in process: the same store, rules, faults and counters, with no server or socket. */
export interface InProcessSecretsManager extends Omit<SecretsManagerStandIn, 'endpoint' | 'close'> {
  /**
   * A real SecretsManagerClient whose requests this stand-in answers in the same process: the SDK
   * serialises each call to the service's JSON protocol and reads the answer back as it would from AWS
   * (its retries included), but no socket is opened, so fake timers drive a `delay` fault, the client's
   * request timeout and the code under test alike.
   */
  client(options?: InProcessClientOptions): SecretsManagerClient;
}

/** The stand-in without a server, for tests (fake timers) and benchmarks; `startSecretsManagerStandIn` adds the HTTP server. */
export function createSecretsManagerStandIn(options: SecretsManagerStandInOptions = {}): InProcessSecretsManager {
  const { reply, dropDelayed: _drop, ...core } = standInCore(options);
  const requestHandler = (requestTimeoutMs: number) => ({
    handle(request: { method: string; headers: Record<string, string>; body?: unknown }, handlerOptions: { abortSignal?: { aborted: boolean; reason?: unknown } & Partial<Pick<AbortSignal, 'addEventListener'>> } = {}) {
      const target = Object.entries(request.headers).find(([name]) => name.toLowerCase() === 'x-amz-target')?.[1];
      const { body } = request;
      const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body instanceof Uint8Array ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : Buffer.alloc(0);
      return new Promise<{ response: { statusCode: number; headers: Record<string, string>; body: Uint8Array } }>((resolve, reject) => {
        const signal = handlerOptions.abortSignal;
        if (signal?.aborted) {
          reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' }));
          return;
        }
        const timer = setTimeout(() => reject(Object.assign(new Error(`Connection timed out after ${requestTimeoutMs} ms`), { name: 'TimeoutError' })), requestTimeoutMs);
        signal?.addEventListener?.('abort', () => {
          clearTimeout(timer);
          reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' }));
        });
        void reply(request.method, target, bytes).then((answer) => {
          clearTimeout(timer);
          if (answer) resolve({ response: { statusCode: answer.status, headers: answer.headers, body: new TextEncoder().encode(answer.body) } });
        });
      });
    },
    updateHttpClientConfig: () => undefined,
    httpHandlerConfigs: () => ({}),
    destroy: () => undefined,
  });
  return {
    ...core,
    client: (clientOptions = {}) =>
      new SecretsManagerClient({
        region: options.region ?? 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        // As the functions' client retries (shared/secrets/cache.ts).
        maxAttempts: 2,
        retryStrategy: SECRETS_MANAGER_RETRY,
        requestHandler: requestHandler(clientOptions.requestTimeoutMs ?? SECRETS_MANAGER_REQUEST_TIMEOUT_MS),
      }),
  };
}
