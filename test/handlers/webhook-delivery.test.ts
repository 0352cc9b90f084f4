import { createHash } from 'node:crypto';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { createBuddyStatHandler } from '../../functions/buddystat/handler.js';
import { createBullseyeHandler } from '../../functions/bullseye/handler.js';
import { createDedupeTable } from '../../local/stand-ins/dynamodb.js';
import { MAX_DETAIL_TYPE_LENGTH, MAX_ENTRY_BYTES } from '../../shared/events/entry.js';
import type { DeliveryLedger } from '../../shared/events/event.js';
import { EventBridgeSink } from '../../shared/events/eventbridge.js';
import { DynamoDbLedger, InMemoryLedger } from '../../shared/events/ledger.js';
import { redriveParked } from '../../shared/events/redrive.js';
import { parseParked, unavailableStore, type DeliveryStore } from '../../shared/events/store.js';
import type { LambdaHttpHandler } from '../../shared/handler.js';
import { MAX_LOGGED_CHARACTERS } from '../../shared/log-value.js';
import { useDynalite } from '../support/dynalite.js';
import { EVENT_KINDS, type EventKind, type RequestSpec } from '../support/events.js';
import {
  buddyStatSignature,
  call,
  commonDeps,
  harness,
  mockedEventBus,
  payloadText,
  postJson,
  rawBodyHex,
  type Harness,
  type MockedEventBus,
  type PutEntry,
} from '../support/handler-harness.js';
import { useS3 } from '../support/s3.js';

/**
 * Issue 12, case by case, in-process on all three AWS event shapes: the real handlers, the real
 * EventBridgeSink over a stubbed client (aws-sdk-client-mock: the failure classes PutEvents has), the
 * delivery bucket on s3rver, the ledger in memory or on dynalite. The promise (README): 2xx means the
 * verified delivery is durably kept exactly as it verified and reaches the bus once; non-2xx means
 * retry, nothing kept.
 */

const BULLSEYE_DOC = '(bullseye-webhooks.txt)';
const BUDDYSTAT_DOC = '(buddystat-webhooks.txt)';
const BULLSEYE_SECRETS = { identification: 'delivery-bullseye-identification', billing: 'delivery-bullseye-billing' };
const BUDDYSTAT_SECRET = 'delivery-buddystat-secret';
const BILLING = '/bullseye/billing';
const EVENTS = '/buddystat/events';
const BUS = 'delivery-test-bus';

const bucket = useS3();
const dynamo = useDynalite((client) => createDedupeTable(client, 'delivery-dedupe'));

interface Rig {
  readonly h: Harness;
  readonly bus: MockedEventBus;
  readonly sink: EventBridgeSink;
  readonly ledger: DeliveryLedger;
  readonly store: DeliveryStore;
  readonly bullseye: LambdaHttpHandler;
  readonly buddystat: LambdaHttpHandler;
}

function rig(options: { ledger?: DeliveryLedger; store?: DeliveryStore } = {}): Rig {
  const h = harness({ ...BULLSEYE_SECRETS, signingSecret: BUDDYSTAT_SECRET });
  const bus = mockedEventBus();
  const sink = new EventBridgeSink({ client: bus.client, eventBusName: BUS });
  const ledger = options.ledger ?? new InMemoryLedger();
  const store = options.store ?? bucket().store();
  const deps = { ...commonDeps(h), sink, ledger, store };
  return { h, bus, sink, ledger, store, bullseye: createBullseyeHandler(deps), buddystat: createBuddyStatHandler(deps) };
}

let tags = 0;
const tag = (label: string) => `${label}-${++tags}`;

/** Bullseye's doc: HMAC-SHA256 of the raw body, hex, in X-Bullseye-Signature. */
const bullseyeRequest = (raw: string | Buffer, base64 = false): RequestSpec =>
  postJson(BILLING, raw as string, [['X-Bullseye-Signature', rawBodyHex(BULLSEYE_SECRETS.billing, raw)]], { base64 });
/** BuddyStat signing the raw bytes it sends. */
const buddyStatRaw = (raw: string): RequestSpec => postJson(EVENTS, raw, [['X-BuddyStat-Signature', rawBodyHex(BUDDYSTAT_SECRET, raw)]]);
/** BuddyStat's documented verifier: the signature is over JSON.stringify(payload), whatever bytes are sent. */
const buddyStatSigned = (raw: string, payload: unknown): RequestSpec => postJson(EVENTS, raw, [['X-BuddyStat-Signature', buddyStatSignature(BUDDYSTAT_SECRET, payload)]]);

