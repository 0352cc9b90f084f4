import { describe, expect, it } from 'vitest';
import { createBuddyStatHandler } from '../../functions/buddystat/handler.js';
import { DynamoDbLedger, InMemoryLedger } from '../../shared/events/ledger.js';
import { EventBridgeSink } from '../../shared/events/eventbridge.js';
import type { DeliveryLedger } from '../../shared/events/event.js';
import { createDedupeTable } from '../../local/stand-ins/dynamodb.js';
import { redriveParked } from '../../shared/events/redrive.js';
import { useDynalite } from '../support/dynalite.js';
import { useS3 } from '../support/s3.js';
import { EVENT_KINDS, type EventKind } from '../support/events.js';
import {
  GARBAGE_EVENTS,
  NOW_SECONDS,
  buddyStatSignature,
  call,
  callRaw,
  commonDeps,
  harness,
  mockedEventBus,
  postJson,
  rawBodyHex,
  type Harness,
  type MockedEventBus,
  type PutEntry,
} from '../support/handler-harness.js';

const DOC = '(buddystat-webhooks.txt)';
const PATH = '/buddystat/events';
const SECRET = 'buddystat-webhook-secret-key';
const DEFAULT_HEADER = 'X-BuddyStat-Signature';
const BUS = 'webhooks-test-bus';
const DOCUMENTED = ['session.created', 'goal.converted', 'alert.triggered', 'event.tracked'] as const;

/** A BuddyStat payload; `tag` keeps payloads of different tests and shapes apart for de-duplication. */
function payload(event: string | undefined, tag: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...(event !== undefined ? { event } : {}), siteId: 1, timestamp: NOW_SECONDS, data: { visitorId: `vis_${tag}`, page: '/pricing' }, ...extra };
}

/**
 * Sent the way a platform that follows its own verifier would: the body is JSON.stringify(payload)
 * (optionally pretty-printed on the wire) and the signature is the doc's HMAC over JSON.stringify(payload).
 */
function signed(body: Record<string, unknown>, options: { pretty?: boolean; header?: string; secret?: string; base64?: boolean } = {}) {
  const raw = options.pretty ? JSON.stringify(body, null, 2) : JSON.stringify(body);
  return postJson(PATH, raw, [[options.header ?? DEFAULT_HEADER, buddyStatSignature(options.secret ?? SECRET, body)]], { base64: options.base64 });
}

interface Setup {
  readonly h: Harness;
  readonly bus: MockedEventBus;
  readonly handler: ReturnType<typeof createBuddyStatHandler>;
}

/** The delivery bucket, on s3rver, for every test in the file. */
const bucket = useS3();

function setup(options: { ledger?: DeliveryLedger; env?: Record<string, string> } = {}): Setup & { ledger: DeliveryLedger; sink: EventBridgeSink } {
  const h = harness(SECRET, options.env);
  const bus = mockedEventBus();
  const sink = new EventBridgeSink({ client: bus.client, eventBusName: BUS });
  const ledger = options.ledger ?? new InMemoryLedger();
  return { h, bus, ledger, sink, handler: createBuddyStatHandler({ ...commonDeps(h), sink, ledger, store: bucket().store() }) };
}

function delivery(entry: PutEntry | undefined): Record<string, unknown> {
  return (entry?.detail.delivery ?? {}) as Record<string, unknown>;
}

