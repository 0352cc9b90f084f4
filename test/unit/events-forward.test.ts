import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inlineEntry, MAX_ENTRY_BYTES, type ClaimPointer } from '../../shared/events/entry.js';
import { EventRejectedError, type ClaimResult, type DeliveryLedger, type EventEntry, type EventSink, type PublishOptions, type WebhookEvent } from '../../shared/events/event.js';
import { dedupeKeyFor, forwardOnce, type ForwardResult } from '../../shared/events/forward.js';
import { claimKey, unavailableStore, type DeliveryStore } from '../../shared/events/store.js';
import { InMemoryLedger } from '../../shared/events/ledger.js';
import { createLogger, type Logger } from '../../shared/log.js';

/**
 * forwardOnce: one event on the bus across a platform's retries (buddystat-webhooks.txt: "Failed
 * deliveries are retried automatically"; bullseye-webhooks.txt: "non-2xx responses may trigger
 * retries"). Each outcome is checked with the ledger's state it leaves behind, which decides what
 * the platform's next retry gets. The payload carries a marker no log line may contain.
 */

const PAYLOAD_MARKER = 'payload-marker-4b1d';

function webhookEvent(key = 'buddystat#sha256#abc', body: string | Buffer = JSON.stringify({ event: 'goal.converted', note: PAYLOAD_MARKER, email: `${PAYLOAD_MARKER}@example.com` })): WebhookEvent {
  return {
    provider: 'buddystat',
    body,
    delivery: { dedupeKey: key, eventType: 'goal.converted', receivedAt: '2024-05-29T16:26:40.000Z', route: '/buddystat/events', test: false, unknownType: false, requestId: 'req-1' },
  };
}

/** The entry forwardOnce puts on the bus for an event whose body travels inline. */
const inline = (event: WebhookEvent): EventEntry => inlineEntry(event, event.body as string);

let keys = 0;
const freshEvent = () => webhookEvent(`buddystat#sha256#forward-${++keys}`);

// ---- Logs: every line of every test is read for the payload ----

let lines: string[] = [];
let logger: Logger;
const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
const warnings = () => records().filter((r) => r.level === 'warn');

beforeEach(() => {
  lines = [];
  logger = createLogger((line) => lines.push(line), 'debug');
});

afterEach(() => {
  for (const line of lines) expect(line).not.toContain(PAYLOAD_MARKER);
});

// ---- Sinks and ledgers that show what forwardOnce did ----

interface RecordingSink extends EventSink {
  readonly published: EventEntry[];
  readonly options: Array<PublishOptions | undefined>;
}

function acceptingSink(): RecordingSink {
  const published: EventEntry[] = [];
  const options: Array<PublishOptions | undefined> = [];
  return {
    published,
    options,
    publish: async (event, opts) => {
      options.push(opts);
      published.push(event);
    },
  };
}

/** By default the retryable kind: EventBridge's InternalFailure for the entry. */
function failingSink(error: unknown = Object.assign(new Error('EventBridge refused the entry: Internal service error'), { name: 'InternalFailure' })): EventSink & { calls: () => number } {
  let calls = 0;
  return {
    calls: () => calls,
    publish: () => {
      calls++;
      return Promise.reject(error);
    },
  };
}

/** A sink that waits until its signal aborts, then rejects with the signal's reason (as the SDK does). */
function signalHonouringSink(): EventSink & { signals: AbortSignal[] } {
  const signals: AbortSignal[] = [];
  return {
    signals,
    publish: (_event, options) =>
      new Promise<void>((_resolve, reject) => {
        const signal = options?.signal;
        if (!signal) return;
        signals.push(signal);
        if (signal.aborted) return reject(signal.reason);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      }),
  };
}

/** A sink that ignores its signal and succeeds after `ms`: a PutEvents that landed after the deadline. */
function lateSink(ms: number): EventSink & { published: () => number } {
  let published = 0;
  return {
    published: () => published,
    publish: () => new Promise<void>((resolve) => setTimeout(() => resolve(void published++), ms)),
  };
}

type LedgerOp = 'claim' | 'complete' | 'release';

interface WatchedLedger extends DeliveryLedger {
  readonly calls: LedgerOp[];
  /** Resolves once the next call of `op` has finished (settled either way). */
  finished(op: LedgerOp): Promise<void>;
}

