import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { createDedupeTable } from '../../local/stand-ins/dynamodb.js';
import { DEDUPE_TABLE } from '../../shared/customers/table.js';
import type { DeliveryLedger, EventSink, WebhookEvent } from '../../shared/events/event.js';
import { EventBridgeSink, EventRejectedError, MAX_ENTRY_BYTES, entrySizeBytes, toPutEventsEntry } from '../../shared/events/eventbridge.js';
import { FileEventSink } from '../../shared/events/file-sink.js';
import { dedupeKeyFor, forwardOnce } from '../../shared/events/forward.js';
import { EventSinkConfigError, deliveryLedgerFromEnv, eventSinkFromEnv } from '../../shared/events/from-env.js';
import { DynamoDbLedger, InMemoryLedger } from '../../shared/events/ledger.js';
import { useDynalite } from '../support/dynalite.js';
import { capturedLogger, mockedEventBus } from '../support/handler-harness.js';

/**
 * shared/events on its own: the EventBridge entry, the ledgers' claim/complete/release rules (in
 * memory and on dynalite), forwardOnce's outcomes, the JSON-lines sink and the environment wiring.
 */

const T0 = 1_717_000_000_000;
const LEASE_MS = DEDUPE_TABLE.leaseSeconds * 1000;
const RETENTION_MS = DEDUPE_TABLE.retentionSeconds * 1000;

function event(payload: unknown = { event: 'goal.converted', visitorId: 'vis_1' }, key = 'buddystat#sha256#abc'): WebhookEvent {
  return {
    provider: 'buddystat',
    eventType: 'goal.converted',
    payload,
    delivery: { dedupeKey: key, receivedAt: new Date(T0).toISOString(), route: '/buddystat/events', test: false, unknownType: false, requestId: 'req-1' },
  };
}

const clock = (start = T0) => {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
};

