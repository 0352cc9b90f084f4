import { describe, expect, it } from 'vitest';
import { createBullseyeHandler } from '../../functions/bullseye/handler.js';
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
  NOW_MS,
  call,
  callRaw,
  commonDeps,
  harness,
  mockedEventBus,
  noProfileData,
  postJson,
  rawBodyHex,
  type Harness,
  type MockedEventBus,
  type PutEntry,
} from '../support/handler-harness.js';

const DOC = '(bullseye-webhooks.txt)';
const IDENTIFICATION = '/bullseye/identification';
const BILLING = '/bullseye/billing';
const HEADER = 'X-Bullseye-Signature';
const BUS = 'webhooks-test-bus';
/** "Each webhook with its own secret": one Secrets Manager secret, one key per webhook. */
const SECRETS = { identification: 'bullseye-identification-secret', billing: 'bullseye-billing-secret' };

/** Signed as the doc says: HMAC-SHA256 of the raw request body, hex, in X-Bullseye-Signature. */
function signed(path: string, raw: string, secret: string, options: { base64?: boolean } = {}) {
  return postJson(path, raw, [[HEADER, rawBodyHex(secret, raw)]], options);
}

/** A payload unique to the test and the event shape, so de-duplication never links two tests. */
function identification(tag: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ event: 'visitor.identified', visitorId: `vis_${tag}`, email: 'visitor@example.com', company: 'Acme Inc', ...extra });
}

function billing(tag: string): string {
  return JSON.stringify({ event: 'invoice.paid', invoiceId: `inv_${tag}`, amountCents: 4200, currency: 'EUR' });
}

interface Setup {
  readonly h: Harness;
  readonly bus: MockedEventBus;
  readonly handler: ReturnType<typeof createBullseyeHandler>;
}

/** The delivery bucket, on s3rver, for every test in the file. */
const bucket = useS3();

function setup(ledger: DeliveryLedger = new InMemoryLedger()): Setup & { ledger: DeliveryLedger; sink: EventBridgeSink } {
  const h = harness(SECRETS);
  const bus = mockedEventBus();
  const sink = new EventBridgeSink({ client: bus.client, eventBusName: BUS });
  return { h, bus, ledger, sink, handler: createBullseyeHandler({ ...commonDeps(h), sink, ledger, store: bucket().store() }) };
}

function delivery(entry: PutEntry | undefined): Record<string, unknown> {
  return (entry?.detail.delivery ?? {}) as Record<string, unknown>;
}

function expectNothingForwarded(s: Setup): void {
  expect(s.bus.entries()).toEqual([]);
}

