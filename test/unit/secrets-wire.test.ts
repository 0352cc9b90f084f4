import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidParameterException,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { connect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startSecretsManagerStandIn, type SecretsManagerStandIn } from '../../local/stand-ins/secrets-manager.js';
import { createLogger } from '../../shared/log.js';
import { defaultSecretsManagerClient, SECRETS_DEFAULTS, SECRETS_MANAGER_REQUEST_TIMEOUT_MS, SECRETS_MANAGER_RETRY, SecretsCache } from '../../shared/secrets/cache.js';
import { sign } from '../../shared/signing/verify.js';
import { verifySignature } from '../support/verify-signature.js';
import { manualClock } from '../support/secrets-manager.js';

/**
 * The real SecretsManagerClient, over HTTP, against the local stand-in: the cache's calls, the
 * service's version/stage rules and the client's own timeout and retry behaviour, all for real.
 */

const T0 = 1_717_000_000_000;
const MINUTE = 60_000;
const { ttlMs: TTL, minRefreshIntervalMs: MIN_REFRESH, previousGraceMs: GRACE } = SECRETS_DEFAULTS;
const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const REQUEST_TIMEOUT_MS = 200;
const BODY = Buffer.from('{ "sessionId": "sess_1", "agentId": "agt_1", "timestamp": 1717000000 }');

const clock = manualClock(T0);
let standIn: SecretsManagerStandIn;
let client: SecretsManagerClient;
let secretCounter = 0;

function newClient(endpoint = standIn.endpoint): SecretsManagerClient {
  return new SecretsManagerClient({
    endpoint,
    region: 'us-east-1',
    credentials: CREDENTIALS,
    // As the functions build it (shared/secrets/cache.ts), with a shorter timeout so the suite stays fast.
    maxAttempts: 2,
    retryStrategy: SECRETS_MANAGER_RETRY,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true },
  });
}

function newCache(): { cache: SecretsCache; logs: () => Record<string, unknown>[]; text: () => string } {
  const lines: string[] = [];
  const cache = new SecretsCache({ client, now: clock.now, logger: createLogger((line) => lines.push(line), 'debug') });
  return { cache, logs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>), text: () => lines.join('\n') };
}

/** Whether a request signed with `secret` verifies against what the cache offers now. */
async function verifies(cache: SecretsCache, secretId: string, secret: string): Promise<boolean> {
  const candidates = await cache.candidates(secretId, 'signingSecret');
  if (!candidates.ok) return false;
  return verifySignature({ message: BODY, signatures: [sign(secret, BODY, 'hex')], secrets: candidates.secrets, encoding: 'hex' }).ok;
}

function uniqueName(): string {
  return `webhooks/wire-${++secretCounter}`;
}

beforeAll(async () => {
  standIn = await startSecretsManagerStandIn({ now: clock.now, secrets: { 'local/buddy': JSON.stringify({ signingSecret: 'dev-buddy' }) } });
  client = newClient();
});

afterAll(async () => {
  client.destroy();
  await standIn.close();
});

beforeEach(() => {
  clock.set(T0);
  standIn.setFault(undefined);
  standIn.resetCalls();
});

