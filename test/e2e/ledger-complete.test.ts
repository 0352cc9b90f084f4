import { createHmac } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LOCAL_TABLES, startLocalStack, type LocalStack } from '../../local/app.js';
import { routeFor, signingSecretFor } from '../../local/platform-requests.js';
import { DEDUPE_TABLE } from '../../shared/customers/table.js';
import { COMPLETE_DEADLINE_MS } from '../../shared/events/forward.js';
import { MAX_LOGGED_CHARACTERS } from '../../shared/log-value.js';
import { startDynamoDbRelay, type DynamoDbRelay } from '../support/dynamodb-relay.js';

/**
 * Issue 12, case 6 through `npm start` over real HTTP: PutEvents (the events file) accepted the
 * entry, then the ledger's `complete` write is slow or never lands. The handlers reach dynalite
 * through a relay (test/support/dynamodb-relay.ts) that holds or drops that one write on the wire.
 * The local server delivers function URL events; the other two shapes run in-process in
 * test/handlers/webhook-delivery.test.ts.
 */
let stack: LocalStack;
let relay: DynamoDbRelay;
let dir: string;
const logLines: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-complete-'));
  stack = await startLocalStack({
    port: 0,
    eventsFile: join(dir, 'events.jsonl'),
    quiet: true,
    logSink: (line) => logLines.push(line),
    dynamoDbEndpoint: async (dynalite) => (relay = await startDynamoDbRelay(dynalite)).endpoint,
  });
});

afterAll(async () => {
  // Closing the relay first drops the writes it never forwarded, as a lost connection would.
  await relay?.close();
  await stack?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  relay.completeWrites('pass');
  logLines.length = 0;
});

interface LogLine {
  readonly level: string;
  readonly message?: string;
  readonly outcome?: string;
  readonly dedupeKey?: string;
  readonly eventType?: string;
  readonly detail?: string;
}

const logs = () => logLines.map((line) => JSON.parse(line) as LogLine);
const notRecorded = () => logs().filter((line) => line.level === 'warn' && line.message?.startsWith('delivery not recorded'));

interface Written {
  readonly detail: string;
  readonly dedupeKey: string;
}

async function eventsWith(id: string): Promise<Written[]> {
  const text = await readFile(stack.eventsFile, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line.includes(id))
    .map((line) => {
      const detail = (JSON.parse(line) as { detail: string }).detail;
      return { detail, dedupeKey: (JSON.parse(detail) as { delivery: { dedupeKey: string } }).delivery.dedupeKey };
    });
}

const hmac = (secret: string, bytes: string) => createHmac('sha256', secret).update(bytes).digest('hex');

async function post(path: string, body: string, header: string, secret: string): Promise<{ status: number; retryAfter: string | null; json: unknown }> {
  const response = await fetch(`${stack.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', [header]: hmac(secret, body) }, body });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), json: await response.json() };
}

const bullseye = (raw: string) => post('/bullseye/billing', raw, 'X-Bullseye-Signature', signingSecretFor(stack.secrets.bullseye!, routeFor('bullseye', 'billing'))!);
const buddystat = (raw: string) => post('/buddystat/events', raw, 'X-BuddyStat-Signature', signingSecretFor(stack.secrets.buddystat!, routeFor('buddystat'))!);

let n = 0;
const id = (label: string) => `${label}-${Date.now()}-${++n}`;

/** Where the item stands once its lease has run out: what DynamoDB holds 30 s (DEDUPE_TABLE.leaseSeconds) later. */
async function leaseRunsOut(key: string): Promise<void> {
  await stack.dynamo.client.send(
    new UpdateItemCommand({
      TableName: LOCAL_TABLES.dedupe,
      Key: { [DEDUPE_TABLE.partitionKey]: { S: key } },
      UpdateExpression: 'SET leaseUntil = :past',
      ConditionExpression: '#status = :inProgress',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':past': { N: String(Date.now() - 1) }, ':inProgress': { S: 'IN_PROGRESS' } },
    }),
  );
}

describe('npm start: issue 12 case 6, a slow ledger complete after PutEvents accepted', () => {
  it(`6. complete held past its ${COMPLETE_DEADLINE_MS} ms deadline: 200 not 503, one event carrying its dedupeKey, a bounded warning; once it lands a resend is a duplicate (bullseye-webhooks.txt)`, async () => {
    relay.completeWrites('hold');
    const tag = id('held-complete');
    const raw = JSON.stringify({ id: tag, amountCents: 4200 });

    expect(await bullseye(raw)).toMatchObject({ status: 200, json: { received: true } });
    // Answered while the write was still held on the wire.
    const [key, ...sdkRetries] = relay.completes();
    expect(key).toMatch(/^bullseye#sha256#[0-9a-f]{64}$/);
    expect(sdkRetries.every((retry) => retry === key)).toBe(true);
    const written = await eventsWith(tag);
    expect(written).toHaveLength(1);
    expect(written[0]!.dedupeKey).toBe(key);
    expect(written[0]!.detail.endsWith(`,"payload":${raw}}`)).toBe(true);
    expect(logs().find((line) => line.outcome !== undefined)).toMatchObject({ outcome: 'forwarded', dedupeKey: key });
    const [warning, ...more] = notRecorded();
    expect(more).toEqual([]);
    expect(warning).toMatchObject({ dedupeKey: key, detail: `complete took longer than ${COMPLETE_DEADLINE_MS} ms` });

    await relay.release();
    relay.completeWrites('pass');
    expect((await bullseye(raw)).json).toEqual({ received: true, duplicate: true });
    expect(await eventsWith(tag)).toHaveLength(1);
  });

  it('6. complete never lands: 200, a bounded warning; a retry inside the lease is 503 delivery in progress (Retry-After 5, nothing published); a retry after the lease publishes a second copy with the same dedupeKey, the documented window (buddystat-webhooks.txt)', async () => {
    relay.completeWrites('never');
    const tag = id('lost-complete');
    const type = `goal.${'g'.repeat(1_000)}`;
    const raw = JSON.stringify({ event: type, id: tag, goal: { value: 49 } });

    expect(await buddystat(raw)).toMatchObject({ status: 200, json: { received: true } });
    const key = relay.completes()[0]!;
    expect(key).toMatch(/^buddystat#sha256#[0-9a-f]{64}$/);
    expect((await eventsWith(tag)).map((e) => e.dedupeKey)).toEqual([key]);
    const [warning] = notRecorded();
    expect(warning).toMatchObject({ dedupeKey: key, detail: `complete took longer than ${COMPLETE_DEADLINE_MS} ms` });
    // The event type comes from the body: cut, as every value from a body is, however long it was sent.
    expect(warning!.eventType!.length).toBeLessThanOrEqual(MAX_LOGGED_CHARACTERS);
    for (const line of logLines) expect(line.length).toBeLessThan(2_000);

    // The claim's lease still holds: the platform's retry is told to come back, and nothing is published.
    expect(await buddystat(raw)).toEqual({ status: 503, retryAfter: '5', json: { error: 'Delivery in progress; retry later' } });
    expect(await eventsWith(tag)).toHaveLength(1);

    await leaseRunsOut(key);
    expect(await buddystat(raw)).toMatchObject({ status: 200, json: { received: true } });
    const copies = await eventsWith(tag);
    expect(copies).toHaveLength(2);
    expect(copies.map((copy) => copy.dedupeKey)).toEqual([key, key]);
    for (const copy of copies) expect(copy.detail.endsWith(`,"payload":${raw}}`)).toBe(true);
  });
});
