import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inlineEntry } from '../../shared/events/entry.js';
import type { EventEntry } from '../../shared/events/event.js';
import { EventBridgeSink } from '../../shared/events/eventbridge.js';
import { FileEventSink } from '../../shared/events/file-sink.js';
import { EventSinkConfigError, deliveryLedgerFromEnv, eventSinkFromEnv } from '../../shared/events/from-env.js';
import { DynamoDbLedger, InMemoryLedger } from '../../shared/events/ledger.js';
import { createLogger } from '../../shared/log.js';

/**
 * The local server's event bus (one JSON line per event in EVENTS_FILE) and the environment wiring
 * that picks the sink and the ledger (names in shared/config.ts). A missing setting never throws at
 * start: every publish rejects with a message naming it, so the handler answers 503 and logs why.
 */

/** The entry a delivery of `payload` becomes (its text embedded as it would have arrived). */
function webhookEvent(n = 0, payload: unknown = { event: 'goal.converted', visitorId: `vis_${n}` }): EventEntry {
  const body = JSON.stringify(payload);
  const delivery = {
    dedupeKey: `buddystat#sha256#${n}`,
    eventType: 'goal.converted',
    receivedAt: '2024-05-29T16:26:40.000Z',
    route: '/buddystat/events',
    test: false,
    unknownType: false,
    requestId: `req-${n}`,
  };
  return inlineEntry({ provider: 'buddystat', body, delivery }, body);
}

/** The payload a written line carries. */
const payloadOf = (line: EventEntry): unknown => (JSON.parse(line.detail) as { payload: unknown }).payload;