/** Wraps a ledger to record its calls, so a test can wait for work that outlives forwardOnce's answer. */
function watched(inner: DeliveryLedger = new InMemoryLedger()): WatchedLedger {
  const calls: LedgerOp[] = [];
  const waiting: Array<{ op: LedgerOp; resolve: () => void }> = [];
  const track = <T>(op: LedgerOp, run: () => Promise<T>): Promise<T> => {
    calls.push(op);
    return run().finally(() => {
      for (const w of waiting.filter((x) => x.op === op)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve();
      }
    });
  };
  return {
    calls,
    finished: (op) => new Promise<void>((resolve) => waiting.push({ op, resolve })),
    claim: (key, options) => track('claim', () => inner.claim(key, options)),
    complete: (key, options) => track('complete', () => inner.complete(key, options)),
    release: (key, options) => track('release', () => inner.release(key, options)),
  };
}

function ledgerWith(overrides: Partial<DeliveryLedger>): DeliveryLedger {
  const base = new InMemoryLedger();
  return {
    claim: overrides.claim ?? ((key) => base.claim(key)),
    complete: overrides.complete ?? ((key) => base.complete(key)),
    release: overrides.release ?? ((key) => base.release(key)),
  };
}

/** A delivery bucket at its interface: what was claim-checked, by key. */
function memoryStore(): DeliveryStore & { claims: Map<string, Buffer> } {
  const claims = new Map<string, Buffer>();
  const none = unavailableStore('not used here');
  return {
    ...none,
    claims,
    putClaim: async (event): Promise<ClaimPointer> => {
      const bytes = typeof event.body === 'string' ? Buffer.from(event.body) : Buffer.from(event.body);
      const key = claimKey(event.provider, event.delivery.dedupeKey);
      claims.set(key, bytes);
      return { bucket: 'memory', key, size: bytes.length, sha256: 'not-checked-here' };
    },
  };
}

let store = memoryStore();
beforeEach(() => {
  store = memoryStore();
});

const forward = (event: WebhookEvent, sink: EventSink, ledger: DeliveryLedger, deadlineMs = 500, completeDeadlineMs?: number): Promise<ForwardResult> =>
  forwardOnce(event, { sink, ledger, store, deadlineMs, logger, ...(completeDeadlineMs ? { completeDeadlineMs } : {}) });

const failed = (outcome: string) => expect.objectContaining({ ok: false, outcome, reason: expect.objectContaining({ outcome }) });

// ---- dedupeKeyFor ----

