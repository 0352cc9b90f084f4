import { createHash } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { createGenericWebhookHandler } from '../../functions/webhook/handler.js';
import { EventBridgeSink } from '../../shared/events/eventbridge.js';
import { InMemoryLedger } from '../../shared/events/ledger.js';
import { createLogger } from '../../shared/log.js';
import { PROVIDERS } from '../../shared/providers.js';
import { SecretsCache } from '../../shared/secrets/cache.js';
import { manualClock, secretsManagerWith } from '../support/secrets-manager.js';
import { EVENT_KINDS, type EventKind } from '../support/events.js';
import { call, commonDeps, harness, mockedEventBus, NOW_MS, postJson, type Headers } from '../support/handler-harness.js';
import { useS3 } from '../support/s3.js';

/** The delivery bucket, on s3rver, for every test in the file. */
const bucket = useS3();

const STUB_SECRET_ID = 'webhooks/test';

/**
 * Standard Webhooks (the spec, standard-webhooks.md; the official `standardwebhooks` library signs
 * every request here): `${webhook-id}.${webhook-timestamp}.${body}`, HMAC-SHA256, base64, `v1,`
 * entries in webhook-signature, `whsec_` secrets, ±5 minutes.
 */
const SPEC = '(Standard Webhooks spec)';
const PATH = '/standardwebhooks/events';
const provider = PROVIDERS.standardwebhooks;
const SECRET = `whsec_${Buffer.from('standard-webhooks-test-key-0001').toString('base64')}`;
const OTHER_SECRET = `whsec_${Buffer.from('some-other-senders-signing-key').toString('base64')}`;

function body(tag: string): string {
  return JSON.stringify({ type: 'invoice.paid', timestamp: new Date(NOW_MS).toISOString(), data: { invoiceId: `in_${tag}`, amount: 12345678901234567890 } });
}

interface Delivery {
  readonly id: string;
  readonly body: string;
  readonly timestampMs?: number;
  readonly secret?: string;
}

/** The three headers exactly as the official library makes them. */
function libraryHeaders({ id, body: raw, timestampMs = NOW_MS, secret = SECRET }: Delivery): Array<[string, string]> {
  const timestamp = new Date(timestampMs);
  return [
    ['webhook-id', id],
    ['webhook-timestamp', String(Math.floor(timestampMs / 1000))],
    ['webhook-signature', new Webhook(secret).sign(id, timestamp, raw)],
  ];
}

function setup() {
  const h = harness({ signingSecret: SECRET });
  const bus = mockedEventBus();
  const sink = new EventBridgeSink({ client: bus.client, eventBusName: 'bus' });
  return { h, bus, handler: createGenericWebhookHandler(provider, { ...commonDeps(h), sink, ledger: new InMemoryLedger(), store: bucket().store() }) };
}

const post = (raw: string, headers: Headers) => postJson(PATH, raw, headers);
const secretsCalls = (s: ReturnType<typeof setup>) => s.h.secretsManager.totalCalls();