describe('EventBridgeSink', () => {
  it('puts one entry: source webhooks.<provider>, detail-type the event type, detail {payload, delivery}, on the named bus', async () => {
    const bus = mockedEventBus();
    await new EventBridgeSink({ client: bus.client, eventBusName: 'callbacks' }).publish(event());
    expect(bus.accepted()).toEqual([
      { source: 'webhooks.buddystat', detailType: 'goal.converted', busName: 'callbacks', detail: { payload: event().payload, delivery: event().delivery } },
    ]);
    const input = bus.mock.commandCalls(PutEventsCommand)[0]!.args[0].input;
    expect(input.Entries?.[0]?.Time?.toISOString()).toBe(new Date(T0).toISOString());
  });

  it('rejects an entry EventBridge failed inside a 200 answer, with its error code', async () => {
    const bus = mockedEventBus();
    bus.failNext(1);
    const publishing = new EventBridgeSink({ client: bus.client, eventBusName: 'callbacks' }).publish(event());
    await expect(publishing).rejects.toBeInstanceOf(EventRejectedError);
    await expect(publishing).rejects.toMatchObject({ code: 'InternalFailure' });
  });

  it('refuses an entry over 256 KiB, counted in UTF-8 bytes, without calling PutEvents', async () => {
    const bus = mockedEventBus();
    // 'é' is two bytes: under the limit in characters, over it in bytes.
    const payload = { text: 'é'.repeat(MAX_ENTRY_BYTES / 2) };
    expect(JSON.stringify(payload).length).toBeLessThan(MAX_ENTRY_BYTES + 100);
    expect(entrySizeBytes(toPutEventsEntry(event(payload), 'callbacks'))).toBeGreaterThan(MAX_ENTRY_BYTES);
    await expect(new EventBridgeSink({ client: bus.client, eventBusName: 'callbacks' }).publish(event(payload))).rejects.toMatchObject({ code: 'EntryTooLarge' });
    expect(bus.entries()).toEqual([]);
  });

  it('does not call PutEvents with an already-aborted signal, and passes client errors on', async () => {
    const bus = mockedEventBus();
    const sink = new EventBridgeSink({ client: bus.client, eventBusName: 'callbacks' });
    await expect(sink.publish(event(), { signal: AbortSignal.abort(new Error('deadline')) })).rejects.toThrow('deadline');
    expect(bus.entries()).toEqual([]);
    bus.mock.on(PutEventsCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await expect(sink.publish(event())).rejects.toMatchObject({ name: 'ThrottlingException' });
  });
});

/** The rules every ledger keeps, run against both. `make` gets a clock so leases and retention can lapse. */
function ledgerRules(name: string, make: (now: () => number) => DeliveryLedger): void {
  describe(`${name}: claim, complete, release`, () => {
    let n = 0;
    const key = () => `${name}#key-${++n}`;

    it('a first claim is new, a second in progress; once complete it is delivered', async () => {
      const ledger = make(clock().now);
      const k = key();
      expect(await ledger.claim(k)).toBe('new');
      expect(await ledger.claim(k)).toBe('in_progress');
      await ledger.complete(k);
      expect(await ledger.claim(k)).toBe('delivered');
    });

    it('a released claim can be taken again (the platform retry after a failed publish)', async () => {
      const ledger = make(clock().now);
      const k = key();
      expect(await ledger.claim(k)).toBe('new');
      await ledger.release(k);
      expect(await ledger.claim(k)).toBe('new');
    });

    it('a lapsed lease is taken over; a live one is not', async () => {
      const c = clock();
      const ledger = make(c.now);
      const k = key();
      expect(await ledger.claim(k)).toBe('new');
      c.advance(LEASE_MS - 1_000);
      expect(await ledger.claim(k)).toBe('in_progress');
      c.advance(2_000);
      expect(await ledger.claim(k)).toBe('new');
    });

    it('a delivery is remembered for the retention period, then forgotten', async () => {
      const c = clock();
      const ledger = make(c.now);
      const k = key();
      await ledger.claim(k);
      await ledger.complete(k);
      c.advance(RETENTION_MS - 1_000);
      expect(await ledger.claim(k)).toBe('delivered');
      c.advance(2_000);
      expect(await ledger.claim(k)).toBe('new');
    });

    it('release never drops a delivered record', async () => {
      const ledger = make(clock().now);
      const k = key();
      await ledger.claim(k);
      await ledger.complete(k);
      await ledger.release(k);
      expect(await ledger.claim(k)).toBe('delivered');
    });
  });
}

ledgerRules('InMemoryLedger', (now) => new InMemoryLedger({ now }));

describe('DynamoDbLedger on dynalite', () => {
  const TABLE = 'dedupe-ledger-unit';
  const dynamo = useDynalite((client) => createDedupeTable(client, TABLE));
  const ledger = (now: () => number) => new DynamoDbLedger({ tableName: TABLE, client: dynamo().client, now });
  const item = async (key: string) =>
    (await dynamo().client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: key } }, ConsistentRead: true }))).Item;

  ledgerRules('DynamoDbLedger', (now) => ledger(now));

  it('complete writes DELIVERED with a TTL 24 h ahead and no lease', async () => {
    await ledger(() => T0).claim('ttl-key');
    await ledger(() => T0).complete('ttl-key');
    const stored = await item('ttl-key');
    expect(stored?.status?.S).toBe('DELIVERED');
    expect(Number(stored?.[DEDUPE_TABLE.ttlAttribute]?.N)).toBe(Math.ceil((T0 + RETENTION_MS) / 1000));
    expect(stored?.leaseUntil).toBeUndefined();
  });

  it('an item past its TTL that DynamoDB has not swept yet is reclaimed', async () => {
    await dynamo().client.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: { pk: { S: 'expired-key' }, status: { S: 'DELIVERED' }, [DEDUPE_TABLE.ttlAttribute]: { N: String(T0 / 1000 - 60) } },
      }),
    );
    expect(await ledger(() => T0).claim('expired-key')).toBe('new');
  });

  it("a container whose lease was taken over cannot release the new holder's claim", async () => {
    const c = clock();
    const first = ledger(c.now);
    const second = ledger(c.now);
    expect(await first.claim('contended')).toBe('new');
    c.advance(LEASE_MS + 1_000);
    expect(await second.claim('contended')).toBe('new');
    await first.release('contended');
    expect((await item('contended'))?.status?.S).toBe('IN_PROGRESS');
    expect(await first.claim('contended')).toBe('in_progress');
  });

  it('a missing table rejects, so the handler answers 503 instead of forwarding unrecorded', async () => {
    await expect(new DynamoDbLedger({ tableName: 'no-such-table', client: dynamo().client }).claim('k')).rejects.toThrow();
  });
});