function capture() {
  const lines: string[] = [];
  return { logger: createLogger((line) => lines.push(line), 'debug'), lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'events-file-sink-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const readLines = async (path: string) => (await readFile(path, 'utf8')).split('\n');

describe('FileEventSink', () => {
  it('appends one JSON line per entry: {source, detailType, time, detail}, detail the Detail text PutEvents would get', async () => {
    const path = join(dir, 'events.jsonl');
    const sink = new FileEventSink(path);
    const first = webhookEvent(1, { name: 'Zoë', nested: { list: [1, null, 'three'] } });
    const second = webhookEvent(2);
    await sink.publish(first);
    await sink.publish(second);

    const lines = await readLines(path);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe(''); // every line ends with \n
    const parsed = lines.slice(0, 2).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(Object.keys(parsed[0]!)).toEqual(['source', 'detailType', 'time', 'detail']);
    expect(parsed).toEqual([first, second]);
  });

  it('appends to what the file already holds (a server restart keeps earlier events)', async () => {
    const path = join(dir, 'events.jsonl');
    await writeFile(path, '{"earlier":true}\n');
    await new FileEventSink(path).publish(webhookEvent(1));
    const lines = await readLines(path);
    expect(lines[0]).toBe('{"earlier":true}');
    expect(JSON.parse(lines[1]!)).toEqual(webhookEvent(1));
  });

  it('50 concurrent publishes give 50 whole lines, none interleaved', async () => {
    const path = join(dir, 'events.jsonl');
    const sink = new FileEventSink(path);
    // Lines of several KiB with multibyte characters, so a split write would show.
    const events = Array.from({ length: 50 }, (_, n) => webhookEvent(n, { n, text: `${n}:` + 'é€😀'.repeat(500 + n) }));
    await Promise.all(events.map((event) => sink.publish(event)));

    const lines = (await readLines(path)).slice(0, -1);
    expect(lines).toHaveLength(50);
    const parsed = lines.map((line) => JSON.parse(line) as EventEntry);
    const byN = new Map(parsed.map((entry) => [(payloadOf(entry) as { n: number }).n, entry]));
    expect(byN.size).toBe(50);
    for (const entry of events) expect(byN.get((payloadOf(entry) as { n: number }).n)).toEqual(entry);
  });

  it('an already-aborted signal rejects and writes nothing', async () => {
    const path = join(dir, 'events.jsonl');
    const reason = new Error('deadline passed');
    await expect(new FileEventSink(path).publish(webhookEvent(), { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await expect(readFile(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses, as an EventRejectedError, what EventBridge documents it refuses: nesting past 1000 levels, DetailType over 128', async () => {
    const path = join(dir, 'events.jsonl');
    const sink = new FileEventSink(path);
    const deep = webhookEvent(1, JSON.parse('['.repeat(1000) + ']'.repeat(1000)));
    await expect(sink.publish(deep)).rejects.toMatchObject({ name: 'EventRejectedError', code: 'InvalidArgument' });
    await expect(sink.publish({ ...webhookEvent(2), detailType: 'x'.repeat(129) })).rejects.toMatchObject({ name: 'EventRejectedError' });
    await expect(readFile(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a path that cannot be written rejects (the handler answers 503), it does not throw', async () => {
    const sink = new FileEventSink(join(dir, 'no-such-dir', 'events.jsonl'));
    await expect(sink.publish(webhookEvent())).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('eventSinkFromEnv', () => {
  it('EventBridge by default: with EVENT_BUS_NAME, an EventBridgeSink that puts entries on that bus', async () => {
    const bus = mockClient(EventBridgeClient);
    try {
      bus.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'evt-1' }] });
      const sink = eventSinkFromEnv({ EVENT_BUS_NAME: ' callbacks-bus ' });
      expect(sink).toBeInstanceOf(EventBridgeSink);
      await sink.publish(webhookEvent());
      expect(bus.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0]?.EventBusName).toBe('callbacks-bus');
    } finally {
      bus.restore();
    }
  });

  it('EVENT_SINK is read case-insensitively', () => {
    expect(eventSinkFromEnv({ EVENT_SINK: 'EventBridge', EVENT_BUS_NAME: 'b' })).toBeInstanceOf(EventBridgeSink);
    expect(eventSinkFromEnv({ EVENT_SINK: ' FILE ', EVENTS_FILE: join(dir, 'e.jsonl') })).toBeInstanceOf(FileEventSink);
  });

  it.each([
    ['unset', {}],
    ['blank', { EVENT_BUS_NAME: '   ' }],
    ['unset with EVENT_SINK=eventbridge', { EVENT_SINK: 'eventbridge' }],
  ])('EVENT_BUS_NAME %s: no throw at construction; every publish rejects with EventSinkConfigError naming it', async (_label, env) => {
    const sink = eventSinkFromEnv(env);
    const first = sink.publish(webhookEvent());
    await expect(first).rejects.toBeInstanceOf(EventSinkConfigError);
    await expect(first).rejects.toMatchObject({ name: 'EventSinkConfigError', message: expect.stringContaining('EVENT_BUS_NAME') });
    await expect(sink.publish(webhookEvent(2))).rejects.toBeInstanceOf(EventSinkConfigError);
  });

  it('the file sink writes to EVENTS_FILE', async () => {
    const path = join(dir, 'from-env.jsonl');
    const sink = eventSinkFromEnv({ EVENT_SINK: 'file', EVENTS_FILE: path });
    expect(sink).toBeInstanceOf(FileEventSink);
    await sink.publish(webhookEvent(7));
    expect(JSON.parse((await readLines(path))[0]!)).toEqual(webhookEvent(7));
  });

  it('the file sink without EVENTS_FILE: publish rejects naming EVENTS_FILE', async () => {
    const sink = eventSinkFromEnv({ EVENT_SINK: 'file', EVENT_BUS_NAME: 'ignored' });
    await expect(sink.publish(webhookEvent())).rejects.toBeInstanceOf(EventSinkConfigError);
    await expect(sink.publish(webhookEvent())).rejects.toThrow('EVENTS_FILE');
  });

  it('an unknown EVENT_SINK: publish rejects naming EVENT_SINK and the kinds it accepts', async () => {
    const sink = eventSinkFromEnv({ EVENT_SINK: 'sqs', EVENT_BUS_NAME: 'b', EVENTS_FILE: join(dir, 'x.jsonl') });
    await expect(sink.publish(webhookEvent())).rejects.toBeInstanceOf(EventSinkConfigError);
    await expect(sink.publish(webhookEvent())).rejects.toThrow('EVENT_SINK must be one of eventbridge, file');
  });
});

describe('deliveryLedgerFromEnv', () => {
  it('DEDUPE_TABLE unset or blank: an InMemoryLedger, and a warning that retries are recognised only in this process', () => {
    for (const env of [{}, { DEDUPE_TABLE: '  ' }]) {
      const logs = capture();
      expect(deliveryLedgerFromEnv(env, logs.logger)).toBeInstanceOf(InMemoryLedger);
      expect(logs.records()).toEqual([expect.objectContaining({ level: 'warn', message: expect.stringContaining('DEDUPE_TABLE is not set') })]);
    }
  });

  it('DEDUPE_TABLE set: a DynamoDbLedger on that table, and nothing logged', async () => {
    const dynamo = mockClient(DynamoDBClient);
    try {
      dynamo.on(PutItemCommand).resolves({});
      const logs = capture();
      const ledger = deliveryLedgerFromEnv({ DEDUPE_TABLE: 'webhooks-dedupe' }, logs.logger);
      expect(ledger).toBeInstanceOf(DynamoDbLedger);
      expect(logs.lines).toEqual([]);
      expect(await ledger.claim('buddystat#sha256#1')).toBe('new');
      expect(dynamo.commandCalls(PutItemCommand)[0]?.args[0].input.TableName).toBe('webhooks-dedupe');
    } finally {
      dynamo.restore();
    }
  });
});