describe('dedupeKeyFor', () => {
  const body = Buffer.from('{"event":"goal.converted","visitorId":"vis_1"}');

  it('is SHA-256 of the bytes that verified, prefixed by the provider', () => {
    expect(dedupeKeyFor('buddystat', body)).toMatch(/^buddystat#sha256#[0-9a-f]{64}$/);
    // SHA-256 of no bytes at all (FIPS 180-4 test vector).
    expect(dedupeKeyFor('buddy', new Uint8Array(0))).toBe('buddy#sha256#e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('is stable for the same bytes, whatever buffer holds them (a copy, a view into a larger buffer)', () => {
    const larger = Buffer.concat([Buffer.from('prefix-'), body, Buffer.from('-suffix')]);
    const view = new Uint8Array(larger.buffer, larger.byteOffset + 7, body.length);
    expect(dedupeKeyFor('buddystat', Uint8Array.from(body))).toBe(dedupeKeyFor('buddystat', body));
    expect(dedupeKeyFor('buddystat', view)).toBe(dedupeKeyFor('buddystat', body));
  });

  it('differs when one byte differs (a platform retry repeats the bytes exactly; a new event does not)', () => {
    const reformatted = Buffer.from('{"event": "goal.converted","visitorId":"vis_1"}');
    expect(dedupeKeyFor('buddystat', reformatted)).not.toBe(dedupeKeyFor('buddystat', body));
  });

  it('differs per provider for the same bytes', () => {
    expect(dedupeKeyFor('bullseye', body)).not.toBe(dedupeKeyFor('buddystat', body));
  });

  it('is the same length whatever the body (DynamoDB limits a key to 2,048 bytes): a 6 MB body, a string or its bytes', () => {
    const large = 'x'.repeat(6 * 1024 * 1024);
    expect(dedupeKeyFor('buddystat', large)).toHaveLength(dedupeKeyFor('buddystat', '{}').length);
    expect(dedupeKeyFor('buddystat', large)).toBe(dedupeKeyFor('buddystat', Buffer.from(large)));
  });
});

// ---- forwardOnce ----

describe('forwardOnce: forwarded and duplicate', () => {
  it('claims, publishes the inline entry, completes: forwarded', async () => {
    const sink = acceptingSink();
    const ledger = watched();
    const event = freshEvent();
    expect(await forward(event, sink, ledger)).toEqual({ ok: true, outcome: 'forwarded' });
    expect(sink.published).toEqual([inline(event)]);
    expect(store.claims.size).toBe(0);
    expect(ledger.calls).toEqual(['claim', 'complete']);
    expect(warnings()).toEqual([]);
  });

  it("passes the deadline's signal to the sink", async () => {
    const sink = acceptingSink();
    await forward(freshEvent(), sink, new InMemoryLedger());
    const signal = sink.options[0]?.signal;
    expect(signal).toBeInstanceOf(AbortSignal);
    expect(signal?.aborted).toBe(false);
  });

  it("the platform's retry of a delivered event is a duplicate, not published again", async () => {
    const sink = acceptingSink();
    const ledger = new InMemoryLedger();
    const event = freshEvent();
    await forward(event, sink, ledger);
    expect(await forward(event, sink, ledger)).toEqual({ ok: true, outcome: 'duplicate' });
    expect(await forward(event, sink, ledger)).toEqual({ ok: true, outcome: 'duplicate' });
    expect(sink.published).toHaveLength(1);
  });

  it('another attempt holding the claim: delivery_in_progress, nothing published, the claim left alone', async () => {
    const sink = acceptingSink();
    const ledger = watched();
    const event = freshEvent();
    await ledger.claim(event.delivery.dedupeKey);
    expect(await forward(event, sink, ledger)).toEqual({ ok: false, outcome: 'delivery_in_progress' });
    expect(sink.published).toEqual([]);
    expect(ledger.calls).toEqual(['claim', 'claim']);
  });
});

describe('forwardOnce: ledger_unavailable', () => {
  it('a claim that throws: ledger_unavailable, nothing published, a warning naming the error', async () => {
    const sink = acceptingSink();
    const error = Object.assign(new Error('Requested resource not found'), { name: 'ResourceNotFoundException' });
    const event = freshEvent();
    expect(await forward(event, sink, ledgerWith({ claim: () => Promise.reject(error) }))).toEqual(failed('ledger_unavailable'));
    expect(sink.published).toEqual([]);
    expect(warnings()).toEqual([
      expect.objectContaining({
        message: 'delivery ledger unavailable',
        provider: 'buddystat',
        eventType: 'goal.converted',
        dedupeKey: event.delivery.dedupeKey,
        errorName: 'ResourceNotFoundException',
      }),
    ]);
  });

  it('a claim slower than the deadline: ledger_unavailable at the deadline, nothing published', async () => {
    const sink = acceptingSink();
    const started = Date.now();
    const stuck = ledgerWith({ claim: () => new Promise<ClaimResult>(() => undefined) });
    expect(await forward(freshEvent(), sink, stuck, 20)).toEqual(failed('ledger_unavailable'));
    expect(Date.now() - started).toBeLessThan(200);
    expect(sink.published).toEqual([]);
  });

  it('a claim that lands after the deadline: the publish gets an aborted signal and the claim is released', async () => {
    const sink = signalHonouringSink();
    const inner = new InMemoryLedger();
    const slowClaim = (key: string) => new Promise<ClaimResult>((resolve) => setTimeout(() => resolve(inner.claim(key)), 40));
    const ledger = watched({ claim: slowClaim, complete: (key) => inner.complete(key), release: (key) => inner.release(key) });
    const event = freshEvent();
    const released = ledger.finished('release');
    expect(await forward(event, sink, ledger, 15)).toEqual(failed('ledger_unavailable'));
    await released;
    expect(sink.signals).toHaveLength(1);
    expect(sink.signals[0]?.aborted).toBe(true);
    expect(ledger.calls).toEqual(['claim', 'release']);
    expect(await inner.claim(event.delivery.dedupeKey)).toBe('new');
  });
});

describe('forwardOnce: sink_failed', () => {
  it('a publish that fails: sink_failed, the claim released so the next attempt is new and forwards', async () => {
    const ledger = watched();
    const event = freshEvent();
    const broken = failingSink();
    expect(await forward(event, broken, ledger)).toEqual(failed('sink_failed'));
    expect(await forward(freshEvent(), broken, ledger)).toMatchObject({ reason: { code: 'InternalFailure' } });
    expect(ledger.calls).toEqual(['claim', 'release', 'claim', 'release']);
    expect(warnings()[0]).toEqual(expect.objectContaining({ message: 'event not published', errorName: 'InternalFailure', dedupeKey: event.delivery.dedupeKey }));

    const sink = acceptingSink();
    expect(await forward(event, sink, ledger)).toEqual({ ok: true, outcome: 'forwarded' });
    expect(sink.published).toEqual([inline(event)]);
  });

  it('a release that fails as well: still sink_failed, with a warning that the claim lapses with its lease', async () => {
    const event = freshEvent();
    const ledger = ledgerWith({ release: () => Promise.reject(new Error('throttled')) });
    expect(await forward(event, failingSink(), ledger)).toEqual(failed('sink_failed'));
    expect(warnings().map((w) => w.message)).toEqual(['event not published', 'claim not released; it lapses with its lease']);
  });

  it('an error whose message quotes the payload is logged cut short, and a non-Error is logged by type only', async () => {
    const quoting = new Error(`bad entry ${'x'.repeat(300)} ${PAYLOAD_MARKER}`);
    expect(await forward(freshEvent(), failingSink(quoting), new InMemoryLedger())).toEqual(failed('sink_failed'));
    expect(await forward(freshEvent(), failingSink({ payload: PAYLOAD_MARKER }), new InMemoryLedger())).toEqual(failed('sink_failed'));
    expect(warnings().map((w) => w.errorName)).toEqual(['Error', 'object']);
    // afterEach checks no line carries the marker.
  });
});

describe('forwardOnce: sink_timeout', () => {
  it('a publish that honours the abort signal: sink_timeout at the deadline, the claim released, the retry forwards', async () => {
    const sink = signalHonouringSink();
    const ledger = watched();
    const event = freshEvent();
    const released = ledger.finished('release');
    const started = Date.now();
    expect(await forward(event, sink, ledger, 20)).toEqual(failed('sink_timeout'));
    expect(Date.now() - started).toBeLessThan(200);
    await released;
    expect(sink.signals[0]?.aborted).toBe(true);
    expect(ledger.calls).toEqual(['claim', 'release']);

    const retry = acceptingSink();
    expect(await forward(event, retry, ledger)).toEqual({ ok: true, outcome: 'forwarded' });
  });

  it('a publish that ignores the signal and succeeds late: sink_timeout now, but the key is completed, so the retry is a duplicate', async () => {
    const sink = lateSink(60);
    const ledger = watched();
    const event = freshEvent();
    const completed = ledger.finished('complete');
    expect(await forward(event, sink, ledger, 20)).toEqual(failed('sink_timeout'));
    expect(sink.published()).toBe(0);

    // While the late publish is still running, its lease keeps a retry from racing it.
    expect(await forward(event, acceptingSink(), ledger, 20)).toEqual({ ok: false, outcome: 'delivery_in_progress' });

    await completed;
    expect(sink.published()).toBe(1);
    expect(await forward(event, sink, ledger, 20)).toEqual({ ok: true, outcome: 'duplicate' });
    expect(sink.published()).toBe(1);
    expect(ledger.calls).not.toContain('release');
  });
});

describe('forwardOnce: success stays success once the bus accepted the entry', () => {
  it('complete fails: still forwarded (the event is on the bus), a warning naming the window', async () => {
    const sink = acceptingSink();
    const event = freshEvent();
    const ledger = ledgerWith({ complete: () => Promise.reject(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' })) });
    expect(await forward(event, sink, ledger)).toEqual({ ok: true, outcome: 'forwarded' });
    expect(sink.published).toEqual([inline(event)]);
    expect(warnings()).toEqual([
      expect.objectContaining({ message: 'delivery not recorded; a retry after the lease may forward it again', errorName: 'ThrottlingException', dedupeKey: event.delivery.dedupeKey }),
    ]);
  });

  it('complete slower than its own short deadline: forwarded at that deadline, not held to the forward deadline, and not a failure', async () => {
    const sink = acceptingSink();
    const ledger = ledgerWith({ complete: () => new Promise<void>(() => undefined) });
    const started = Date.now();
    expect(await forward(freshEvent(), sink, ledger, 5_000, 30)).toEqual({ ok: true, outcome: 'forwarded' });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(warnings()).toEqual([expect.objectContaining({ message: 'delivery not recorded; a retry after the lease may forward it again' })]);
  });
});

describe('forwardOnce: the claim check', () => {
  it('a body whose entry would not fit on the bus: stored under claims/, the pointer entry published', async () => {
    const sink = acceptingSink();
    const body = JSON.stringify({ blob: 'x'.repeat(MAX_ENTRY_BYTES) });
    const event = webhookEvent(`buddystat#sha256#big-${++keys}`, body);
    expect(await forward(event, sink, new InMemoryLedger())).toEqual({ ok: true, outcome: 'forwarded' });
    const key = claimKey('buddystat', event.delivery.dedupeKey);
    expect(store.claims.get(key)?.toString()).toBe(body);
    expect(sink.published).toHaveLength(1);
    expect(JSON.parse(sink.published[0]!.detail)).toEqual({ delivery: event.delivery, claim: { bucket: 'memory', key, size: Buffer.byteLength(body), sha256: 'not-checked-here' } });
  });

  it('bytes that are not valid UTF-8 cannot be embedded as text: claim-checked, kept byte for byte', async () => {
    const sink = acceptingSink();
    const bytes = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
    const event = webhookEvent(`buddystat#sha256#binary-${++keys}`, bytes);
    expect(await forward(event, sink, new InMemoryLedger())).toEqual({ ok: true, outcome: 'forwarded' });
    expect(store.claims.get(claimKey('buddystat', event.delivery.dedupeKey))).toEqual(bytes);
  });

  it('an inline entry the bus refuses (nesting, an integer it cannot hold): forwarded as a claim check instead, in the same attempt', async () => {
    const published: EventEntry[] = [];
    const sink: EventSink = {
      publish: async (entry) => {
        if (entry.detail.includes('"payload":')) throw new EventRejectedError('EventBridge refused the entry: nested too deep', 'InvalidArgument');
        published.push(entry);
      },
    };
    const event = freshEvent();
    expect(await forward(event, sink, new InMemoryLedger())).toEqual({ ok: true, outcome: 'forwarded' });
    expect(published).toHaveLength(1);
    expect(JSON.parse(published[0]!.detail)).toMatchObject({ claim: { key: claimKey('buddystat', event.delivery.dedupeKey) } });
    expect(warnings()).toEqual([expect.objectContaining({ message: 'entry refused inline; forwarding it as a claim check', errorName: 'EventRejectedError' })]);
  });

  it('refused in both forms: rejected with the code, the claim released (the caller parks it)', async () => {
    const ledger = watched();
    const refusing = failingSink(new EventRejectedError('EventBridge refused the entry: not authorized', 'NotAuthorizedForDetailTypeException'));
    expect(await forward(freshEvent(), refusing, ledger)).toEqual({
      ok: false,
      outcome: 'rejected',
      reason: { outcome: 'rejected', code: 'NotAuthorizedForDetailTypeException', message: expect.stringContaining('not authorized') },
    });
    expect(refusing.calls()).toBe(2);
    expect(ledger.calls).toEqual(['claim', 'release']);
  });

  it('the bucket failing: store_failed, nothing published, the claim released', async () => {
    const sink = acceptingSink();
    const ledger = watched();
    store = { ...memoryStore(), putClaim: () => Promise.reject(Object.assign(new Error('Service Unavailable'), { name: 'SlowDown' })) };
    const event = webhookEvent(`buddystat#sha256#nostore-${++keys}`, JSON.stringify({ blob: 'x'.repeat(MAX_ENTRY_BYTES) }));
    expect(await forward(event, sink, ledger)).toEqual(failed('store_failed'));
    expect(sink.published).toEqual([]);
    expect(ledger.calls).toEqual(['claim', 'release']);
  });
});