describe.each(EVENT_KINDS)('buddystat handler, %s event', (kind: EventKind) => {
  it.each(DOCUMENTED)(`buddystat: %s is acknowledged and forwarded with detail-type = the event type ${DOC}`, async (type) => {
    const s = setup();
    const body = payload(type, `${kind}-${type}`);
    const answer = await call(s.handler, kind, signed(body));
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ received: true });
    const [entry, ...more] = s.bus.accepted();
    expect(more).toEqual([]);
    expect(entry).toMatchObject({ source: 'webhooks.buddystat', detailType: type, busName: BUS });
    expect(entry!.detail.payload).toEqual(body);
    expect(delivery(entry)).toMatchObject({ route: PATH, unknownType: false, test: false });
  });

  it(`buddystat: an event type outside the documented four is acknowledged and forwarded as unknown ${DOC}`, async () => {
    const s = setup();
    const answer = await call(s.handler, kind, signed(payload('visitor.sneezed', kind)));
    expect(answer.status).toBe(200);
    const [entry] = s.bus.accepted();
    expect(delivery(entry)).toMatchObject({ unknownType: true });
    expect(entry!.detailType).toBe('visitor.sneezed');
    expect(s.h.logs.requests()[0]!.outcome).toMatch(/_unknown_type$/);
  });

  it(`buddystat: a payload with no event type is forwarded with detail-type "unknown" ${DOC}`, async () => {
    const s = setup();
    expect((await call(s.handler, kind, signed(payload(undefined, kind)))).status).toBe(200);
    const [entry] = s.bus.accepted();
    expect(entry!.detailType).toBe('unknown');
    expect(delivery(entry)).toMatchObject({ unknownType: true });
  });

  it(`buddystat: the doc's signature over compact JSON.stringify(payload) verifies even when the body was pretty-printed ${DOC}`, async () => {
    const s = setup();
    const body = payload('goal.converted', `${kind}-pretty`, { goal: { id: 'g_1', value: 49.5 } });
    const spec = signed(body, { pretty: true });
    expect(String(spec.body)).toContain('\n  ');
    const answer = await call(s.handler, kind, spec);
    expect(answer.status).toBe(200);
    expect(s.bus.accepted()[0]!.detail.payload).toEqual(body);
  });

  it(`buddystat: a signature over the raw body bytes verifies too ${DOC}`, async () => {
    const s = setup();
    const raw = JSON.stringify(payload('event.tracked', `${kind}-raw`), null, 4);
    expect((await call(s.handler, kind, postJson(PATH, raw, [[DEFAULT_HEADER, rawBodyHex(SECRET, raw)]]))).status).toBe(200);
    expect((await call(s.handler, kind, postJson(PATH, raw, [[DEFAULT_HEADER, rawBodyHex(SECRET, raw)]], { base64: true }))).status).toBe(200);
    expect(s.bus.accepted()).toHaveLength(1);
  });

  it(`buddystat: the signature header is configurable with SIGNATURE_HEADER ${DOC}`, async () => {
    const s = setup({ env: { SIGNATURE_HEADER: 'X-Webhook-Signature' } });
    const body = payload('session.created', `${kind}-header`);
    expect((await call(s.handler, kind, signed(body, { header: 'X-Webhook-Signature' }))).status).toBe(200);
    expect((await call(s.handler, kind, signed(body, { header: 'x-webhook-signature' }))).status).toBe(200);
    // Once overridden, the default header is not read.
    expect((await call(s.handler, kind, signed(payload('session.created', `${kind}-header-2`)))).status).toBe(401);
    expect(s.bus.accepted()).toHaveLength(1);
  });

  it(`buddystat: 401 for a missing, malformed or wrong signature, nothing forwarded ${DOC}`, async () => {
    const s = setup();
    const body = payload('alert.triggered', `${kind}-401`);
    const raw = JSON.stringify(body);
    expect((await call(s.handler, kind, postJson(PATH, raw))).status).toBe(401);
    expect((await call(s.handler, kind, postJson(PATH, raw, [[DEFAULT_HEADER, buddyStatSignature(SECRET, body).slice(1)]]))).status).toBe(401);
    expect((await call(s.handler, kind, signed(body, { secret: 'another-webhook-secret' }))).status).toBe(401);
    // A signature over one payload does not cover another.
    expect((await call(s.handler, kind, postJson(PATH, JSON.stringify({ ...body, siteId: 2 }), [[DEFAULT_HEADER, buddyStatSignature(SECRET, body)]]))).status).toBe(401);
    expect(s.bus.entries()).toEqual([]);
    for (const line of s.h.logs.requests()) expect(line.outcome).toMatch(/^bad_signature_/);
  });

  it(`buddystat: a retried delivery (same body) is acknowledged and forwarded once ${DOC}`, async () => {
    const s = setup();
    const spec = signed(payload('goal.converted', `${kind}-retry`));
    const answers = [await call(s.handler, kind, spec), await call(s.handler, kind, spec)];
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(answers[1]!.json).toEqual({ received: true, duplicate: true });
    expect(s.bus.entries()).toHaveLength(1);
  });

  it(`buddystat: a retry whose bytes differ but whose signed compact form is the same is forwarded once ${DOC}`, async () => {
    const s = setup();
    const body = payload('goal.converted', `${kind}-delivery`, { deliveryId: `dlv_${kind}` });
    expect((await call(s.handler, kind, signed(body))).status).toBe(200);
    expect((await call(s.handler, kind, signed(body, { pretty: true }))).status).toBe(200);
    expect(s.bus.entries()).toHaveLength(1);
  });

  it(`buddystat: an EventBridge partial failure parks the delivery (200: kept), the redrive forwards it exactly once ${DOC}`, async () => {
    const s = setup();
    const spec = signed(payload('event.tracked', `${kind}-parked`));
    s.bus.failNext(1);
    const parked = await call(s.handler, kind, spec);
    expect(parked.status).toBe(200);
    expect(s.h.logs.requests().at(-1)).toMatchObject({ outcome: 'parked' });
    const redrive = () => redriveParked({ store: bucket().store(), sink: s.sink, ledger: s.ledger, provider: 'buddystat', logger: s.h.logger });
    expect(await redrive()).toMatchObject({ forwarded: 1 });
    expect(await redrive()).toMatchObject({ forwarded: 0, duplicates: 0 });
    expect((await call(s.handler, kind, spec)).json).toEqual({ received: true, duplicate: true });
    expect(s.bus.accepted()).toHaveLength(1);
  });

  it(`buddystat: 400 for a validly signed body that is not a JSON object ${DOC}`, async () => {
    const s = setup();
    for (const raw of ['{"event":', '[]', '42']) {
      const answer = await call(s.handler, kind, postJson(PATH, raw, [[DEFAULT_HEADER, rawBodyHex(SECRET, raw)]]));
      expect(answer.status, raw).toBe(400);
      expect(answer.json).toEqual({ error: expect.any(String) });
    }
    expect(s.bus.entries()).toEqual([]);
  });

  it(`buddystat: 413 only for a body over what Lambda is handed (6 MB) ${DOC}`, async () => {
    const s = setup();
    const answer = await call(s.handler, kind, signed(payload('event.tracked', kind, { blob: 'x'.repeat(6 * 1024 * 1024) })));
    expect(answer.status).toBe(413);
    expect(s.bus.entries()).toEqual([]);
  });
});