describe.each(EVENT_KINDS)('bullseye handler, %s event', (kind: EventKind) => {
  it(`bullseye: an identification event signed with the identification secret is acknowledged 200 and forwarded once ${DOC}`, async () => {
    const s = setup();
    const raw = identification(kind);
    const answer = await call(s.handler, kind, signed(IDENTIFICATION, raw, SECRETS.identification));
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ received: true });
    const [entry, ...more] = s.bus.accepted();
    expect(more).toEqual([]);
    expect(entry).toMatchObject({ source: 'webhooks.bullseye', detailType: 'identification', busName: BUS });
    expect(entry!.detail.payload).toEqual(JSON.parse(raw));
    expect(delivery(entry)).toMatchObject({ route: IDENTIFICATION, test: false, unknownType: false, receivedAt: new Date(NOW_MS).toISOString() });
    expect(s.h.logs.requests()[0]).toMatchObject({ provider: 'bullseye', status: 200, eventType: 'identification' });
  });

  it(`bullseye: an identification event signed with the BILLING secret is 401 and not forwarded ${DOC}`, async () => {
    const s = setup();
    const answer = await call(s.handler, kind, signed(IDENTIFICATION, identification(kind), SECRETS.billing));
    expect(answer.status).toBe(401);
    expect(noProfileData(answer, ['visitor@example.com'])).toEqual([]);
    expectNothingForwarded(s);
  });

  it(`bullseye: a billing event on the billing route with the billing secret is 200 and forwarded as billing ${DOC}`, async () => {
    const s = setup();
    const answer = await call(s.handler, kind, signed(BILLING, billing(kind), SECRETS.billing));
    expect(answer.status).toBe(200);
    expect(s.bus.accepted()).toHaveLength(1);
    expect(s.bus.accepted()[0]).toMatchObject({ detailType: 'billing' });
    expect(delivery(s.bus.accepted()[0])).toMatchObject({ route: BILLING });
  });

  it(`bullseye: a billing event signed with the identification secret is 401 and not forwarded ${DOC}`, async () => {
    const s = setup();
    expect((await call(s.handler, kind, signed(BILLING, billing(kind), SECRETS.identification))).status).toBe(401);
    expectNothingForwarded(s);
  });

  it(`bullseye: 401 for a missing, malformed or tampered X-Bullseye-Signature ${DOC}`, async () => {
    const s = setup();
    const raw = identification(kind);
    expect((await call(s.handler, kind, postJson(IDENTIFICATION, raw))).status).toBe(401);
    expect((await call(s.handler, kind, postJson(IDENTIFICATION, raw, [[HEADER, 'sha256=deadbeef']]))).status).toBe(401);
    const tampered = await call(s.handler, kind, postJson(IDENTIFICATION, identification(kind, { email: 'attacker@example.com' }), [[HEADER, rawBodyHex(SECRETS.identification, raw)]]));
    expect(tampered.status).toBe(401);
    expect(tampered.json).toEqual({ error: expect.any(String) });
    expectNothingForwarded(s);
  });

  it(`bullseye: "Send Test Webhook" deliveries are acknowledged and forwarded with delivery.test true ${DOC}`, async () => {
    const s = setup();
    for (const [path, secret, raw] of [
      [IDENTIFICATION, SECRETS.identification, JSON.stringify({ type: 'test', webhook: 'identification', shape: kind })],
      [BILLING, SECRETS.billing, JSON.stringify({ test: true, type: 'billing', shape: kind })],
    ] as const) {
      const answer = await call(s.handler, kind, signed(path, raw, secret));
      expect(answer.status, raw).toBe(200);
    }
    const accepted = s.bus.accepted();
    expect(accepted.map((e) => e.detailType)).toEqual(['identification', 'billing']);
    expect(accepted.map((e) => delivery(e).test)).toEqual([true, true]);
    expect(s.h.logs.requests().every((r) => String(r.outcome).endsWith('_test'))).toBe(true);
  });

  it(`bullseye: a retried delivery (same body) is acknowledged again but forwarded once ${DOC}`, async () => {
    const s = setup();
    const request = signed(IDENTIFICATION, identification(kind), SECRETS.identification);
    const first = await call(s.handler, kind, request);
    const retry = await call(s.handler, kind, request);
    const again = await call(s.handler, kind, request);
    expect([first.status, retry.status, again.status]).toEqual([200, 200, 200]);
    expect(retry.json).toEqual({ received: true, duplicate: true });
    expect(s.bus.entries()).toHaveLength(1);
    const keys = s.h.logs.requests().map((r) => r.dedupeKey);
    expect(new Set(keys).size).toBe(1);
  });

  it(`bullseye: an EventBridge partial failure parks the delivery (200: kept), the redrive then forwards it exactly once, a resend is a duplicate ${DOC}`, async () => {
    const s = setup();
    const request = signed(BILLING, billing(kind), SECRETS.billing);
    s.bus.failNext(1);
    const parked = await call(s.handler, kind, request);
    expect(parked.status).toBe(200);
    expect(s.h.logs.requests().at(-1)).toMatchObject({ outcome: 'parked', status: 200 });
    expect(s.bus.accepted()).toEqual([]);
    expect(await redriveParked({ store: bucket().store(), sink: s.sink, ledger: s.ledger, provider: 'bullseye', logger: s.h.logger })).toMatchObject({ forwarded: 1 });
    expect(s.bus.accepted()).toHaveLength(1);
    expect(s.bus.accepted()[0]!.detail.payload).toEqual(JSON.parse(String(request.body)));
    const resent = await call(s.handler, kind, request);
    expect(resent.json).toEqual({ received: true, duplicate: true });
    expect(s.bus.accepted()).toHaveLength(1);
  });

  it(`bullseye: 400 for a validly signed body that is not JSON (or not an object), nothing forwarded ${DOC}`, async () => {
    const s = setup();
    for (const raw of ['{"event": "visitor.identified",', 'visitor=1', '[1,2]', '"text"']) {
      const answer = await call(s.handler, kind, signed(IDENTIFICATION, raw, SECRETS.identification));
      expect(answer.status, raw).toBe(400);
      expect(answer.json).toEqual({ error: expect.any(String) });
    }
    expectNothingForwarded(s);
  });

  it(`bullseye: the raw body is verified before JSON parsing: base64-delivered and pretty-printed bodies verify ${DOC}`, async () => {
    const s = setup();
    const pretty = JSON.stringify(JSON.parse(identification(`${kind}-pretty`)), null, 2);
    expect((await call(s.handler, kind, signed(IDENTIFICATION, pretty, SECRETS.identification))).status).toBe(200);
    expect((await call(s.handler, kind, signed(IDENTIFICATION, identification(`${kind}-b64`), SECRETS.identification, { base64: true }))).status).toBe(200);
    expect(s.bus.accepted()).toHaveLength(2);
  });

  it(`bullseye: 405 for a GET on a webhook URL ${DOC}`, async () => {
    const s = setup();
    const answer = await call(s.handler, kind, { method: 'GET', path: BILLING });
    expect(answer.status).toBe(405);
    expectNothingForwarded(s);
  });

  it(`bullseye: nothing in the logs carries the body, the signature or a secret ${DOC}`, async () => {
    const s = setup();
    const raw = identification(`${kind}-log`);
    await call(s.handler, kind, signed(IDENTIFICATION, raw, SECRETS.identification));
    const text = s.h.logs.text();
    expect(text).not.toContain('visitor@example.com');
    expect(text).not.toContain(rawBodyHex(SECRETS.identification, raw));
    expect(text).not.toContain(SECRETS.identification);
  });
});