describe('the stand-in speaks the Secrets Manager protocol to the real client', () => {
  it('CreateSecret, then GetSecretValue by name and by ARN (full and partial), AWSCURRENT by default', async () => {
    const name = uniqueName();
    const created = await client.send(new CreateSecretCommand({ Name: name, SecretString: 'v1-value' }));
    expect(created.ARN).toMatch(new RegExp(`^arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-[A-Za-z0-9]{6}$`));
    for (const id of [name, created.ARN!, created.ARN!.slice(0, -7)]) {
      const got = await client.send(new GetSecretValueCommand({ SecretId: id }));
      expect(got).toMatchObject({ ARN: created.ARN, Name: name, VersionId: created.VersionId, SecretString: 'v1-value', VersionStages: ['AWSCURRENT'] });
      expect(got.CreatedDate).toEqual(new Date(T0));
    }
    await expect(client.send(new CreateSecretCommand({ Name: name, SecretString: 'again' }))).rejects.toBeInstanceOf(ResourceExistsException);
    expect(standIn.calls).toMatchObject({ CreateSecret: 2, GetSecretValue: 3 });
  });

  it('unknown secrets and versions are ResourceNotFoundException', async () => {
    await expect(client.send(new GetSecretValueCommand({ SecretId: 'nope' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(client.send(new GetSecretValueCommand({ SecretId: 'local/buddy', VersionId: 'nope' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(client.send(new GetSecretValueCommand({ SecretId: 'local/buddy', VersionStage: 'AWSPENDING' }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  it('PutSecretValue: the new version is AWSCURRENT, the old one AWSPREVIOUS, older ones deprecated', async () => {
    const name = uniqueName();
    const v1 = (await client.send(new CreateSecretCommand({ Name: name, SecretString: 'one' }))).VersionId!;
    clock.advance(1_000);
    const v2 = (await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'two' }))).VersionId!;
    clock.advance(1_000);
    const put3 = await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'three' }));
    expect(put3.VersionStages).toEqual(['AWSCURRENT']);
    const v3 = put3.VersionId!;
    const listed = await client.send(new ListSecretVersionIdsCommand({ SecretId: name }));
    expect(listed.Versions).toEqual([
      { VersionId: v3, VersionStages: ['AWSCURRENT'], CreatedDate: new Date(T0 + 2_000) },
      { VersionId: v2, VersionStages: ['AWSPREVIOUS'], CreatedDate: new Date(T0 + 1_000) },
    ]);
    const all = await client.send(new ListSecretVersionIdsCommand({ SecretId: name, IncludeDeprecated: true }));
    expect(all.Versions?.map((v) => [v.VersionId, v.VersionStages])).toEqual([
      [v3, ['AWSCURRENT']],
      [v2, ['AWSPREVIOUS']],
      [v1, []],
    ]);
    const previous = await client.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPREVIOUS' }));
    expect(previous.SecretString).toBe('two');
    const deprecated = await client.send(new GetSecretValueCommand({ SecretId: name, VersionId: v1 }));
    expect([deprecated.SecretString, deprecated.VersionStages]).toEqual(['one', []]);
  });

  it('PutSecretValue with a ClientRequestToken is idempotent, and cannot change an existing version', async () => {
    const name = uniqueName();
    await client.send(new CreateSecretCommand({ Name: name, SecretString: 'one' }));
    const token = '11111111-2222-3333-4444-555555555555';
    await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'two', ClientRequestToken: token }));
    const again = await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'two', ClientRequestToken: token }));
    expect(again.VersionId).toBe(token);
    await expect(client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'other', ClientRequestToken: token }))).rejects.toBeInstanceOf(
      ResourceExistsException,
    );
    expect(standIn.versions(name)).toHaveLength(2);
  });

  it('UpdateSecretVersionStage: AWSPENDING promoted to AWSCURRENT makes the old current AWSPREVIOUS', async () => {
    const name = uniqueName();
    const v1 = (await client.send(new CreateSecretCommand({ Name: name, SecretString: 'one' }))).VersionId!;
    const pending = await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'two', VersionStages: ['AWSPENDING'] }));
    const v2 = pending.VersionId!;
    expect(pending.VersionStages).toEqual(['AWSPENDING']);
    expect((await client.send(new DescribeSecretCommand({ SecretId: name }))).VersionIdsToStages).toEqual({ [v1]: ['AWSCURRENT'], [v2]: ['AWSPENDING'] });
    // AWS refuses to move a label off a version without naming it.
    await expect(
      client.send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'AWSCURRENT', MoveToVersionId: v2 })),
    ).rejects.toBeInstanceOf(InvalidParameterException);
    await client.send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'AWSCURRENT', MoveToVersionId: v2, RemoveFromVersionId: v1 }));
    expect((await client.send(new DescribeSecretCommand({ SecretId: name }))).VersionIdsToStages).toEqual({
      [v1]: ['AWSPREVIOUS'],
      [v2]: ['AWSCURRENT', 'AWSPENDING'],
    });
    await client.send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'AWSPENDING', RemoveFromVersionId: v2 }));
    await expect(
      client.send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'AWSCURRENT', RemoveFromVersionId: v2 })),
    ).rejects.toBeInstanceOf(InvalidParameterException);
    const described = await client.send(new DescribeSecretCommand({ SecretId: name }));
    expect(described).toMatchObject({ Name: name, VersionIdsToStages: { [v1]: ['AWSPREVIOUS'], [v2]: ['AWSCURRENT'] }, CreatedDate: new Date(T0) });
  });

  it('put and promotePending work directly, without HTTP calls', async () => {
    const name = uniqueName();
    const v1 = standIn.put(name, 'one');
    const v2 = standIn.put(name, 'two', { stage: 'AWSPENDING' });
    expect(standIn.totalCalls()).toBe(0);
    expect(standIn.promotePending(name)).toBe(v2);
    expect(standIn.versions(name).map((v) => [v.versionId, v.stages])).toEqual([
      [v1, ['AWSPREVIOUS']],
      [v2, ['AWSCURRENT']],
    ]);
    expect(() => standIn.promotePending(name)).toThrow(/AWSPENDING/);
    expect(standIn.arnOf(name)).toMatch(/^arn:aws:secretsmanager:/);
  });

  it('raw protocol: awsJson1_1 content type, dates as epoch seconds, errors as { __type, message }', async () => {
    const post = (target: string | undefined, body: string) =>
      fetch(standIn.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', ...(target ? { 'x-amz-target': target } : {}) },
        body,
      });
    const ok = await post('secretsmanager.GetSecretValue', JSON.stringify({ SecretId: 'local/buddy' }));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    const value = (await ok.json()) as Record<string, unknown>;
    expect(value.CreatedDate).toBeTypeOf('number');
    expect(value.VersionStages).toEqual(['AWSCURRENT']);

    const missing = await post('secretsmanager.GetSecretValue', JSON.stringify({ SecretId: 'nope' }));
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({ __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
    const unknown = await post('secretsmanager.ListSecrets', '{}');
    expect([unknown.status, ((await unknown.json()) as { __type: string }).__type]).toEqual([400, 'UnknownOperationException']);
    const junk = await post('secretsmanager.GetSecretValue', '{not json');
    expect(((await junk.json()) as { __type: string }).__type).toBe('SerializationException');
    const untargeted = await post(undefined, '{}');
    expect(untargeted.status).toBe(400);
    await untargeted.arrayBuffer();

    expect(standIn.calls).toMatchObject({ GetSecretValue: 3, ListSecrets: 1 });
    expect(standIn.totalCalls()).toBe(4);
    standIn.resetCalls();
    expect(standIn.totalCalls()).toBe(0);
    expect(Object.keys(standIn.calls)).not.toContain('ListSecrets');
  });

  it('AWS_ENDPOINT_URL_SECRETS_MANAGER points the functions’ default client at it', async () => {
    const restore = setEnv({
      AWS_ENDPOINT_URL_SECRETS_MANAGER: standIn.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_SESSION_TOKEN: undefined,
      AWS_PROFILE: undefined,
      AWS_ENDPOINT_URL: undefined,
      AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: undefined,
    });
    const fromEnv = defaultSecretsManagerClient();
    try {
      const got = await fromEnv.send(new GetSecretValueCommand({ SecretId: 'local/buddy' }));
      expect(JSON.parse(got.SecretString!)).toEqual({ signingSecret: 'dev-buddy' });
      expect(standIn.calls.GetSecretValue).toBe(1);
      // Its requestTimeout must end the request, not only log a warning (see the timeout test below).
      const handler = fromEnv.config.requestHandler as unknown as { httpHandlerConfigs(): Record<string, unknown> };
      expect(handler.httpHandlerConfigs()).toMatchObject({ requestTimeout: SECRETS_MANAGER_REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true });
      // Its retries: only a broken connection (the cache's refresh interval is the retry for the rest).
      await expect(fromEnv.config.retryStrategy()).resolves.toBe(SECRETS_MANAGER_RETRY);
    } finally {
      restore();
      fromEnv.destroy();
    }
  });
});

