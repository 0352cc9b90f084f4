import { createHmac, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRotationHandler } from '../../functions/bullseye-rotation/handler.js';
import { ROTATION_STEPS, type RotationDeps, type RotationStep } from '../../functions/bullseye-rotation/rotation.js';
import { startLocalStack, type LocalStack } from '../../local/app.js';
import { LOCAL_BULLSEYE, localSecretId } from '../../local/defaults.js';
import type { BullseyeFault, DeliveryLog } from '../../local/stand-ins/bullseye.js';
import { LOCAL_AWS_ENV } from '../../local/stand-ins/dynamodb.js';
import { apiKeyFromSecret, PartnerApi, WEBHOOK_TYPES, type WebhookType } from '../../shared/bullseye/partner-api.js';
import { createLogger } from '../../shared/log.js';

/**
 * Automatic rotation of Bullseye's webhook secrets (issue #15), end to end: npm start's stack (the
 * real Bullseye handler behind the local server, the Secrets Manager stand-in, the file event sink)
 * and the Bullseye stand-in delivering signed webhooks (bullseye-webhooks.txt) while the rotation
 * function drives its partner API (bullseye-partner-api.txt) through Secrets Manager's four steps.
 *
 * The receivers run with a 1-second secrets TTL and a short AWSPREVIOUS grace period so the test
 * sees the whole life of a rotation in seconds; the rotation waits out that same TTL, as deployed.
 */
const TTL_SECONDS = 1;
const GRACE_SECONDS = 8;
const SECRET_ID = localSecretId('bullseye');

let stack: LocalStack;
let dir: string;
let sm: SecretsManagerClient;
const logLines: string[] = [];
const restoreEnv: Record<string, string | undefined> = {};

beforeAll(async () => {
  const env = { SECRETS_TTL_SECONDS: String(TTL_SECONDS), SECRETS_PREVIOUS_GRACE_SECONDS: String(GRACE_SECONDS), SECRETS_MIN_REFRESH_SECONDS: '1' };
  for (const [name, value] of Object.entries(env)) {
    restoreEnv[name] = process.env[name];
    process.env[name] = value;
  }
  dir = await mkdtemp(join(tmpdir(), 'bullseye-rotation-'));
  stack = await startLocalStack({ port: 0, eventsFile: join(dir, 'events.jsonl'), quiet: true });
  sm = new SecretsManagerClient({
    endpoint: stack.secretsManager.endpoint,
    region: LOCAL_AWS_ENV.AWS_REGION,
    credentials: { accessKeyId: LOCAL_AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: LOCAL_AWS_ENV.AWS_SECRET_ACCESS_KEY },
  });
});

