import { PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import {
  claimEntry,
  detailTypeFor,
  documentedRejection,
  entrySizeBytes,
  fitsOnTheBus,
  inlineEntry,
  jsonLimitProblem,
  MAX_ENTRY_BYTES,
} from '../../shared/events/entry.js';
import { EventRejectedError, type EventEntry, type WebhookEvent } from '../../shared/events/event.js';
import { EventBridgeSink, toPutEventsEntry } from '../../shared/events/eventbridge.js';
import { mockedEventBus, payloadText, type MockedEventBus } from '../support/handler-harness.js';

/**
 * The entry a delivery becomes (shared/events/entry.ts) and EventBridgeSink over a stubbed
 * EventBridgeClient (aws-sdk-client-mock, as the handler suites stub it): what it sends, and which
 * failures it reports as a rejection (retrying cannot help) rather than a passing failure.
 * Size rule: "Calculating Amazon EventBridge PutEvents event entry size" (EventBridge user guide):
 * Time counts 14 bytes, Source, DetailType and Detail count their UTF-8 bytes; the entry must be less than 256 KB.
 * PutEvents API reference: DetailType 1 to 128 characters; nested JSON up to 1000 levels; integers within int64.
 */

const RECEIVED_AT = '2024-05-29T16:26:40.000Z';
const BUS = 'callbacks-bus';

function webhookEvent(body = '{"event":"goal.converted","visitorId":"vis_1"}', provider = 'buddystat', eventType = 'goal.converted'): WebhookEvent {
  return {
    provider,
    body,
    delivery: {
      dedupeKey: `${provider}#sha256#${'0'.repeat(64)}`,
      eventType,
      receivedAt: RECEIVED_AT,
      route: `/${provider}/events`,
      test: false,
      unknownType: false,
      requestId: 'req-1',
    },
  };
}

const entryOf = (event: WebhookEvent = webhookEvent()): EventEntry => inlineEntry(event, event.body as string);

function sinkOn(bus: MockedEventBus): EventBridgeSink {
  return new EventBridgeSink({ client: bus.client, eventBusName: BUS });
}

/** The entries of every PutEvents call the sink made, as sent. */
function sentEntries(bus: MockedEventBus): PutEventsRequestEntry[][] {
  return bus.mock.commandCalls(PutEventsCommand).map((call) => call.args[0].input.Entries ?? []);
}

/** A JSON body whose inline entry is `targetBytes` long, built from `unit` (a character of known UTF-8 width). */
function bodyForEntryBytes(targetBytes: number, unit: string): string {
  const unitBytes = Buffer.byteLength(unit, 'utf8');
  const overhead = entrySizeBytes(entryOf(webhookEvent('{"text":""}')));
  return JSON.stringify({ text: unit.repeat(Math.ceil((targetBytes - overhead) / unitBytes)) });
}

describe('the inline entry: the verified bytes embedded as they arrived', () => {
  it('Source webhooks.<provider>, DetailType the event type, Time receivedAt, Detail {"delivery":…,"payload":<the text as sent>}', () => {
    const body = '{ "orderId": 12345678901234567890, "amount": 1e400, "k": "\\u00e9", "z": 1, "a": 2 }';
    const entry = entryOf(webhookEvent(body));
    expect(entry.source).toBe('webhooks.buddystat');
    expect(entry.detailType).toBe('goal.converted');
    expect(entry.time).toBe(RECEIVED_AT);
    const detail = JSON.parse(entry.detail) as { delivery: unknown };
    expect(detail.delivery).toEqual(webhookEvent().delivery);
    expect(payloadText({ detail, detailText: entry.detail })).toBe(body);
  });

  it('the claim-check entry carries the pointer and the delivery metadata, no payload', () => {
    const claim = { bucket: 'b', key: 'claims/buddystat/abc', size: 3, sha256: 'f'.repeat(64) };
    const entry = claimEntry(webhookEvent(), claim);
    expect(JSON.parse(entry.detail)).toEqual({ delivery: webhookEvent().delivery, claim });
  });

  it('a claim-check entry always fits: an event type too long for it is cut in the detail, marked eventTypeCut', () => {
    const claim = { bucket: 'b', key: 'claims/buddystat/abc', size: 3, sha256: 'f'.repeat(64) };
    const entry = claimEntry(webhookEvent(undefined, 'buddystat', 'x'.repeat(MAX_ENTRY_BYTES)), claim);
    expect(fitsOnTheBus(entry)).toBe(true);
    expect(JSON.parse(entry.detail)).toMatchObject({ delivery: { eventType: 'x'.repeat(1024), eventTypeCut: true }, claim });
  });

  it('sends the entry as built, to the bus, passing the caller signal so a deadline can cancel the call', async () => {
    const bus = mockedEventBus();
    const controller = new AbortController();
    const entry = entryOf();
    await sinkOn(bus).publish(entry, { signal: controller.signal });
    expect(sentEntries(bus)).toEqual([[toPutEventsEntry(entry, BUS)]]);
    expect(sentEntries(bus)[0]![0]).toMatchObject({ EventBusName: BUS, Source: entry.source, DetailType: entry.detailType, Detail: entry.detail });
    expect(sentEntries(bus)[0]![0]!.Time?.toISOString()).toBe(RECEIVED_AT);
    const args: readonly unknown[] = bus.mock.send.getCall(0).args;
    expect((args[1] as { abortSignal?: AbortSignal }).abortSignal).toBe(controller.signal);
  });
});

describe('DetailType: what EventBridge accepts (1 to 128 characters), the full type kept in the detail', () => {
  it.each([
    ['goal.converted', 'goal.converted'],
    ['x'.repeat(128), 'x'.repeat(128)],
    ['x'.repeat(100_000), 'x'.repeat(128)],
    ['', 'unknown'],
    ['   ', 'unknown'],
    ['a\u0000b\nc\u007f', 'abc'],
    [`${'x'.repeat(127)}😀`, 'x'.repeat(127)],
  ])('%j -> %j', (type, expected) => {
    expect(detailTypeFor(type)).toBe(expected);
    const entry = entryOf(webhookEvent(undefined, 'buddystat', type));
    expect(entry.detailType).toBe(expected);
    expect((JSON.parse(entry.detail) as { delivery: { eventType: string } }).delivery.eventType).toBe(type);
  });
});

describe('EventBridgeSink: failures, classified', () => {
  it.each(['InvalidArgument', 'MalformedDetail', 'NotAuthorizedForDetailTypeException', 'AccessDeniedException'])(
    'FailedEntryCount > 0 with %s: an EventRejectedError carrying the code (a retry cannot fix it)',
    async (code) => {
      const bus = mockedEventBus();
      bus.failNext(1, code);
      const error: unknown = await sinkOn(bus).publish(entryOf()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EventRejectedError);
      expect(error).toMatchObject({ code });
      expect(bus.accepted()).toHaveLength(0);
    },
  );

  it.each(['InternalFailure', 'ThrottlingException'])('FailedEntryCount > 0 with %s (retryable, as the API reference lists): a plain error named by the code', async (code) => {
    const bus = mockedEventBus();
    bus.failNext(1, code);
    const error: unknown = await sinkOn(bus).publish(entryOf()).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(EventRejectedError);
    expect(error).toMatchObject({ name: code });
  });

  it('FailedEntryCount > 0 naming no entry, or an ErrorCode without a count: rejected with the code (Unknown when none)', async () => {
    const bus = mockedEventBus();
    bus.mock.on(PutEventsCommand).resolves({ FailedEntryCount: 1 });
    await expect(sinkOn(bus).publish(entryOf())).rejects.toMatchObject({ code: 'Unknown' });
    bus.mock.on(PutEventsCommand).resolves({ Entries: [{ ErrorCode: 'MalformedDetail', ErrorMessage: 'x' }] });
    await expect(sinkOn(bus).publish(entryOf())).rejects.toMatchObject({ code: 'MalformedDetail' });
  });

  it('a whole-call ValidationException (a client fault) is a rejection; throttling and server faults pass as they are', async () => {
    const bus = mockedEventBus();
    bus.mock.on(PutEventsCommand).rejects(Object.assign(new Error('1 validation error detected'), { name: 'ValidationException', $fault: 'client' }));
    await expect(sinkOn(bus).publish(entryOf())).rejects.toMatchObject({ name: 'EventRejectedError', code: 'ValidationException' });
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client' });
    bus.mock.on(PutEventsCommand).rejects(throttled);
    await expect(sinkOn(bus).publish(entryOf())).rejects.toBe(throttled);
    const internal = Object.assign(new Error('Internal'), { name: 'InternalException', $fault: 'server' });
    bus.mock.on(PutEventsCommand).rejects(internal);
    await expect(sinkOn(bus).publish(entryOf())).rejects.toBe(internal);
  });

  it('an already-aborted signal rejects with its reason, without calling PutEvents', async () => {
    const bus = mockedEventBus();
    const reason = new Error('deadline of 20 ms passed');
    await expect(sinkOn(bus).publish(entryOf(), { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(bus.mock.commandCalls(PutEventsCommand)).toHaveLength(0);
  });
});

describe('the 256 KiB entry limit, counted as the size page says', () => {
  it('an entry over the limit in UTF-8 bytes though under it in characters does not fit; the sink refuses it without calling PutEvents', async () => {
    // 'é' is one UTF-16 unit and two UTF-8 bytes: a .length check would let this through.
    const entry = entryOf(webhookEvent(bodyForEntryBytes(MAX_ENTRY_BYTES + 2, 'é')));
    expect(entry.detail.length).toBeLessThan(MAX_ENTRY_BYTES);
    expect(entrySizeBytes(entry)).toBeGreaterThanOrEqual(MAX_ENTRY_BYTES);
    expect(fitsOnTheBus(entry)).toBe(false);
    const bus = mockedEventBus();
    const error: unknown = await sinkOn(bus).publish(entry).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'EventRejectedError', code: 'EntryTooLarge' });
    // It names sizes, never the payload (it ends up in a log line's detail).
    expect((error as Error).message).not.toContain('é');
    expect(bus.mock.commandCalls(PutEventsCommand)).toHaveLength(0);
  });

  it('a 4-byte character counts 4; a multibyte entry just under the limit fits and is sent', async () => {
    expect(fitsOnTheBus(entryOf(webhookEvent(bodyForEntryBytes(MAX_ENTRY_BYTES + 4, '😀'))))).toBe(false);
    const under = entryOf(webhookEvent(bodyForEntryBytes(MAX_ENTRY_BYTES - 16, 'é')));
    expect(entrySizeBytes(under)).toBeGreaterThan(MAX_ENTRY_BYTES - 20);
    expect(fitsOnTheBus(under)).toBe(true);
    const bus = mockedEventBus();
    await sinkOn(bus).publish(under);
    expect(bus.accepted()).toHaveLength(1);
  });

  it('entrySizeBytes adds the UTF-8 bytes of Source, DetailType and Detail, and 14 for Time', () => {
    expect(entrySizeBytes({ source: 'webhooks.x', detailType: 'type', detail: '{"a":1}', time: RECEIVED_AT })).toBe(10 + 4 + 7 + 14);
    expect(entrySizeBytes({ source: 'é', detailType: '€', detail: '😀', time: RECEIVED_AT })).toBe(2 + 3 + 4 + 14);
  });
});

describe('documentedRejection: the local sink refuses what PutEvents documents it refuses', () => {
  it.each([
    ['nesting of 1000 levels inside the detail', `{"a":${'['.repeat(999)}${']'.repeat(999)}}`, undefined],
    ['nesting of 1001 levels', `{"a":${'['.repeat(1000)}${']'.repeat(1000)}}`, /nested deeper than 1000/],
    ['brackets inside strings do not nest', `{"a":"${'['.repeat(5000)}"}`, undefined],
    ['int64 max', '{"a":9223372036854775807}', undefined],
    ['int64 min', '{"a":-9223372036854775808}', undefined],
    ['one past int64', '{"a":9223372036854775808}', /outside the int64 range/],
    ['a float of any size is not an integer', '{"a":1e400,"b":12345678901234567890.5}', undefined],
    ['digits inside a string', '{"a":"12345678901234567890"}', undefined],
    ['an escaped quote inside a string', '{"a":"\\"[[[","b":1}', undefined],
  ])('%s', (_name, detail, problem) => {
    if (problem === undefined) expect(jsonLimitProblem(detail)).toBeUndefined();
    else expect(jsonLimitProblem(detail)).toMatch(problem);
  });

  it('DetailType longer than 128 characters, and an entry over the size limit, are refused', () => {
    const entry = entryOf();
    expect(documentedRejection(entry)).toBeUndefined();
    expect(documentedRejection({ ...entry, detailType: 'x'.repeat(129) })).toMatchObject({ code: 'InvalidArgument' });
    expect(documentedRejection({ ...entry, detail: `{"a":"${'x'.repeat(MAX_ENTRY_BYTES)}"}` })).toMatchObject({ code: 'InvalidArgument' });
  });
});