const lastRequestLine = (r: Rig) => r.h.logs.requests().at(-1)!;
const claimOf = (entry: PutEntry) => entry.detail.claim as { bucket: string; key: string; size: number; sha256: string };

describe.each(EVENT_KINDS)('issue 12, %s event', (kind: EventKind) => {
  it(`1. a forged BuddyStat body nested 5,000 levels deep with any 64-hex signature: 401, never a 500 ${BUDDYSTAT_DOC}`, async () => {
    const r = rig();
    const body = `{"event":"goal.converted","data":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    for (const spec of [postJson(EVENTS, body, [['X-BuddyStat-Signature', 'ab'.repeat(32)]]), postJson(EVENTS, '['.repeat(5000) + ']'.repeat(5000), [['X-BuddyStat-Signature', '0'.repeat(64)]])]) {
      const answer = await call(r.buddystat, kind, spec);
      expect(answer.status).toBe(401);
      expect(lastRequestLine(r)).toMatchObject({ outcome: 'bad_signature_mismatch' });
    }
    expect(r.bus.entries()).toEqual([]);
  });

  it(`1. forged bodies of hostile size and encoding (6 MB, invalid UTF-8, lone surrogates) are 401, never a 500 ${BUDDYSTAT_DOC}`, async () => {
    const r = rig();
    const forged: RequestSpec[] = [
      postJson(EVENTS, JSON.stringify({ event: 'goal.converted', blob: 'x'.repeat(6 * 1024 * 1024 - 100) }), [['X-BuddyStat-Signature', 'cd'.repeat(32)]]),
      { ...postJson(EVENTS, '', [['X-BuddyStat-Signature', 'ef'.repeat(32)]]), body: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]) },
      postJson(EVENTS, '{"event":"\ud800","x":"\udfff"}', [['X-BuddyStat-Signature', '12'.repeat(32)]]),
    ];
    for (const spec of forged) expect((await call(r.buddystat, kind, spec)).status).toBe(401);
    expect(r.bus.entries()).toEqual([]);
  });

  it(`2. a BuddyStat delivery and its byte variants that verify through the compact form reach the bus once, as the compact form that verified ${BUDDYSTAT_DOC}`, async () => {
    const r = rig();
    const payload = { event: 'goal.converted', siteId: 1, id: tag('variants'), goal: { value: 49, label: 'Pro plan' } };
    const compact = JSON.stringify(payload);
    const variants = [
      compact,
      ` ${compact}`,
      `${compact}\n`,
      JSON.stringify(payload, null, 2),
      JSON.stringify(payload, null, '\t'),
      compact.replace('"value":49', '"value":49.0'),
      compact.replace('"value":49', '"value":4.9e1'),
      `{"event":"goal.converted",${compact.slice(1)}`,
      compact.replace('Pro plan', 'Pro\\u0020plan'),
    ];
    expect(new Set(variants).size).toBe(variants.length);
    for (const raw of variants) {
      const answer = await call(r.buddystat, kind, buddyStatSigned(raw, payload));
      expect(answer.status, raw).toBe(200);
    }
    expect(r.bus.accepted()).toHaveLength(1);
    expect(payloadText(r.bus.accepted()[0]!)).toBe(compact);
    expect(new Set(r.h.logs.requests().map((l) => l.dedupeKey)).size).toBe(1);
    expect(r.h.logs.requests().map((l) => l.outcome)).toEqual(['forwarded', ...variants.slice(1).map(() => 'duplicate')]);
  });

  it(`3. the payload is not altered: the platform's numbers, key order and escapes reach the bus as sent ${BULLSEYE_DOC}`, async () => {
    const r = rig();
    const raw = `{ "z": 1.50, "a": 1e400, "tiny": 5e-324, "text": "caf\\u00e9 \\/", "id": "${tag('exact')}" }`;
    expect((await call(r.bullseye, kind, bullseyeRequest(raw))).status).toBe(200);
    expect(payloadText(r.bus.accepted()[0]!)).toBe(raw);
  });

  it(`3. an integer EventBridge cannot hold (12345678901234567890) is not rounded: the exact bytes travel as a claim check ${BULLSEYE_DOC}`, async () => {
    const r = rig();
    const raw = `{"orderId":12345678901234567890,"amount":1e400,"id":"${tag('int64')}"}`;
    expect((await call(r.bullseye, kind, bullseyeRequest(raw))).status).toBe(200);
    const [refused, accepted, ...more] = r.bus.entries();
    expect(more).toEqual([]);
    expect(payloadText(refused!)).toBe(raw);
    expect(r.bus.accepted()).toEqual([accepted]);
    const claim = claimOf(accepted!);
    expect((await bucket().bytes(claim.key)).toString('utf8')).toBe(raw);
    expect(lastRequestLine(r)).toMatchObject({ outcome: 'forwarded', status: 200 });
  });

  it(`4. a body over EventBridge's entry limit is kept: 200, the body in the bucket, {bucket,key,size,sha256} and the delivery on the bus ${BULLSEYE_DOC}`, async () => {
    const r = rig();
    const raw = JSON.stringify({ event: 'billing.run', id: tag('large'), lines: Array.from({ length: 20_000 }, (_, i) => ({ i, sku: `sku-${i}`, cents: i * 7 })) });
    expect(Buffer.byteLength(raw)).toBeGreaterThan(MAX_ENTRY_BYTES);
    const answer = await call(r.bullseye, kind, bullseyeRequest(raw));
    expect(answer.status).toBe(200);
    const [entry, ...more] = r.bus.accepted();
    expect(more).toEqual([]);
    expect(r.bus.entries()).toHaveLength(1);
    expect(entry).toMatchObject({ source: 'webhooks.bullseye', detailType: 'billing' });
    const claim = claimOf(entry!);
    const stored = await bucket().bytes(claim.key);
    expect(stored.toString('utf8')).toBe(raw);
    expect(claim).toEqual({ bucket: bucket().s3.bucket, key: expect.stringMatching(/^claims\/bullseye\/[0-9a-f]{64}$/), size: stored.length, sha256: createHash('sha256').update(stored).digest('hex') });
    expect(entry!.detail.delivery).toMatchObject({ route: BILLING, eventType: 'billing', dedupeKey: lastRequestLine(r).dedupeKey });
    expect(entry!.detail.payload).toBeUndefined();
  });

  it(`4. a 5 MB BuddyStat body is kept the same way (413 only past 6 MB) ${BUDDYSTAT_DOC}`, async () => {
    const r = rig();
    const raw = JSON.stringify({ event: 'session.created', id: tag('5mb'), pages: 'p'.repeat(5 * 1024 * 1024) });
    expect((await call(r.buddystat, kind, buddyStatRaw(raw))).status).toBe(200);
    expect((await bucket().bytes(claimOf(r.bus.accepted()[0]!).key)).equals(Buffer.from(raw))).toBe(true);
  });

  it(`5. nesting deeper than PutEvents processes: forwarded as a claim check, never a 503 ${BULLSEYE_DOC}`, async () => {
    const r = rig();
    const raw = `{"id":"${tag('deep')}","tree":${'['.repeat(1500)}${']'.repeat(1500)}}`;
    expect((await call(r.bullseye, kind, bullseyeRequest(raw))).status).toBe(200);
    expect((await bucket().bytes(claimOf(r.bus.accepted()[0]!).key)).toString()).toBe(raw);
  });

  it(`5. an event type longer than DetailType's 128 characters: DetailType cut to what EventBridge accepts, the full type in the detail ${BUDDYSTAT_DOC}`, async () => {
    const r = rig();
    const type = `custom.${'x'.repeat(300)}`;
    const raw = JSON.stringify({ event: type, id: tag('long-type') });
    expect((await call(r.buddystat, kind, buddyStatRaw(raw))).status).toBe(200);
    const [entry] = r.bus.accepted();
    expect(entry!.detailType).toBe(type.slice(0, MAX_DETAIL_TYPE_LENGTH));
    expect(entry!.detail.delivery).toMatchObject({ eventType: type, unknownType: true });
  });

  it(`5. a 3,000-character deliveryId: the key stored in DynamoDB is a fixed-length hash, forwarded once ${BUDDYSTAT_DOC}`, async () => {
    const r = rig({ ledger: new DynamoDbLedger({ tableName: 'delivery-dedupe', client: dynamo().client }) });
    const raw = JSON.stringify({ event: 'event.tracked', deliveryId: 'd'.repeat(3000), id: tag('long-id') });
    expect((await call(r.buddystat, kind, buddyStatRaw(raw))).status).toBe(200);
    expect((await call(r.buddystat, kind, buddyStatRaw(raw))).json).toEqual({ received: true, duplicate: true });
    expect(r.bus.accepted()).toHaveLength(1);
    expect(lastRequestLine(r).dedupeKey).toMatch(/^buddystat#sha256#[0-9a-f]{64}$/);
  });

  it(`6. a ledger whose complete never lands after PutEvents accepted: 200 (success stays success), a warning, the event carries its dedupe key ${BULLSEYE_DOC}`, async () => {
    const inner = new InMemoryLedger();
    const r = rig({ ledger: { claim: (k) => inner.claim(k), release: (k) => inner.release(k), complete: () => new Promise<void>(() => undefined) } });
    const answer = await call(r.bullseye, kind, bullseyeRequest(JSON.stringify({ id: tag('slow-complete') })));
    expect(answer.status).toBe(200);
    expect(lastRequestLine(r)).toMatchObject({ outcome: 'forwarded' });
    expect(r.h.logs.records().some((l) => l.level === 'warn' && String(l.message).startsWith('delivery not recorded'))).toBe(true);
    expect(r.bus.accepted()[0]!.detail.delivery).toMatchObject({ dedupeKey: lastRequestLine(r).dedupeKey });
  });

  it(`7. values from the body are logged cut to 128 characters and escaped: a 100 KB event type never reaches a log line whole ${BUDDYSTAT_DOC}`, async () => {
    const r = rig();
    r.bus.failNext(1); // the forward then logs a warning too
    const type = `evil\n${'é'.repeat(100_000)}`;
    const raw = JSON.stringify({ event: type, id: tag('log') });
    expect((await call(r.buddystat, kind, buddyStatRaw(raw))).status).toBe(200);
    const lines = r.h.logs.records();
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) {
      if (line.eventType === undefined) continue;
      expect(typeof line.eventType).toBe('string');
      expect((line.eventType as string).startsWith('evil\\u000a\\u00e9')).toBe(true);
      expect((line.eventType as string).replaceAll(/\\u[0-9a-f]{4}/g, '_').length).toBeLessThanOrEqual(MAX_LOGGED_CHARACTERS);
    }
    expect(r.h.logs.text().length).toBeLessThan(20_000);
  });
});

describe('parking: what cannot be forwarded now is kept under parked/ and answered 2xx; the redrive forwards it once', () => {
  it.each([
    ['FailedEntryCount > 0 with InternalFailure (retryable)', (bus: MockedEventBus) => bus.failNext(1, 'InternalFailure'), 'sink_failed', 'InternalFailure'],
    ['FailedEntryCount > 0 with ThrottlingException (retryable)', (bus: MockedEventBus) => bus.failNext(1, 'ThrottlingException'), 'sink_failed', 'ThrottlingException'],
    ['an entry error a retry cannot fix, inline and as a claim check', (bus: MockedEventBus) => bus.failNext(2, 'NotAuthorizedForDetailTypeException'), 'rejected', 'NotAuthorizedForDetailTypeException'],
    [
      'a whole-call ValidationException',
      (bus: MockedEventBus) => bus.mock.on(PutEventsCommand).rejectsOnce(Object.assign(new Error('1 validation error'), { name: 'ValidationException', $fault: 'client' })).rejectsOnce(Object.assign(new Error('1 validation error'), { name: 'ValidationException', $fault: 'client' })),
      'rejected',
      'ValidationException',
    ],
    [
      'PutEvents throttled as a whole call',
      (bus: MockedEventBus) => bus.mock.on(PutEventsCommand).rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client' })),
      'sink_failed',
      'ThrottlingException',
    ],
  ] as const)(`%s: parked (200, outcome parked), the record says why; the redrive forwards it once ${BULLSEYE_DOC}`, async (_name, fail, outcome, code) => {
    const r = rig();
    const raw = JSON.stringify({ id: tag('parked'), amountCents: 4200 });
    fail(r.bus);
    const answer = await call(r.bullseye, 'function-url', bullseyeRequest(raw));
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ received: true });
    expect(lastRequestLine(r)).toMatchObject({ outcome: 'parked', status: 200 });
    expect(r.bus.accepted()).toEqual([]);

    const [key, ...others] = (await bucket().keys('parked/bullseye/')).filter((k) => k.includes(String(lastRequestLine(r).dedupeKey).split('#')[2]!));
    expect(others).toEqual([]);
    const record = parseParked((await bucket().bytes(key!)).toString('utf8'));
    expect(record).toMatchObject({ provider: 'bullseye', body: { encoding: 'utf8', data: raw }, reason: { outcome, code }, delivery: { dedupeKey: lastRequestLine(r).dedupeKey } });

    r.bus.mock.on(PutEventsCommand).callsFake(() => ({ FailedEntryCount: 0, Entries: [{ EventId: 'evt-redriven' }] }));
    expect(await redriveParked({ store: r.store, sink: r.sink, ledger: r.ledger, provider: 'bullseye', logger: r.h.logger })).toMatchObject({ kept: 0 });
    const sent = r.bus.mock.commandCalls(PutEventsCommand).at(-1)!.args[0].input.Entries![0]!;
    expect(sent.Detail!.endsWith(`,"payload":${raw}}`) || sent.Detail!.includes('"claim":')).toBe(true);
    expect(await bucket().keys(key)).toEqual([]);
    // Once on the bus, a resend is a duplicate, and another redrive finds nothing.
    expect((await call(r.bullseye, 'function-url', bullseyeRequest(raw))).json).toEqual({ received: true, duplicate: true });
  });

  it(`DynamoDB failing past the budget: parked, and the redrive forwards through the ledger once it is back ${BUDDYSTAT_DOC}`, async () => {
    const working = new DynamoDbLedger({ tableName: 'delivery-dedupe', client: dynamo().client });
    const down = new DynamoDbLedger({ tableName: 'no-such-table', client: dynamo().client });
    const r = rig({ ledger: down });
    const raw = JSON.stringify({ event: 'alert.triggered', id: tag('ledger-down') });
    expect((await call(r.buddystat, 'http-v2', buddyStatRaw(raw))).status).toBe(200);
    expect(lastRequestLine(r)).toMatchObject({ outcome: 'parked' });
    expect(r.bus.entries()).toEqual([]);
    // (Deliveries other tests in this file parked are redriven along with it.)
    expect(await redriveParked({ store: r.store, sink: r.sink, ledger: working, provider: 'buddystat', logger: r.h.logger })).toMatchObject({ kept: 0 });
    expect(r.bus.accepted().filter((entry) => entry.detailText.endsWith(`,"payload":${raw}}`))).toHaveLength(1);
    expect(await redriveParked({ store: r.store, sink: r.sink, ledger: working, provider: 'buddystat', logger: r.h.logger })).toEqual({ forwarded: 0, duplicates: 0, kept: 0, unreadable: 0 });
  });

  it(`a redrive while the original publish may still land keeps the delivery parked (its lease), and finds it delivered later ${BULLSEYE_DOC}`, async () => {
    const r = rig();
    const raw = JSON.stringify({ id: tag('lease') });
    r.bus.failNext(1);
    expect((await call(r.bullseye, 'rest-v1', bullseyeRequest(raw))).status).toBe(200);
    const key = String(lastRequestLine(r).dedupeKey);
    // Another attempt holds the key (a publish that outlived its deadline): the redrive leaves it.
    expect(await r.ledger.claim(key)).toBe('new');
    expect(await redriveParked({ store: r.store, sink: r.sink, ledger: r.ledger, provider: 'bullseye', logger: r.h.logger })).toMatchObject({ kept: 1 });
    // It landed and recorded itself: the next redrive drops the parked copy without publishing again.
    await r.ledger.complete(key);
    const before = r.bus.entries().length;
    expect(await redriveParked({ store: r.store, sink: r.sink, ledger: r.ledger, provider: 'bullseye', logger: r.h.logger })).toMatchObject({ duplicates: 1, kept: 0 });
    expect(r.bus.entries()).toHaveLength(before);
  });

  it(`503 only when the delivery cannot be stored anywhere: the bus failing and no bucket, nothing kept ${BULLSEYE_DOC}`, async () => {
    const r = rig({ store: unavailableStore('no bucket') });
    r.bus.failNext(1);
    const answer = await call(r.bullseye, 'http-v2', bullseyeRequest(JSON.stringify({ id: tag('nowhere') })));
    expect(answer.status).toBe(503);
    expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
    expect(lastRequestLine(r)).toMatchObject({ outcome: 'sink_failed', status: 503 });
    expect(r.h.logs.records().some((l) => l.level === 'error' && String(l.message).includes('neither forwarded'))).toBe(true);
  });
});