afterAll(async () => {
  sm?.destroy();
  await stack?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  for (const [name, value] of Object.entries(restoreEnv)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

function deps(): RotationDeps {
  return {
    secretsManager: sm,
    partnerApi: new PartnerApi({ baseUrl: stack.bullseye.apiUrl, apiKey: apiKeyFromSecret(sm, LOCAL_BULLSEYE.apiKeySecretId) }),
    logger: createLogger((line) => void logLines.push(line)),
    receiverTtlMs: TTL_SECONDS * 1000,
    receiverTtlSlackMs: 300,
    pollIntervalMs: 50,
    testTimeoutMs: 10_000,
  };
}

const rotation = createRotationHandler(deps);
const step = (Step: RotationStep, token: string) => rotation({ Step, SecretId: SECRET_ID, ClientRequestToken: token });

async function rotateFully(token: string): Promise<void> {
  for (const name of ROTATION_STEPS) await step(name, token);
}

async function stagedValue(stage: 'AWSCURRENT' | 'AWSPENDING' | 'AWSPREVIOUS'): Promise<{ versionId: string; value: Record<string, string> }> {
  const got = await sm.send(new GetSecretValueCommand({ SecretId: SECRET_ID, VersionStage: stage }));
  return { versionId: got.VersionId!, value: JSON.parse(got.SecretString!) as Record<string, string> };
}

/** Bullseye's deliveries of both types, one after the other, until `stop` resolves. */
async function deliverContinuously(stop: Promise<unknown>): Promise<DeliveryLog[]> {
  let stopped = false;
  void stop.finally(() => (stopped = true));
  const sent: DeliveryLog[] = [];
  for (let i = 0; !stopped || i < 4; i++) {
    const delivered = await stack.bullseye.deliver(WEBHOOK_TYPES[i % 2]!);
    if (delivered) sent.push(delivered);
  }
  return sent;
}

/** Each events-file line's Detail: `{delivery, payload}` (the file sink writes Detail as the text PutEvents would get). */
async function busEvents(): Promise<{ payload: { id?: string }; delivery: { test: boolean } }[]> {
  const text = await readFile(stack.eventsFile, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse((JSON.parse(l) as { detail: string }).detail) as { payload: { id?: string }; delivery: { test: boolean } });
}

/** A Bullseye-shaped delivery signed with `secret`, straight to the receiver: what a late retry signed before the switch looks like. */
async function signedWith(type: WebhookType, secret: string): Promise<number> {
  const body = JSON.stringify({ id: randomUUID(), event: type === 'billing' ? 'billing.invoice_paid' : 'visitor.identified', timestamp: new Date().toISOString(), organization_id: 'org_demo' });
  const response = await fetch(`${stack.url}/bullseye/${type}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Bullseye-Signature': createHmac('sha256', secret).update(body).digest('hex') },
    body,
  });
  await response.body?.cancel();
  return response.status;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Bullseye automatic rotation (bullseye-partner-api.txt, bullseye-webhooks.txt)', () => {
  it('a rotation amid continuous deliveries of both types: 0 rejected, each on the bus once; the old secret verifies until the grace period ends', async () => {
    const before = await stagedValue('AWSCURRENT');
    const token = randomUUID();
    const rotated = rotateFully(token);
    const sent = await deliverContinuously(rotated);
    await rotated;

    const after = await stagedValue('AWSCURRENT');
    expect(after.versionId).toBe(token);
    for (const type of WEBHOOK_TYPES) {
      expect(after.value[type]).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(after.value[type]).not.toBe(before.value[type]);
      // Bullseye signs with the new AWSCURRENT.
      expect(stack.bullseye.webhook(type).secret).toBe(after.value[type]);
    }
    expect((await stagedValue('AWSPREVIOUS')).versionId).toBe(before.versionId);
    await expect(stagedValue('AWSPENDING')).rejects.toThrow();

    // Deliveries signed with the old secret, then (after setSecret) with the new one: none rejected.
    expect(sent.length).toBeGreaterThan(20);
    expect(sent.filter((d) => d.statusCode !== 200)).toEqual([]);
    const events = await busEvents();
    for (const delivery of sent) expect(events.filter((e) => e.payload.id === delivery.id)).toHaveLength(1);
    // The two test deliveries testSecret asked for verified too, and are marked as tests on the bus.
    expect(stack.bullseye.deliveries.filter((d) => d.test && d.statusCode === 200).length).toBeGreaterThanOrEqual(2);

    // The old secret: still verifying after finishSecret (AWSPREVIOUS, within the grace period)...
    await sleep(TTL_SECONDS * 1000 + 200);
    for (const type of WEBHOOK_TYPES) expect(await signedWith(type, before.value[type]!)).toBe(200);
    for (const type of WEBHOOK_TYPES) expect(await signedWith(type, after.value[type]!)).toBe(200);
    // ...and rejected once the grace period (counted from the new version's creation) has passed.
    const created = (await sm.send(new GetSecretValueCommand({ SecretId: SECRET_ID, VersionId: token }))).CreatedDate!.getTime();
    await sleep(Math.max(0, created + GRACE_SECONDS * 1000 + 200 - Date.now()));
    for (const type of WEBHOOK_TYPES) expect(await signedWith(type, before.value[type]!)).toBe(401);
    for (const type of WEBHOOK_TYPES) expect(await signedWith(type, after.value[type]!)).toBe(200);
  });

  it('every step is safe to repeat (Secrets Manager retries steps)', async () => {
    const token = randomUUID();
    for (const name of ROTATION_STEPS) {
      await step(name, token);
      const pending = name === 'finishSecret' ? undefined : await stagedValue('AWSPENDING');
      await step(name, token);
      if (pending) expect(await stagedValue('AWSPENDING')).toEqual(pending);
    }
    expect((await stagedValue('AWSCURRENT')).versionId).toBe(token);
    for (const type of WEBHOOK_TYPES) expect(stack.bullseye.webhook(type).secret).toBe((await stagedValue('AWSCURRENT')).value[type]);
  });

  const faults: { name: string; step: RotationStep; fault: BullseyeFault }[] = [];
  for (const status of [401, 429, 500] as const) {
    faults.push({ name: `setSecret, get-configuration and update (${status})`, step: 'setSecret', fault: { status, calls: ['get', 'update'] } });
    faults.push({ name: `testSecret, send-test-webhook (${status})`, step: 'testSecret', fault: { status, calls: ['test'] } });
    faults.push({ name: `testSecret, get-logs (${status})`, step: 'testSecret', fault: { status, calls: ['logs'] } });
  }
  // Half-way through setSecret: Bullseye signs identification with the new secret, billing with the old.
  faults.push({ name: 'setSecret, billing update only (500)', step: 'setSecret', fault: { status: 500, calls: ['update'], skip: 1 } });

  it.each(faults)('Bullseye failing at $name: the step fails, the old secret stays AWSCURRENT, deliveries keep flowing, the retry completes', async ({ step: failing, fault }) => {
    const before = await stagedValue('AWSCURRENT');
    const token = randomUUID();
    let failedAt: RotationStep | undefined;
    for (const name of ROTATION_STEPS) {
      if (name === failing) stack.bullseye.setFault(fault);
      try {
        await step(name, token);
      } catch {
        failedAt = name;
        break;
      } finally {
        stack.bullseye.setFault(undefined);
      }
    }
    expect(failedAt).toBe(failing);
    expect((await stagedValue('AWSCURRENT')).versionId).toBe(before.versionId);

    // Whatever Bullseye holds now (old or new, per webhook), its deliveries verify.
    await sleep(TTL_SECONDS * 1000 + 100);
    for (const type of WEBHOOK_TYPES) {
      const delivered = await stack.bullseye.deliver(type);
      expect(delivered?.statusCode).toBe(200);
    }

    // Secrets Manager's retry, with the same token, from the failed step on.
    for (const name of ROTATION_STEPS.slice(ROTATION_STEPS.indexOf(failing))) await step(name, token);
    const after = await stagedValue('AWSCURRENT');
    expect(after.versionId).toBe(token);
    for (const type of WEBHOOK_TYPES) expect(stack.bullseye.webhook(type).secret).toBe(after.value[type]);
  });

  it('testSecret fails when the receiver does not verify Bullseye\'s test delivery (401 in the delivery logs); AWSCURRENT stays', async () => {
    const before = await stagedValue('AWSCURRENT');
    const token = randomUUID();
    await step('createSecret', token);
    await step('setSecret', token);
    // Someone sets a secret on Bullseye behind the rotation's back: the receiver knows neither value.
    const api = deps().partnerApi;
    expect((await api.updateWebhook('billing', { secret: 'whsec_set_by_hand_elsewhere' })).ok).toBe(true);
    await expect(step('testSecret', token)).rejects.toThrow(/receiver answered Bullseye's billing test delivery with 401/);
    expect((await stagedValue('AWSCURRENT')).versionId).toBe(before.versionId);
    // Secrets Manager's retry from setSecret puts the AWSPENDING value back; the rotation completes.
    for (const name of ['setSecret', 'testSecret', 'finishSecret'] as const) await step(name, token);
    expect((await stagedValue('AWSCURRENT')).versionId).toBe(token);
  });

  it('Secrets Manager failing at finishSecret: the old secret stays AWSCURRENT, deliveries keep flowing, the retry completes', async () => {
    const before = await stagedValue('AWSCURRENT');
    const token = randomUUID();
    for (const name of ROTATION_STEPS.slice(0, 3)) await step(name, token);
    stack.secretsManager.setFault({ kind: 'access_denied' });
    try {
      await expect(step('finishSecret', token)).rejects.toThrow();
    } finally {
      stack.secretsManager.setFault(undefined);
    }
    expect((await stagedValue('AWSCURRENT')).versionId).toBe(before.versionId);
    for (const type of WEBHOOK_TYPES) expect((await stack.bullseye.deliver(type))?.statusCode).toBe(200);
    await step('finishSecret', token);
    expect((await stagedValue('AWSCURRENT')).versionId).toBe(token);
  });

  it('a new rotation over an abandoned one keeps the AWSPENDING secrets Bullseye may already sign with', async () => {
    const abandoned = randomUUID();
    await step('createSecret', abandoned);
    await step('setSecret', abandoned);
    const pending = await stagedValue('AWSPENDING');
    const token = randomUUID();
    await step('createSecret', token);
    const carried = await stagedValue('AWSPENDING');
    expect(carried.versionId).toBe(token);
    expect(carried.value).toEqual(pending.value);
    for (const type of WEBHOOK_TYPES) expect((await stack.bullseye.deliver(type))?.statusCode).toBe(200);
    for (const name of ROTATION_STEPS.slice(1)) await step(name, token);
    expect((await stagedValue('AWSCURRENT')).versionId).toBe(token);
  });

  it('a step for a version that is not AWSPENDING fails without touching anything', async () => {
    const before = await stagedValue('AWSCURRENT');
    await expect(step('setSecret', randomUUID())).rejects.toThrow(/is not AWSPENDING/);
    await expect(rotation({ Step: 'rotateEverything', SecretId: SECRET_ID, ClientRequestToken: randomUUID() })).rejects.toThrow(/unknown step/);
    expect((await stagedValue('AWSCURRENT')).versionId).toBe(before.versionId);
  });

  it('no log line carries a webhook secret or the partner API key', () => {
    expect(logLines.length).toBeGreaterThan(0);
    const text = logLines.join('\n');
    expect(text).not.toMatch(/whsec_/);
    expect(text).not.toContain(LOCAL_BULLSEYE.apiKey);
    expect(text).toMatch(/"outcome":"rotation_bullseye_rejected"/);
  });
});
