import { GetItemCommand, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { createDedupeTable } from '../../local/stand-ins/dynamodb.js';
import { DEDUPE_TABLE } from '../../shared/customers/table.js';
import type { DeliveryLedger, EventEntry, EventSink, WebhookEvent } from '../../shared/events/event.js';
import { forwardOnce } from '../../shared/events/forward.js';
import { DynamoDbLedger, InMemoryLedger } from '../../shared/events/ledger.js';
import { unavailableStore } from '../../shared/events/store.js';
import { createLogger } from '../../shared/log.js';
import { useDynalite } from '../support/dynalite.js';

/**
 * The delivery ledgers' rules: a first claim is new, a claim held by a live lease is in progress, a
 * completed key is delivered for the retention period (a day: every platform's retry schedule), a
 * released claim can be taken again, and a lease that ran out is taken over. Time moves through the
 * ledgers' `now` option, never by sleeping. DynamoDbLedger runs against dynalite (the real SDK and
 * wire protocol), where two instances stand for two Lambda containers.
 */

/** A whole second, so the DynamoDB ledger's epoch-second TTL lines up with the millisecond clock. */
const T0 = 1_717_000_000_000;
const LEASE_MS = DEDUPE_TABLE.leaseSeconds * 1_000;
const RETENTION_MS = DEDUPE_TABLE.retentionSeconds * 1_000;

interface Clock {
  readonly now: () => number;
  advance(ms: number): void;
}

function clock(start = T0): Clock {
  let now = start;
  return { now: () => now, advance: (ms) => void (now += ms) };
}

let keys = 0;
const freshKey = (label: string) => `buddystat#sha256#${label}-${++keys}`;

/** The rules both ledgers keep. `make` builds a ledger on the given clock (a new container, for DynamoDB). */
function ledgerRules(name: string, make: (now: () => number) => DeliveryLedger): void {
  describe(`${name}: the ledger rules`, () => {
    it('a first claim is new; a second, while the first holds its lease, is in_progress', async () => {
      const ledger = make(clock().now);
      const key = freshKey(name);
      expect(await ledger.claim(key)).toBe('new');
      expect(await ledger.claim(key)).toBe('in_progress');
    });

    it('a completed key is delivered', async () => {
      const ledger = make(clock().now);
      const key = freshKey(name);
      expect(await ledger.claim(key)).toBe('new');
      await ledger.complete(key);
      expect(await ledger.claim(key)).toBe('delivered');
      expect(await ledger.claim(key)).toBe('delivered');
    });

    it('keys are independent', async () => {
      const ledger = make(clock().now);
      const a = freshKey(name);
      const b = freshKey(name);
      await ledger.claim(a);
      await ledger.complete(a);
      expect(await ledger.claim(b)).toBe('new');
      expect(await ledger.claim(a)).toBe('delivered');
    });

    it('the lease holds until it runs out; then a retry takes the key over', async () => {
      const c = clock();
      const ledger = make(c.now);
      const key = freshKey(name);
      expect(await ledger.claim(key)).toBe('new');
      c.advance(LEASE_MS - 1);
      expect(await ledger.claim(key)).toBe('in_progress');
      c.advance(2);
      expect(await ledger.claim(key)).toBe('new');
      // The retry's own lease now holds.
      expect(await ledger.claim(key)).toBe('in_progress');
    });

    it('a delivered key is remembered for the retention period (24 h), then forgotten', async () => {
      const c = clock();
      const ledger = make(c.now);
      const key = freshKey(name);
      await ledger.claim(key);
      await ledger.complete(key);
      c.advance(LEASE_MS + 1);
      expect(await ledger.claim(key)).toBe('delivered');
      c.advance(RETENTION_MS - LEASE_MS - 1_001);
      expect(await ledger.claim(key)).toBe('delivered');
      c.advance(2_000);
      expect(await ledger.claim(key)).toBe('new');
    });

    it('retention counts from complete, not from claim', async () => {
      const c = clock();
      const ledger = make(c.now);
      const key = freshKey(name);
      await ledger.claim(key);
      c.advance(LEASE_MS - 1_000);
      await ledger.complete(key);
      c.advance(RETENTION_MS - 2_000);
      expect(await ledger.claim(key)).toBe('delivered');
    });

    it('release drops an in-progress claim, so the retry after a failed publish is new', async () => {
      const ledger = make(clock().now);
      const key = freshKey(name);
      expect(await ledger.claim(key)).toBe('new');
      await ledger.release(key);
      expect(await ledger.claim(key)).toBe('new');
    });

    it('release never drops a delivered record', async () => {
      const ledger = make(clock().now);
      const key = freshKey(name);
      await ledger.claim(key);
      await ledger.complete(key);
      await ledger.release(key);
      expect(await ledger.claim(key)).toBe('delivered');
    });

    it('release of a key never claimed is a no-op', async () => {
      const ledger = make(clock().now);
      const key = freshKey(name);
      await expect(ledger.release(key)).resolves.toBeUndefined();
      expect(await ledger.claim(key)).toBe('new');
    });

    it('complete without a claim still records the delivery (a late publish after its lease was lost)', async () => {
      const ledger = make(clock().now);
      const key = freshKey(name);
      await ledger.complete(key);
      expect(await ledger.claim(key)).toBe('delivered');
    });

    it('a late complete over a retry that took the key over records it delivered', async () => {
      const c = clock();
      const ledger = make(c.now);
      const key = freshKey(name);
      await ledger.claim(key);
      c.advance(LEASE_MS + 1);
      expect(await ledger.claim(key)).toBe('new');
      // The first attempt's publish landed after all: the event is on the bus.
      await ledger.complete(key);
      expect(await ledger.claim(key)).toBe('delivered');
    });
  });
}

// ---- In memory ----

ledgerRules('InMemoryLedger', (now) => new InMemoryLedger({ now }));

describe('InMemoryLedger', () => {
  it('honours custom lease and retention periods', async () => {
    const c = clock();
    const ledger = new InMemoryLedger({ now: c.now, leaseSeconds: 2, retentionSeconds: 10 });
    expect(await ledger.claim('k')).toBe('new');
    c.advance(2_001);
    expect(await ledger.claim('k')).toBe('new');
    await ledger.complete('k');
    c.advance(9_999);
    expect(await ledger.claim('k')).toBe('delivered');
    c.advance(2);
    expect(await ledger.claim('k')).toBe('new');
  });

  it('forgets expired entries written before a live one (a long local run stays small) without losing live ones', async () => {
    const c = clock();
    const ledger = new InMemoryLedger({ now: c.now });
    for (let i = 0; i < 100; i++) await ledger.claim(`old-${i}`);
    await ledger.claim('delivered');
    await ledger.complete('delivered');
    c.advance(LEASE_MS + 1);
    await ledger.claim('fresh');
    expect(await ledger.claim('delivered')).toBe('delivered');
    expect(await ledger.claim('fresh')).toBe('in_progress');
    expect(await ledger.claim('old-0')).toBe('new');
  });

  it('one ledger per process: another instance knows nothing of this one', async () => {
    const a = new InMemoryLedger();
    const b = new InMemoryLedger();
    await a.claim('k');
    await a.complete('k');
    expect(await b.claim('k')).toBe('new');
  });
});

// ---- DynamoDB (dynalite) ----

describe('DynamoDbLedger on dynalite', () => {
  const TABLE = 'dedupe-ledger-test';
  const dynamo = useDynalite((client) => createDedupeTable(client, TABLE));
  /** One instance per Lambda container: each keeps its own lease tokens. */
  const container = (now: () => number, tableName = TABLE) => new DynamoDbLedger({ tableName, client: dynamo().client, now });

  async function item(key: string): Promise<Record<string, AttributeValue> | undefined> {
    const got = await dynamo().client.send(new GetItemCommand({ TableName: TABLE, Key: { [DEDUPE_TABLE.partitionKey]: { S: key } }, ConsistentRead: true }));
    return got.Item;
  }

  async function putItem(key: string, fields: Record<string, AttributeValue>): Promise<void> {
    await dynamo().client.send(new PutItemCommand({ TableName: TABLE, Item: { [DEDUPE_TABLE.partitionKey]: { S: key }, ...fields } }));
  }

  ledgerRules('DynamoDbLedger', (now) => container(now));

  it('claim writes IN_PROGRESS with a lease token, leaseUntil = now + 30 s and the TTL a day ahead', async () => {
    const now = T0 + 250;
    const key = freshKey('claim-item');
    await container(() => now).claim(key);
    const stored = await item(key);
    expect(stored?.status).toEqual({ S: 'IN_PROGRESS' });
    expect(stored?.leaseUntil).toEqual({ N: String(now + LEASE_MS) });
    expect(stored?.lease?.S).toMatch(/^[0-9a-f-]{36}$/);
    expect(stored?.[DEDUPE_TABLE.ttlAttribute]).toEqual({ N: String(Math.ceil((now + RETENTION_MS) / 1_000)) });
  });

  it('complete writes DELIVERED with expiresAt ≈ now + 24 h (epoch seconds) and drops the lease fields', async () => {
    const now = T0 + 500;
    const ledger = container(() => now);
    const key = freshKey('complete-item');
    await ledger.claim(key);
    await ledger.complete(key);
    const stored = await item(key);
    expect(stored?.status).toEqual({ S: 'DELIVERED' });
    const expiresAt = Number(stored?.[DEDUPE_TABLE.ttlAttribute]?.N);
    expect(expiresAt).toBeGreaterThanOrEqual((now + RETENTION_MS) / 1_000);
    expect(expiresAt).toBeLessThanOrEqual((now + RETENTION_MS) / 1_000 + 1);
    expect(stored?.leaseUntil).toBeUndefined();
    expect(stored?.lease).toBeUndefined();
  });

  it('another container takes over an item whose lease ran out', async () => {
    const c = clock();
    const key = freshKey('takeover');
    const first = container(c.now);
    const second = container(c.now);
    expect(await first.claim(key)).toBe('new');
    const firstLease = (await item(key))?.lease?.S;
    expect(await second.claim(key)).toBe('in_progress');
    c.advance(LEASE_MS + 1);
    expect(await second.claim(key)).toBe('new');
    const after = await item(key);
    expect(after?.lease?.S).not.toBe(firstLease);
    expect(after?.leaseUntil).toEqual({ N: String(c.now() + LEASE_MS) });
  });

  it('an item past its expiresAt that TTL has not swept yet is reclaimed (DynamoDB deletes expired items lazily)', async () => {
    const delivered = freshKey('ttl-delivered');
    const inProgress = freshKey('ttl-in-progress');
    const pastSeconds = T0 / 1_000 - 60;
    await putItem(delivered, { status: { S: 'DELIVERED' }, [DEDUPE_TABLE.ttlAttribute]: { N: String(pastSeconds) } });
    // A lease that still looks live but whose item outlived its TTL: the TTL wins.
    await putItem(inProgress, {
      status: { S: 'IN_PROGRESS' },
      leaseUntil: { N: String(T0 + LEASE_MS) },
      lease: { S: 'someone-else' },
      [DEDUPE_TABLE.ttlAttribute]: { N: String(pastSeconds) },
    });
    const ledger = container(() => T0);
    expect(await ledger.claim(delivered)).toBe('new');
    expect(await ledger.claim(inProgress)).toBe('new');
    expect((await item(delivered))?.status).toEqual({ S: 'IN_PROGRESS' });
    expect(Number((await item(delivered))?.[DEDUPE_TABLE.ttlAttribute]?.N)).toBeGreaterThan(T0 / 1_000);
  });

  it('a DELIVERED item within its TTL is not reclaimed however old its lease would be', async () => {
    const key = freshKey('delivered-no-lease');
    await putItem(key, { status: { S: 'DELIVERED' }, leaseUntil: { N: '0' }, [DEDUPE_TABLE.ttlAttribute]: { N: String(T0 / 1_000 + 60) } });
    expect(await container(() => T0).claim(key)).toBe('delivered');
  });

  it("a container whose lease was taken over cannot release the new holder's item", async () => {
    const c = clock();
    const key = freshKey('release-race');
    const stale = container(c.now);
    const holder = container(c.now);
    expect(await stale.claim(key)).toBe('new');
    c.advance(LEASE_MS + 1);
    expect(await holder.claim(key)).toBe('new');
    const holderLease = (await item(key))?.lease?.S;

    // The stale container's publish failed; it releases what it thinks is its claim.
    await expect(stale.release(key)).resolves.toBeUndefined();
    const after = await item(key);
    expect(after?.status).toEqual({ S: 'IN_PROGRESS' });
    expect(after?.lease?.S).toBe(holderLease);
    expect(await stale.claim(key)).toBe('in_progress');

    // The holder's own release still works.
    await holder.release(key);
    expect(await item(key)).toBeUndefined();
    expect(await stale.claim(key)).toBe('new');
  });

  it("a late complete from the container that lost its lease records the delivery over the new holder's claim", async () => {
    const c = clock();
    const key = freshKey('late-complete');
    const first = container(c.now);
    const second = container(c.now);
    await first.claim(key);
    c.advance(LEASE_MS + 1);
    expect(await second.claim(key)).toBe('new');
    await first.complete(key);
    expect(await second.claim(key)).toBe('delivered');
  });

  it('a container that already released (or completed) does not release again', async () => {
    const key = freshKey('release-twice');
    const first = container(clock().now);
    const second = container(clock().now);
    await first.claim(key);
    await first.release(key);
    expect(await second.claim(key)).toBe('new');
    await first.release(key);
    expect((await item(key))?.status).toEqual({ S: 'IN_PROGRESS' });
  });

  it('release never deletes a DELIVERED item, even one another container wrote over its own lease', async () => {
    const c = clock();
    const key = freshKey('release-after-delivered');
    const first = container(c.now);
    const second = container(c.now);
    await first.claim(key);
    await second.complete(key);
    await first.release(key);
    expect((await item(key))?.status).toEqual({ S: 'DELIVERED' });
  });

  it('concurrent claims from five containers: exactly one is new', async () => {
    const key = freshKey('concurrent');
    const results = await Promise.all(Array.from({ length: 5 }, () => container(() => T0).claim(key)));
    expect(results.filter((r) => r === 'new')).toHaveLength(1);
    expect(results.filter((r) => r === 'in_progress')).toHaveLength(4);
  });

  it('a claim with an already-aborted signal rejects and writes nothing', async () => {
    const key = freshKey('aborted');
    await expect(container(() => T0).claim(key, { signal: AbortSignal.abort(new Error('deadline passed')) })).rejects.toThrow();
    expect(await item(key)).toBeUndefined();
  });

  it('a missing table rejects claim and complete (the handler parks the delivery rather than forward it unrecorded)', async () => {
    const ledger = container(() => T0, 'no-such-table');
    await expect(ledger.claim('k')).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(ledger.complete('k')).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('with a missing table forwardOnce answers ledger_unavailable and publishes nothing', async () => {
    const published: EventEntry[] = [];
    const sink: EventSink = { publish: async (entry) => void published.push(entry) };
    const event: WebhookEvent = {
      provider: 'bullseye',
      body: '{"visitorId":"v1"}',
      delivery: { dedupeKey: freshKey('missing-table'), eventType: 'identification', receivedAt: new Date(T0).toISOString(), route: '/bullseye/identification', test: false, unknownType: false },
    };
    const store = unavailableStore('not used here');
    const result = await forwardOnce(event, { sink, ledger: container(() => T0, 'no-such-table'), store, deadlineMs: 500, logger: createLogger(() => undefined) });
    expect(result).toMatchObject({ ok: false, outcome: 'ledger_unavailable', reason: { code: 'ResourceNotFoundException' } });
    expect(published).toEqual([]);
  });
});