describe('dedupeKeyFor', () => {
  it('is the SHA-256 of the bytes per provider; a delivery id wins', () => {
    const body = Buffer.from('{"event":"goal.converted"}');
    expect(dedupeKeyFor('buddystat', body)).toBe(dedupeKeyFor('buddystat', Buffer.from(body)));
    expect(dedupeKeyFor('buddystat', body)).toMatch(/^buddystat#sha256#[0-9a-f]{64}$/);
    expect(dedupeKeyFor('bullseye', body)).not.toBe(dedupeKeyFor('buddystat', body));
    expect(dedupeKeyFor('buddystat', Buffer.from('{"event": "goal.converted"}'))).not.toBe(dedupeKeyFor('buddystat', body));
    expect(dedupeKeyFor('buddystat', body, 'dlv_42')).toBe('buddystat#id#dlv_42');
  });
});

describe('forwardOnce', () => {
  const accepting = (): EventSink & { published: WebhookEvent[] } => {
    const published: WebhookEvent[] = [];
    return { published, publish: async (e) => void published.push(e) };
  };
  const forward = (sink: EventSink, ledger: DeliveryLedger, deadlineMs = 200, logger = capturedLogger()) =>
    forwardOnce(event({ secretish: 'payload-must-not-be-logged' }), { sink, ledger, deadlineMs, logger: logger.logger });

  it('forwards once, then answers duplicate', async () => {
    const sink = accepting();
    const ledger = new InMemoryLedger();
    expect(await forward(sink, ledger)).toEqual({ ok: true, outcome: 'forwarded' });
    expect(await forward(sink, ledger)).toEqual({ ok: true, outcome: 'duplicate' });
    expect(sink.published).toHaveLength(1);
  });

  it('another attempt holding the claim is delivery_in_progress, nothing published', async () => {
    const sink = accepting();
    const ledger = new InMemoryLedger();
    await ledger.claim(event().delivery.dedupeKey);
    expect(await forward(sink, ledger)).toEqual({ ok: false, outcome: 'delivery_in_progress' });
    expect(sink.published).toEqual([]);
  });

  it('a ledger that fails or is slower than the deadline is ledger_unavailable, nothing published', async () => {
    const sink = accepting();
    const failing: DeliveryLedger = { claim: () => Promise.reject(new Error('ResourceNotFoundException')), complete: async () => undefined, release: async () => undefined };
    const stuck: DeliveryLedger = { claim: () => new Promise(() => undefined), complete: async () => undefined, release: async () => undefined };
    expect(await forward(sink, failing)).toEqual({ ok: false, outcome: 'ledger_unavailable' });
    expect(await forward(sink, stuck, 20)).toEqual({ ok: false, outcome: 'ledger_unavailable' });
    expect(sink.published).toEqual([]);
  });

  it('a failed publish is sink_failed and releases the claim, so the retry is new; logs carry no payload', async () => {
    const ledger = new InMemoryLedger();
    const logs = capturedLogger();
    const broken: EventSink = { publish: () => Promise.reject(new EventRejectedError('refused', 'InternalFailure')) };
    expect(await forward(broken, ledger, 200, logs)).toEqual({ ok: false, outcome: 'sink_failed' });
    expect(await ledger.claim(event().delivery.dedupeKey)).toBe('new');
    expect(logs.text()).toContain('event not published');
    expect(logs.text()).not.toContain('payload-must-not-be-logged');
  });

  it('a publish that honours the deadline signal is sink_timeout, with the claim released', async () => {
    const ledger = new InMemoryLedger();
    const slow: EventSink = {
      publish: (_e, options) => new Promise((_, reject) => options?.signal?.addEventListener('abort', () => reject(options.signal?.reason))),
    };
    expect(await forward(slow, ledger, 20)).toEqual({ ok: false, outcome: 'sink_timeout' });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await ledger.claim(event().delivery.dedupeKey)).toBe('new');
  });

  it('a publish that ignores the signal and succeeds late still records the delivery, so the retry is a duplicate', async () => {
    const ledger = new InMemoryLedger();
    let published = 0;
    const late: EventSink = { publish: () => new Promise((resolve) => setTimeout(() => resolve(void published++), 60)) };
    expect(await forward(late, ledger, 20)).toEqual({ ok: false, outcome: 'sink_timeout' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(published).toBe(1);
    expect(await forward(late, ledger, 20)).toEqual({ ok: true, outcome: 'duplicate' });
  });

  it('a record that fails after a publish still answers forwarded, with a warning', async () => {
    const logs = capturedLogger();
    const ledger: DeliveryLedger = { claim: async () => 'new', complete: () => Promise.reject(new Error('throttled')), release: async () => undefined };
    expect(await forward(accepting(), ledger, 200, logs)).toEqual({ ok: true, outcome: 'forwarded' });
    expect(logs.text()).toContain('delivery not recorded');
  });
});

describe('FileEventSink', () => {
  it('appends each event as one whole JSON line, also under concurrent publishes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'events-'));
    try {
      const path = join(dir, 'events.jsonl');
      const sink = new FileEventSink(path);
      await Promise.all(Array.from({ length: 50 }, (_, i) => sink.publish(event({ n: i, text: 'x'.repeat(2_000) }, `k${i}`))));
      const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
      expect(lines).toHaveLength(50);
      const parsed = lines.map((line) => JSON.parse(line) as WebhookEvent);
      expect(parsed[0]).toMatchObject({ provider: 'buddystat', eventType: 'goal.converted', delivery: { route: '/buddystat/events' } });
      expect(new Set(parsed.map((e) => (e.payload as { n: number }).n)).size).toBe(50);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('eventSinkFromEnv / deliveryLedgerFromEnv', () => {
  it('EventBridge by default, which needs EVENT_BUS_NAME: unset, every publish rejects naming it (never a throw at start)', async () => {
    expect(eventSinkFromEnv({ EVENT_BUS_NAME: 'callbacks' })).toBeInstanceOf(EventBridgeSink);
    const sink = eventSinkFromEnv({});
    await expect(sink.publish(event())).rejects.toBeInstanceOf(EventSinkConfigError);
    await expect(sink.publish(event())).rejects.toThrow('EVENT_BUS_NAME');
  });

  it('the file sink needs EVENTS_FILE; an unknown EVENT_SINK names the choices', async () => {
    expect(eventSinkFromEnv({ EVENT_SINK: 'file', EVENTS_FILE: '/tmp/x.jsonl' })).toBeInstanceOf(FileEventSink);
    await expect(eventSinkFromEnv({ EVENT_SINK: 'file' }).publish(event())).rejects.toThrow('EVENTS_FILE');
    await expect(eventSinkFromEnv({ EVENT_SINK: 'sqs' }).publish(event())).rejects.toThrow('eventbridge, file');
  });

  it('DEDUPE_TABLE gives the DynamoDB ledger; unset, the in-memory one with a warning', () => {
    const logs = capturedLogger();
    expect(deliveryLedgerFromEnv({ DEDUPE_TABLE: 'dedupe' }, logs.logger)).toBeInstanceOf(DynamoDbLedger);
    expect(logs.text()).toBe('');
    expect(deliveryLedgerFromEnv({}, logs.logger)).toBeInstanceOf(InMemoryLedger);
    expect(logs.text()).toContain('DEDUPE_TABLE is not set');
  });
});