function setEnv(values: Record<string, string | undefined>): () => void {
  const saved = Object.fromEntries(Object.keys(values).map((name) => [name, process.env[name]]));
  const apply = (next: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(next)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  apply(values);
  return () => apply(saved);
}

describe('SecretsCache over the wire', () => {
  it('loads a JSON secret as local/secrets.json provides it: one List and one Get', async () => {
    const { cache } = newCache();
    await expect(cache.candidates('local/buddy', 'signingSecret')).resolves.toEqual({ ok: true, secrets: ['dev-buddy'], stages: ['AWSCURRENT'] });
    expect(standIn.calls).toMatchObject({ ListSecretVersionIds: 1, GetSecretValue: 1 });
    expect(standIn.totalCalls()).toBe(2);
  });

  it('talki: "click Rotate ... update your environment": a console-style PutSecretValue rotation keeps the old secret verifying during the grace', async () => {
    const name = uniqueName();
    standIn.put(name, 'old-secret');
    const { cache } = newCache();
    expect(await verifies(cache, name, 'old-secret')).toBe(true);

    clock.advance(MINUTE);
    await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'new-secret' }));
    clock.advance(MIN_REFRESH);
    // A request signed with the new secret misses, triggers one refresh, and then verifies.
    expect(await verifies(cache, name, 'new-secret')).toBe(false);
    await expect(cache.refreshAfterMismatch(name)).resolves.toBe(true);
    expect(await verifies(cache, name, 'new-secret')).toBe(true);
    expect(await verifies(cache, name, 'old-secret')).toBe(true);
    // The rotation cost one List and one Get (of the new version only).
    expect(standIn.calls).toMatchObject({ ListSecretVersionIds: 2, GetSecretValue: 2 });

    clock.advance(GRACE);
    expect(await verifies(cache, name, 'old-secret')).toBe(false);
    expect(await verifies(cache, name, 'new-secret')).toBe(true);
  });

  it('a staged AWSPENDING verifies before it is promoted, and the old current after', async () => {
    const name = uniqueName();
    standIn.put(name, JSON.stringify({ signingSecret: 'current' }));
    const { cache } = newCache();
    await cache.candidates(name, 'signingSecret');
    await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: JSON.stringify({ signingSecret: 'pending' }), VersionStages: ['AWSPENDING'] }));
    clock.advance(TTL);
    // Past the TTL the cached versions answer at once and a refresh runs behind them; joining it waits for it.
    await expect(cache.candidates(name, 'signingSecret')).resolves.toEqual({ ok: true, secrets: ['current'], stages: ['AWSCURRENT'] });
    await expect(cache.refreshAfterMismatch(name)).resolves.toBe(true);
    await expect(cache.candidates(name, 'signingSecret')).resolves.toEqual({ ok: true, secrets: ['current', 'pending'], stages: ['AWSCURRENT', 'AWSPENDING'] });
    // The pending version was created just now, so when it is promoted the old current stays in its grace.
    standIn.promotePending(name);
    clock.advance(TTL);
    await cache.candidates(name, 'signingSecret');
    await expect(cache.refreshAfterMismatch(name)).resolves.toBe(true);
    await expect(cache.candidates(name, 'signingSecret')).resolves.toEqual({ ok: true, secrets: ['pending', 'current'], stages: ['AWSCURRENT', 'AWSPREVIOUS'] });
  });

  it('throttling: one attempt (no SDK retry), the cache serves the stale value and logs a warning', async () => {
    const name = uniqueName();
    standIn.put(name, 'cached');
    const { cache, logs, text } = newCache();
    await cache.candidates(name, 'signingSecret');
    clock.advance(TTL);
    standIn.resetCalls();
    standIn.setFault({ kind: 'throttle' });
    await expect(cache.candidates(name, 'signingSecret')).resolves.toMatchObject({ ok: true, secrets: ['cached'] });
    await cache.refreshAfterMismatch(name); // joins the background refresh until it has failed
    expect(standIn.calls.ListSecretVersionIds).toBe(1);
    expect(logs()).toContainEqual(expect.objectContaining({ level: 'warn', outcome: 'secret_refresh_failed', errorName: 'ThrottlingException' }));
    expect(text()).not.toContain('"cached"');
    // Within the minimum interval the failure is not retried on every request.
    await expect(cache.candidates(name, 'signingSecret')).resolves.toMatchObject({ ok: true, secrets: ['cached'] });
    expect(standIn.calls.ListSecretVersionIds).toBe(1);
  });

  it('a connection that breaks before any answer (a closed keep-alive socket) is retried once; the secret loads', async () => {
    // A relay to the stand-in that drops the first connection as soon as the request arrives.
    let dropped = 0;
    const relay = createNetServer((socket) => {
      if (dropped++ === 0) {
        socket.once('data', () => socket.resetAndDestroy());
        return;
      }
      const upstream = connect(Number(new URL(standIn.endpoint).port), '127.0.0.1');
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const relayed = newClient(`http://127.0.0.1:${(relay.address() as AddressInfo).port}`);
    try {
      const cache = new SecretsCache({ client: relayed, now: clock.now, logger: createLogger(() => undefined) });
      await expect(cache.candidates('local/buddy', 'signingSecret')).resolves.toMatchObject({ ok: true, secrets: ['dev-buddy'] });
      expect(dropped).toBeGreaterThan(1);
    } finally {
      relayed.destroy();
      await new Promise<void>((resolve) => relay.close(() => resolve()));
    }
  });

  it('access denied and a 500 alike: one attempt each; the next comes after the refresh interval', async () => {
    const name = uniqueName();
    standIn.put(name, 'x');
    standIn.setFault({ kind: 'access_denied' });
    await expect(newCache().cache.candidates(name, 'signingSecret')).resolves.toMatchObject({ ok: false, reason: 'secrets_unavailable' });
    expect(standIn.calls).toMatchObject({ ListSecretVersionIds: 1, GetSecretValue: 1 });
    standIn.setFault({ kind: 'server_error' });
    const { cache, logs } = newCache();
    await expect(cache.candidates(name, 'signingSecret')).resolves.toMatchObject({ ok: false, reason: 'secrets_unavailable' });
    expect(standIn.calls).toMatchObject({ ListSecretVersionIds: 2, GetSecretValue: 2 });
    expect(logs()).toContainEqual(expect.objectContaining({ outcome: 'secret_unavailable', errorName: 'InternalServiceError' }));
    await cache.candidates(name, 'signingSecret');
    expect(standIn.calls.ListSecretVersionIds).toBe(2);
  });

  it('a Secrets Manager slower than the client’s requestTimeout: the request is answered at its wait, the timeout ends the call, and the failure is cached', async () => {
    const name = uniqueName();
    standIn.put(name, 'cached');
    standIn.setFault({ kind: 'delay', ms: 5_000 });
    const { cache, logs } = newCache();
    await expect(cache.candidates(name, 'signingSecret', { waitMs: 50 })).resolves.toEqual({ ok: false, reason: 'secrets_unavailable', retryAfterSeconds: 1 });
    // (The client needs throwOnRequestTimeout: without it requestTimeout only logs a warning and the call hangs.)
    await vi.waitFor(() => expect(logs()).toContainEqual(expect.objectContaining({ outcome: 'secret_unavailable', errorName: 'TimeoutError' })), { timeout: 3_000 });
    expect(standIn.calls.ListSecretVersionIds).toBe(1);
    await expect(cache.candidates(name, 'signingSecret', { waitMs: 50 })).resolves.toMatchObject({ ok: false, reason: 'secrets_unavailable', retryAfterSeconds: MIN_REFRESH / 1000 });
    expect(standIn.calls.ListSecretVersionIds).toBe(1);
  });
});
