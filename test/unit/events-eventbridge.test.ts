import { PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import type { WebhookEvent } from '../../shared/events/event.js';
import { EventBridgeSink, EventRejectedError, MAX_ENTRY_BYTES, entrySizeBytes, toPutEventsEntry } from '../../shared/events/eventbridge.js';
import { mockedEventBus, type MockedEventBus } from '../support/handler-harness.js';

/**
 * EventBridgeSink over a stubbed EventBridgeClient (aws-sdk-client-mock, as the handler suites stub it):
 * the entry it sends, the failures it turns into rejections, and the size rule it applies first.
 * Size rule: "Calculating Amazon EventBridge PutEvents event entry size" (EventBridge user guide):
 * Time counts 14 bytes, Source, DetailType and Detail count their UTF-8 bytes; the entry limit is 256 KB.
 */

const RECEIVED_AT = '2024-05-29T16:26:40.000Z';
const BUS = 'callbacks-bus';

function webhookEvent(payload: unknown = { event: 'goal.converted', visitorId: 'vis_1' }, provider = 'buddystat', eventType = 'goal.converted'): WebhookEvent {
  return {
    provider,
    eventType,
    payload,
    delivery: {
      dedupeKey: `${provider}#sha256#${'0'.repeat(64)}`,
      receivedAt: RECEIVED_AT,
      route: `/${provider}/events`,
      test: false,
      unknownType: false,
      requestId: 'req-1',
    },
  };
}

function sinkOn(bus: MockedEventBus): EventBridgeSink {
  return new EventBridgeSink({ client: bus.client, eventBusName: BUS });
}

/** The entries of every PutEvents call the sink made, as sent. */
function sentEntries(bus: MockedEventBus): PutEventsRequestEntry[][] {
  return bus.mock.commandCalls(PutEventsCommand).map((call) => call.args[0].input.Entries ?? []);
}

/** A payload whose entry is `targetBytes` long once wrapped, built from `unit` (a character of known UTF-8 width). */
function payloadForEntryBytes(targetBytes: number, unit: string): { text: string } {
  const unitBytes = Buffer.byteLength(unit, 'utf8');
  const overhead = entrySizeBytes(toPutEventsEntry(webhookEvent({ text: '' }), BUS));
  const count = Math.ceil((targetBytes - overhead) / unitBytes);
  return { text: unit.repeat(count) };
}

describe('EventBridgeSink: the entry', () => {
  it('sends one entry per event: Source webhooks.<provider>, DetailType the event type, Detail {payload, delivery}, the bus, Time = receivedAt', async () => {
    const bus = mockedEventBus();
    const event = webhookEvent();
    await sinkOn(bus).publish(event);

    const calls = sentEntries(bus);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toHaveLength(1);
    const entry = calls[0]![0]!;
    expect(Object.keys(entry).sort()).toEqual(['Detail', 'DetailType', 'EventBusName', 'Source', 'Time']);
    expect(entry.Source).toBe('webhooks.buddystat');
    expect(entry.DetailType).toBe('goal.converted');
    expect(entry.EventBusName).toBe(BUS);
    expect(entry.Time).toBeInstanceOf(Date);
    expect(entry.Time?.toISOString()).toBe(RECEIVED_AT);
    expect(JSON.parse(entry.Detail ?? 'null')).toEqual({ payload: event.payload, delivery: event.delivery });
  });

  it.each([
    ['bullseye', 'identification'],
    ['talki', 'ticket.created'],
    ['buddy', 'identity'],
  ])('source and detail-type follow the provider: %s / %s', async (provider, eventType) => {
    const bus = mockedEventBus();
    await sinkOn(bus).publish(webhookEvent({ ok: true }, provider, eventType));
    expect(bus.accepted()).toEqual([
      expect.objectContaining({ source: `webhooks.${provider}`, detailType: eventType, busName: BUS }),
    ]);
  });

  it('toPutEventsEntry is the entry publish sends', async () => {
    const bus = mockedEventBus();
    const event = webhookEvent({ nested: { list: [1, 'two', null] } });
    await sinkOn(bus).publish(event);
    expect(sentEntries(bus)[0]![0]).toEqual(toPutEventsEntry(event, BUS));
  });

  it('passes the caller signal to the client, so a deadline can cancel the call', async () => {
    const bus = mockedEventBus();
    const controller = new AbortController();
    await sinkOn(bus).publish(webhookEvent(), { signal: controller.signal });
    // The stub's typing lists only the command; the SDK's send takes (command, options).
    const args: readonly unknown[] = bus.mock.send.getCall(0).args;
    expect(args[1]).toEqual({ abortSignal: controller.signal });
    expect((args[1] as { abortSignal?: AbortSignal }).abortSignal).toBe(controller.signal);
  });
});

describe('EventBridgeSink: failures', () => {
  it('rejects with EventRejectedError and the code when PutEvents answers 200 with FailedEntryCount > 0', async () => {
    const bus = mockedEventBus();
    bus.failNext(1);
    const publishing = sinkOn(bus).publish(webhookEvent());
    await expect(publishing).rejects.toBeInstanceOf(EventRejectedError);
    await expect(publishing).rejects.toMatchObject({ name: 'EventRejectedError', code: 'InternalFailure' });
    await expect(publishing).rejects.toThrow('Internal service error');
    expect(bus.entries()).toHaveLength(1);
    expect(bus.accepted()).toHaveLength(0);
  });

  it("carries the failed entry's own code (a throttled entry)", async () => {
    const bus = mockedEventBus();
    bus.mock.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }] });
    await expect(sinkOn(bus).publish(webhookEvent())).rejects.toMatchObject({ code: 'ThrottlingException', message: expect.stringContaining('Rate exceeded') });
  });

  it('rejects with code Unknown when FailedEntryCount > 0 but the answer names no entry', async () => {
    const bus = mockedEventBus();
    bus.mock.on(PutEventsCommand).resolves({ FailedEntryCount: 1 });
    await expect(sinkOn(bus).publish(webhookEvent())).rejects.toMatchObject({ code: 'Unknown' });
  });

  it('rejects an entry that carries an ErrorCode even when FailedEntryCount is missing', async () => {
    const bus = mockedEventBus();
    bus.mock.on(PutEventsCommand).resolves({ Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'x' }] });
    await expect(sinkOn(bus).publish(webhookEvent())).rejects.toMatchObject({ code: 'InternalFailure' });
  });

  it('passes a client error on as it is (throttling, network, access denied)', async () => {
    const bus = mockedEventBus();
    const error = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    bus.mock.on(PutEventsCommand).rejects(error);
    await expect(sinkOn(bus).publish(webhookEvent())).rejects.toBe(error);
  });

  it('an already-aborted signal rejects with its reason, without calling PutEvents', async () => {
    const bus = mockedEventBus();
    const reason = new Error('deadline of 20 ms passed');
    await expect(sinkOn(bus).publish(webhookEvent(), { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(bus.mock.commandCalls(PutEventsCommand)).toHaveLength(0);
  });
});

describe('EventBridgeSink: the 256 KiB entry limit', () => {
  it('refuses an entry over the limit in UTF-8 bytes though under it in characters, without calling PutEvents', async () => {
    const bus = mockedEventBus();
    // 'é' is one UTF-16 unit and two UTF-8 bytes: a JavaScript .length check would let this through.
    const payload = payloadForEntryBytes(MAX_ENTRY_BYTES + 2, 'é');
    const entry = toPutEventsEntry(webhookEvent(payload), BUS);
    expect((entry.Detail ?? '').length).toBeLessThan(MAX_ENTRY_BYTES);
    expect(entrySizeBytes(entry)).toBeGreaterThan(MAX_ENTRY_BYTES);

    const publishing = sinkOn(bus).publish(webhookEvent(payload));
    await expect(publishing).rejects.toBeInstanceOf(EventRejectedError);
    await expect(publishing).rejects.toMatchObject({ code: 'EntryTooLarge' });
    expect(bus.mock.commandCalls(PutEventsCommand)).toHaveLength(0);
  });

  it('counts a 4-byte character (an emoji, two UTF-16 units) as 4 bytes', async () => {
    const bus = mockedEventBus();
    const payload = payloadForEntryBytes(MAX_ENTRY_BYTES + 4, '😀');
    await expect(sinkOn(bus).publish(webhookEvent(payload))).rejects.toMatchObject({ code: 'EntryTooLarge' });
    expect(bus.mock.commandCalls(PutEventsCommand)).toHaveLength(0);
  });

  it('sends a multibyte entry just under the limit', async () => {
    const bus = mockedEventBus();
    const payload = payloadForEntryBytes(MAX_ENTRY_BYTES - 16, 'é');
    const size = entrySizeBytes(toPutEventsEntry(webhookEvent(payload), BUS));
    expect(size).toBeGreaterThan(MAX_ENTRY_BYTES - 20);
    expect(size).toBeLessThan(MAX_ENTRY_BYTES);
    await sinkOn(bus).publish(webhookEvent(payload));
    expect(bus.accepted()).toHaveLength(1);
  });

  it("the size error names sizes, never the payload (it ends up in a log line's detail)", async () => {
    const bus = mockedEventBus();
    const payload = { secret: 'sk_live_' + 'z'.repeat(MAX_ENTRY_BYTES) };
    const error: unknown = await sinkOn(bus).publish(webhookEvent(payload)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventRejectedError);
    expect((error as Error).message).not.toContain('sk_live_');
    expect((error as Error).message).toMatch(/^event is \d+ bytes; EventBridge takes less than 262144$/);
  });
});

describe('entrySizeBytes', () => {
  it('adds the UTF-8 bytes of Source, DetailType and Detail, and 14 for Time', () => {
    const entry: PutEventsRequestEntry = { Source: 'webhooks.x', DetailType: 'type', Detail: '{"a":1}', Time: new Date(0) };
    expect(entrySizeBytes(entry)).toBe(10 + 4 + 7 + 14);
  });

  it('counts nothing for Time or Detail when absent', () => {
    expect(entrySizeBytes({ Source: 'webhooks.x', DetailType: 'type' })).toBe(14);
    expect(entrySizeBytes({})).toBe(0);
  });

  it('counts UTF-8 bytes, not characters: é is 2, € is 3, 😀 is 4', () => {
    expect(entrySizeBytes({ Source: 'é', DetailType: '€', Detail: '😀' })).toBe(2 + 3 + 4);
  });

  it('does not count the bus name (not part of the documented calculation)', () => {
    const entry: PutEventsRequestEntry = { Source: 's', DetailType: 'd', Detail: '{}' };
    expect(entrySizeBytes({ ...entry, EventBusName: 'a-very-long-bus-name'.repeat(10) })).toBe(entrySizeBytes(entry));
  });

  it('matches the bytes of the entry toPutEventsEntry builds', () => {
    const event = webhookEvent({ name: 'Zoë', city: 'Kraków', note: '👍' });
    const entry = toPutEventsEntry(event, BUS);
    const expected = Buffer.byteLength('webhooks.buddystat') + Buffer.byteLength('goal.converted') + Buffer.byteLength(entry.Detail ?? '', 'utf8') + 14;
    expect(entrySizeBytes(entry)).toBe(expected);
  });
});