describe('bullseye handler, garbage events', () => {
  it.each(GARBAGE_EVENTS)(`bullseye: %s is answered, never thrown, nothing forwarded ${DOC}`, async (_name, event) => {
    const s = setup();
    const answer = await callRaw(s.handler, event);
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expectNothingForwarded(s);
  });
});

describe('bullseye handler with DynamoDbLedger on dynalite', () => {
  const TABLE = 'dedupe-bullseye-handler';
  let ledger: DynamoDbLedger;
  const dynamo = useDynalite(async (client) => {
    await createDedupeTable(client, TABLE);
    ledger = new DynamoDbLedger({ tableName: TABLE, client: client });
  });

  it.each(EVENT_KINDS)(`bullseye: a retried delivery is forwarded once, remembered in the table (%s) ${DOC}`, async (kind) => {
    const s = setup(ledger);
    const request = signed(IDENTIFICATION, identification(`dynamo-${kind}`), SECRETS.identification);
    const answers = [await call(s.handler, kind, request), await call(s.handler, kind, request)];
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(answers[1]!.json).toEqual({ received: true, duplicate: true });
    expect(s.bus.entries()).toHaveLength(1);
  });

  it(`bullseye: the same delivery arriving through each event shape is forwarded once in all ${DOC}`, async () => {
    const s = setup(ledger);
    const request = signed(BILLING, billing('dynamo-every-shape'), SECRETS.billing);
    const statuses: number[] = [];
    for (const kind of EVENT_KINDS) statuses.push((await call(s.handler, kind, request)).status);
    expect(statuses).toEqual([200, 200, 200]);
    expect(s.bus.entries()).toHaveLength(1);
  });

  it.each(EVENT_KINDS)(`bullseye: an EventBridge partial failure releases the claim and parks; a platform retry delivers exactly once (%s) ${DOC}`, async (kind) => {
    const s = setup(ledger);
    const request = signed(BILLING, billing(`dynamo-fail-${kind}`), SECRETS.billing);
    s.bus.failNext(1);
    expect((await call(s.handler, kind, request)).status).toBe(200);
    expect((await call(s.handler, kind, request)).status).toBe(200);
    expect((await call(s.handler, kind, request)).status).toBe(200);
    expect(s.bus.accepted()).toHaveLength(1);
  });

  it(`bullseye: a ledger that cannot be reached parks the delivery (kept, not forwarded unrecorded) ${DOC}`, async () => {
    const broken = new DynamoDbLedger({ tableName: 'no-such-table', client: dynamo().client });
    const s = setup(broken);
    const answer = await call(s.handler, 'http-v2', signed(IDENTIFICATION, identification('no-table'), SECRETS.identification));
    expect(answer.status).toBe(200);
    expect(s.h.logs.requests().at(-1)).toMatchObject({ outcome: 'parked' });
    expect(s.bus.accepted()).toEqual([]);
  });
});