describe.each(EVENT_KINDS)('standardwebhooks handler, %s event', (kind: EventKind) => {
  it(`a delivery signed by the official library is acknowledged and reaches the bus once, bytes as sent ${SPEC}`, async () => {
    const s = setup();
    const raw = body(kind);
    const answer = await call(s.handler, kind, post(raw, libraryHeaders({ id: `msg_${kind}`, body: raw })));
    expect(answer.status).toBe(200);
    const [entry, ...more] = s.bus.accepted();
    expect(more).toEqual([]);
    expect(entry).toMatchObject({ source: 'webhooks.standardwebhooks', detailType: 'invoice.paid' });
    // Keyed on the webhook-id the spec names, hashed to a fixed length; the payload is the body as sent.
    expect(entry!.detail.delivery).toMatchObject({ dedupeKey: `standardwebhooks#id#${createHash('sha256').update(`msg_${kind}`).digest('hex')}` });
    // Its amount (12345678901234567000) is past int64, which PutEvents does not hold: the exact bytes travel as a claim check.
    const claim = entry!.detail.claim as { key: string };
    expect((await bucket().bytes(claim.key)).toString('utf8')).toBe(raw);
    expect(s.h.logs.requests()[0]).toMatchObject({ provider: 'standardwebhooks', status: 200, eventType: 'invoice.paid' });
  });

  it(`the same webhook-id retried later with a fresh timestamp and signature is forwarded once ${SPEC}`, async () => {
    const s = setup();
    const raw = body(`${kind}-retry`);
    const id = `msg_retry_${kind}`;
    expect((await call(s.handler, kind, post(raw, libraryHeaders({ id, body: raw })))).status).toBe(200);
    const again = await call(s.handler, kind, post(raw, libraryHeaders({ id, body: raw, timestampMs: NOW_MS + 60_000 })));
    expect(again.status).toBe(200);
    expect(again.json).toEqual({ received: true, duplicate: true });
    expect(s.bus.accepted()).toHaveLength(1);
  });

  it(`401 for a tampered body, another secret, or a changed webhook-id; nothing forwarded ${SPEC}`, async () => {
    const s = setup();
    const raw = body(`${kind}-tamper`);
    const headers = libraryHeaders({ id: 'msg_tamper', body: raw });
    expect((await call(s.handler, kind, post(raw.replace('in_', 'in_X'), headers))).status).toBe(401);
    expect((await call(s.handler, kind, post(raw, libraryHeaders({ id: 'msg_tamper', body: raw, secret: OTHER_SECRET })))).status).toBe(401);
    const changedId = headers.map(([name, value]): [string, string] => (name === 'webhook-id' ? [name, 'msg_other'] : [name, value]));
    expect((await call(s.handler, kind, post(raw, changedId))).status).toBe(401);
    expect(s.bus.entries()).toEqual([]);
    expect(s.h.logs.requests().map((r) => r.outcome)).toEqual(['bad_signature_mismatch', 'bad_signature_mismatch', 'bad_signature_mismatch']);
  });

  it(`401 for timestamps 10 minutes old and 10 minutes ahead, though correctly signed ${SPEC}`, async () => {
    const s = setup();
    const raw = body(`${kind}-skew`);
    for (const timestampMs of [NOW_MS - 600_000, NOW_MS + 600_000]) {
      const answer = await call(s.handler, kind, post(raw, libraryHeaders({ id: `msg_skew_${timestampMs}`, body: raw, timestampMs })));
      expect(answer.status).toBe(401);
    }
    expect(s.h.logs.requests().map((r) => r.outcome)).toEqual(['stale_timestamp', 'stale_timestamp']);
    expect(s.bus.entries()).toEqual([]);
  });

  it(`two signatures of which one is valid verify; only a v1a entry does not ${SPEC}`, async () => {
    const s = setup();
    const raw = body(`${kind}-two`);
    const [id, timestamp, valid] = libraryHeaders({ id: 'msg_two', body: raw });
    const other = new Webhook(OTHER_SECRET).sign('msg_two', new Date(NOW_MS), raw);
    const both = await call(s.handler, kind, post(raw, [id!, timestamp!, ['webhook-signature', `${other} ${valid![1]}`]]));
    expect(both.status).toBe(200);
    const v1aOnly = await call(s.handler, kind, post(raw, [id!, timestamp!, ['webhook-signature', valid![1].replace(/^v1,/, 'v1a,')]]));
    expect(v1aOnly.status).toBe(401);
  });

  it(`missing webhook-id, webhook-timestamp or webhook-signature is 401, a malformed timestamp 400, all without touching Secrets Manager ${SPEC}`, async () => {
    const s = setup();
    const raw = body(`${kind}-missing`);
    const headers = libraryHeaders({ id: 'msg_missing', body: raw });
    for (const dropped of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      const answer = await call(s.handler, kind, post(raw, headers.filter(([name]) => name !== dropped)));
      expect(answer.status).toBe(401);
    }
    const malformed = headers.map(([name, value]): [string, string] => (name === 'webhook-timestamp' ? [name, 'yesterday'] : [name, value]));
    expect((await call(s.handler, kind, post(raw, malformed))).status).toBe(400);
    expect(secretsCalls(s)).toBe(0);
  });
});

describe('standardwebhooks: rotation on both sides', () => {
  it(`a sender signing with its old and new secret during its rotation, and our AWSPENDING and AWSPREVIOUS versions, all verify ${SPEC}`, async () => {
    const clock = manualClock(NOW_MS);
    const { sm, client } = secretsManagerWith(STUB_SECRET_ID, { signingSecret: SECRET }, { now: clock.now });
    const secrets = new SecretsCache({ client, now: clock.now, logger: createLogger(() => undefined) });
    const bus = mockedEventBus();
    const handler = createGenericWebhookHandler(provider, {
      secrets,
      logger: createLogger(() => undefined),
      env: { SIGNING_SECRET_ID: STUB_SECRET_ID },
      now: clock.now,
      sink: new EventBridgeSink({ client: bus.client, eventBusName: 'bus' }),
      ledger: new InMemoryLedger(),
      store: bucket().store(),
    });
    const send = async (id: string, signers: readonly string[]) => {
      const raw = body(id);
      const timestamp = new Date(clock.now());
      const signature = signers.map((secret) => new Webhook(secret).sign(id, timestamp, raw)).join(' ');
      const headers: Headers = [['webhook-id', id], ['webhook-timestamp', String(Math.floor(clock.now() / 1000))], ['webhook-signature', signature]];
      return (await call(handler, 'function-url', post(raw, headers))).status;
    };
    const NEW_SECRET = `whsec_${Buffer.from('the-senders-rotated-signing-key').toString('base64')}`;

    // The sender overlaps: every delivery carries a signature with each secret, only the old one is stored yet.
    expect(await send('msg_overlap_1', [NEW_SECRET, SECRET])).toBe(200);
    // Staged as AWSPENDING: the new secret alone verifies as soon as the cache sees it (a mismatch refreshes).
    sm.put(STUB_SECRET_ID, JSON.stringify({ signingSecret: NEW_SECRET }), { stage: 'AWSPENDING' });
    clock.advance(30_000);
    expect(await send('msg_pending', [NEW_SECRET])).toBe(200);
    // Promoted: the old secret keeps verifying as AWSPREVIOUS in the grace period.
    sm.put(STUB_SECRET_ID, JSON.stringify({ signingSecret: NEW_SECRET }));
    clock.advance(300_000);
    expect(await send('msg_current', [NEW_SECRET])).toBe(200);
    expect(await send('msg_previous', [SECRET])).toBe(200);
    expect(bus.accepted()).toHaveLength(4);
  });
});