describe('buddystat handler, garbage events', () => {
  it.each(GARBAGE_EVENTS)(`buddystat: %s is answered, never thrown, nothing forwarded ${DOC}`, async (_name, event) => {
    const s = setup();
    const answer = await callRaw(s.handler, event);
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(s.bus.entries()).toEqual([]);
  });
});

describe('buddystat handler with DynamoDbLedger on dynalite', () => {
  const TABLE = 'dedupe-buddystat-handler';
  let ledger: DynamoDbLedger;
  useDynalite(async (client) => {
    await createDedupeTable(client, TABLE);
    ledger = new DynamoDbLedger({ tableName: TABLE, client: client });
  });

  it.each(EVENT_KINDS)(`buddystat: a retried delivery is forwarded once, remembered in the table (%s) ${DOC}`, async (kind) => {
    const s = setup({ ledger });
    const spec = signed(payload('session.created', `dynamo-${kind}`));
    const answers = [await call(s.handler, kind, spec), await call(s.handler, kind, spec)];
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(answers[1]!.json).toEqual({ received: true, duplicate: true });
    expect(s.bus.entries()).toHaveLength(1);
  });

  it.each(EVENT_KINDS)(`buddystat: a partial failure parks and releases the claim; a platform retry delivers exactly once (%s) ${DOC}`, async (kind) => {
    const s = setup({ ledger });
    const spec = signed(payload('alert.triggered', `dynamo-fail-${kind}`));
    s.bus.failNext(1);
    expect((await call(s.handler, kind, spec)).status).toBe(200);
    expect((await call(s.handler, kind, spec)).status).toBe(200);
    expect((await call(s.handler, kind, spec)).status).toBe(200);
    expect(s.bus.accepted()).toHaveLength(1);
  });

  it(`buddystat: two concurrent deliveries of one event forward it once ${DOC}`, async () => {
    const s = setup({ ledger });
    const spec = signed(payload('goal.converted', 'dynamo-concurrent'));
    const answers = await Promise.all(EVENT_KINDS.map((kind) => call(s.handler, kind, spec)));
    // One delivers; the others see it delivered or in progress (503 with a short Retry-After).
    expect(answers.filter((a) => a.status === 200).length).toBeGreaterThanOrEqual(1);
    for (const answer of answers) expect([200, 503]).toContain(answer.status);
    expect(s.bus.accepted()).toHaveLength(1);
  });
});
