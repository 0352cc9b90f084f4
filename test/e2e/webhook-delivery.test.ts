import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../local/app.js';
import { routeFor, signingSecretFor } from '../../local/platform-requests.js';

/**
 * Issue 12's cases through `npm start` over real HTTP: the events file as the bus (it refuses what
 * EventBridge documents it refuses), the delivery bucket on the embedded s3rver, the ledger on
 * dynalite; then parking while the bus is down, and `npm run redrive` (run as npm runs it) putting
 * the parked delivery on the bus once.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let stack: LocalStack;
let dir: string;
/** The handlers' log lines, as npm start would print them. */
const logLines: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-delivery-'));
  stack = await startLocalStack({ port: 0, eventsFile: join(dir, 'events.jsonl'), quiet: true, logSink: (line) => logLines.push(line) });
});

afterAll(async () => {
  await stack?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface EventLine {
  readonly source: string;
  readonly detailType: string;
  readonly detail: string;
}

async function events(): Promise<EventLine[]> {
  const text = await readFile(stack.eventsFile, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as EventLine);
}

const hmac = (secret: string, bytes: string) => createHmac('sha256', secret).update(bytes).digest('hex');
const bullseyeSecret = () => signingSecretFor(stack.secrets.bullseye!, routeFor('bullseye', 'billing'))!;
const buddyStatSecret = () => signingSecretFor(stack.secrets.buddystat!, routeFor('buddystat'))!;

async function post(path: string, body: string, header: string, signature: string): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${stack.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', [header]: signature }, body });
  return { status: response.status, json: await response.json() };
}

const bullseye = (raw: string) => post('/bullseye/billing', raw, 'X-Bullseye-Signature', hmac(bullseyeSecret(), raw));
const buddystat = (raw: string, signed: string = raw) => post('/buddystat/events', raw, 'X-BuddyStat-Signature', hmac(buddyStatSecret(), signed));

async function object(key: string): Promise<string> {
  const got = await stack.s3.client.send(new GetObjectCommand({ Bucket: stack.s3.bucket, Key: key }));
  return got.Body!.transformToString('utf8');
}

async function keys(prefix: string): Promise<string[]> {
  const listed = await stack.s3.client.send(new ListObjectsV2Command({ Bucket: stack.s3.bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((o) => o.Key!);
}

const withId = (id: string) => (line: EventLine) => line.detail.includes(id);
let n = 0;
const id = (label: string) => `${label}-${Date.now()}-${++n}`;

describe('npm start: issue 12, case by case', () => {
  it('1. a forged BuddyStat body nested 5,000 levels deep: 401, not 500 (buddystat-webhooks.txt)', async () => {
    const { status } = await post('/buddystat/events', `{"event":"goal.converted","x":${'['.repeat(5000)}${']'.repeat(5000)}}`, 'X-BuddyStat-Signature', 'ab'.repeat(32));
    expect(status).toBe(401);
  });

  it('2. a BuddyStat delivery and its byte variants: one event, carrying the compact form that verified (buddystat-webhooks.txt)', async () => {
    const tag = id('variants');
    const compact = JSON.stringify({ event: 'goal.converted', id: tag, goal: { value: 49 } });
    const variants = [compact, ` ${compact}`, `${compact}\n`, JSON.stringify(JSON.parse(compact), null, 2), compact.replace('49', '49.0'), `{"event":"x",${compact.slice(1)}`];
    for (const raw of variants) expect((await buddystat(raw, compact)).status).toBe(200);
    const written = (await events()).filter(withId(tag));
    expect(written).toHaveLength(1);
    expect(written[0]!.detail.endsWith(`,"payload":${compact}}`)).toBe(true);
  });

  it('3. the platform\'s numbers arrive as sent: inline when EventBridge can hold them, a claim check with the exact bytes when not (bullseye-webhooks.txt)', async () => {
    const plain = `{"id":"${id('exact')}","amount":1e400,"price":1.50}`;
    expect((await bullseye(plain)).status).toBe(200);
    expect((await events()).find(withId(JSON.parse(plain).id))!.detail.endsWith(`,"payload":${plain}}`)).toBe(true);

    const tag = id('int64');
    const big = `{"orderId":12345678901234567890,"amount":1e400,"id":"${tag}"}`;
    expect((await bullseye(big)).status).toBe(200);
    const [pointer, ...more] = (await events()).filter((line) => line.detail.includes('"claim":') && line.source === 'webhooks.bullseye');
    expect(pointer).toBeDefined();
    const claims = await Promise.all([pointer, ...more].map(async (line) => object((JSON.parse(line!.detail) as { claim: { key: string } }).claim.key)));
    expect(claims.filter((bytes) => bytes === big)).toHaveLength(1);
  });

  it('4. a 1 MB body: 200, kept in the embedded S3, a pointer {bucket,key,size,sha256} on the bus (bullseye-webhooks.txt)', async () => {
    const tag = id('large');
    const raw = JSON.stringify({ id: tag, lines: 'l'.repeat(1024 * 1024) });
    expect((await bullseye(raw)).status).toBe(200);
    const lines = (await events()).filter((line) => line.detail.includes('"claim":'));
    const mine = (await Promise.all(lines.map(async (line) => ({ line, body: await object((JSON.parse(line.detail) as { claim: { key: string } }).claim.key) })))).filter((x) => x.body === raw);
    expect(mine).toHaveLength(1);
    expect(JSON.parse(mine[0]!.line.detail).claim).toMatchObject({ bucket: stack.s3.bucket, size: Buffer.byteLength(raw), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('5. nesting past 1000 levels, a 300-character event type, a 3,000-character deliveryId: each 200 and on the bus, none a 503 (buddystat-webhooks.txt)', async () => {
    const deep = `{"event":"event.tracked","id":"${id('deep')}","x":${'['.repeat(1500)}${']'.repeat(1500)}}`;
    expect((await buddystat(deep)).status).toBe(200);
    const type = `custom.${'t'.repeat(300)}`;
    const longType = JSON.stringify({ event: type, id: id('type') });
    expect((await buddystat(longType)).status).toBe(200);
    const typed = (await events()).find(withId(JSON.parse(longType).id))!;
    expect(typed.detailType).toBe(type.slice(0, 128));
    expect(JSON.parse(typed.detail).delivery.eventType).toBe(type);
    const longId = JSON.stringify({ event: 'event.tracked', deliveryId: 'd'.repeat(3000), id: id('long-id') });
    expect((await buddystat(longId)).status).toBe(200);
    expect((await buddystat(longId)).json).toEqual({ received: true, duplicate: true });
  });
});

describe('npm start: logs', () => {
  it('7. a 100 KB event type from the body is logged cut to 128 characters and escaped, on every line that names it (buddystat-webhooks.txt)', async () => {
    logLines.length = 0;
    const type = `evil\n${'x'.repeat(100_000)}`;
    expect((await buddystat(JSON.stringify({ event: type, id: id('log') }))).status).toBe(200);
    const named = logLines.map((line) => JSON.parse(line) as { eventType?: string }).filter((line) => line.eventType !== undefined);
    expect(named.length).toBeGreaterThan(0);
    for (const line of named) expect(line.eventType).toBe(`evil\\u000a${'x'.repeat(123)}`);
    for (const line of logLines) expect(line.length).toBeLessThan(2_000);
  });
});

describe('npm start: parking while the bus is down, then npm run redrive', () => {
  it('the delivery is parked in the embedded S3 (200), and `npm run redrive -- --provider bullseye --since 1h` puts it on the bus once (bullseye-webhooks.txt)', async () => {
    // The local bus cannot append: the events file is a directory for now.
    await rm(stack.eventsFile, { force: true });
    await mkdir(stack.eventsFile);
    const tag = id('parked');
    const raw = JSON.stringify({ id: tag, amountCents: 4200 });
    try {
      expect(await bullseye(raw)).toEqual({ status: 200, json: { received: true } });
      expect(await keys('parked/bullseye/')).toHaveLength(1);
    } finally {
      await rm(stack.eventsFile, { recursive: true, force: true });
    }

    const redrive = spawn(process.execPath, ['--import', 'tsx', 'local/redrive.ts', '--provider', 'bullseye', '--since', '1h'], {
      cwd: ROOT,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', LOCAL_EVENTS_FILE: stack.eventsFile, DELIVERY_BUCKET: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    redrive.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    redrive.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => redrive.on('close', resolve));
    expect(code, out).toBe(0);
    expect(out).toContain('{"forwarded":1,"duplicates":0,"kept":0,"unreadable":0}');
    expect(await keys('parked/bullseye/')).toEqual([]);
    const written = (await events()).filter(withId(tag));
    expect(written).toHaveLength(1);
    expect(written[0]!.detail.endsWith(`,"payload":${raw}}`)).toBe(true);
    // Forwarded through the same ledger: the platform resending it is a duplicate.
    expect((await bullseye(raw)).json).toEqual({ received: true, duplicate: true });
  });

  it('npm run redrive: a usage error (exit 2) for an unknown provider or an unreadable --since', async () => {
    for (const args of [['--provider', 'talki'], ['--since', 'yesterday-ish']]) {
      const child = spawn(process.execPath, ['--import', 'tsx', 'local/redrive.ts', ...args], { cwd: ROOT, env: { ...process.env, LOCAL_EVENTS_FILE: stack.eventsFile }, stdio: 'ignore' });
      expect(await new Promise<number | null>((resolve) => child.on('close', resolve))).toBe(2);
    }
  });
});
