import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBuddyStatHandler } from '../../functions/buddystat/handler.js';
import { createBullseyeHandler } from '../../functions/bullseye/handler.js';
import { EventBridgeSink } from '../../shared/events/eventbridge.js';
import { InMemoryLedger } from '../../shared/events/ledger.js';
import { useS3 } from '../support/s3.js';
import { EVENT_KINDS } from '../support/events.js';
import { buddyStatSignature, call, commonDeps, harness, mockedEventBus, payloadText, postJson, rawBodyHex } from '../support/handler-harness.js';
import { eventKind, NUM_RUNS } from './arbitraries.js';

/**
 * buddystat-webhooks.txt: the signature is HMAC-SHA256 over `JSON.stringify(payload)`, so any bytes
 * that parse to the payload verify. For any JSON value and any such byte variant of it, sent in any
 * order and any AWS event shape: every delivery is answered 200, exactly one event reaches the bus,
 * and its payload text is the bytes that verified (here the compact form BuddyStat signed), byte for
 * byte, inline or, when EventBridge could not take it inline, in the delivery bucket.
 */

const SECRET = 'property-buddystat-secret';
const bucket = useS3();

/** Byte variants of a compact JSON text that parse to the same value (so JSON.stringify gives it back). */
function variantsOf(payload: Record<string, unknown>, compact: string): fc.Arbitrary<string[]> {
  const numberForm = compact.replace(/"n":(-?\d+)/, '"n":$1.0');
  const duplicateKey = `{"event":"duplicate.key",${compact.slice(1)}`;
  const all = [
    compact,
    ` ${compact}`,
    `${compact}\n`,
    `\r\n\t${compact} `,
    JSON.stringify(payload, null, 2),
    JSON.stringify(payload, null, '\t'),
    numberForm,
    duplicateKey,
    compact.replace('"event":', '"\\u0065vent":'),
  ];
  return fc.shuffledSubarray(all, { minLength: 1 });
}

const payloadArbitrary = fc.record({
  event: fc.constantFrom('session.created', 'goal.converted', 'alert.triggered', 'event.tracked', 'custom.thing'),
  n: fc.integer(),
  data: fc.jsonValue({ maxDepth: 4 }),
});

describe('buddystat: any JSON value, any byte variant that verifies', () => {
  it('exactly one event reaches the bus, whose payload text equals the bytes that verified (buddystat-webhooks.txt)', async () => {
    await fc.assert(
      fc.asyncProperty(
        payloadArbitrary.chain((payload) => {
          const compact = JSON.stringify(payload);
          return fc.tuple(fc.constant(payload), fc.constant(compact), variantsOf(payload, compact), fc.array(eventKind, { minLength: 9, maxLength: 9 }));
        }),
        async ([payload, compact, variants, kinds]) => {
          // A value that does not survive JSON.parse(JSON.stringify(...)) (a "__proto__" key) is no payload BuddyStat can send.
          fc.pre(JSON.stringify(JSON.parse(compact)) === compact);
          const h = harness(SECRET);
          const bus = mockedEventBus();
          const store = bucket().store();
          const handler = createBuddyStatHandler({ ...commonDeps(h), sink: new EventBridgeSink({ client: bus.client, eventBusName: 'property-bus' }), ledger: new InMemoryLedger(), store });
          const signature = buddyStatSignature(SECRET, payload);
          for (const [i, raw] of variants.entries()) {
            const answer = await call(handler, kinds[i] ?? EVENT_KINDS[0]!, postJson('/buddystat/events', raw, [['X-BuddyStat-Signature', signature]]));
            expect(answer.status, raw).toBe(200);
          }
          const [event, ...more] = bus.accepted();
          expect(more).toEqual([]);
          const claim = event!.detail.claim as { key: string } | undefined;
          const carried = claim ? (await bucket().bytes(claim.key)).toString('utf8') : payloadText(event!);
          expect(carried).toBe(compact);
        },
      ),
      { numRuns: Math.min(NUM_RUNS, 100) },
    );
  });
});

describe('bullseye: any JSON object text, signed as sent', () => {
  it('forwarded once, retries included, with the payload text equal to the bytes as sent (bullseye-webhooks.txt)', async () => {
    const secrets = { identification: 'property-bullseye-identification', billing: 'property-bullseye-billing' };
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 4 })), fc.constantFrom(0, 1, 2, '\t'), eventKind, eventKind, async (value, indent, first, retry) => {
        const raw = JSON.stringify(value, null, indent);
        const h = harness(secrets);
        const bus = mockedEventBus();
        const handler = createBullseyeHandler({ ...commonDeps(h), sink: new EventBridgeSink({ client: bus.client, eventBusName: 'property-bus' }), ledger: new InMemoryLedger(), store: bucket().store() });
        const spec = postJson('/bullseye/identification', raw, [['X-Bullseye-Signature', rawBodyHex(secrets.identification, raw)]]);
        expect((await call(handler, first, spec)).status).toBe(200);
        expect((await call(handler, retry, spec)).status).toBe(200);
        const [event, ...more] = bus.accepted();
        expect(more).toEqual([]);
        const claim = event!.detail.claim as { key: string } | undefined;
        expect(claim ? (await bucket().bytes(claim.key)).toString('utf8') : payloadText(event!)).toBe(raw);
      }),
      { numRuns: Math.min(NUM_RUNS, 100) },
    );
  });
});

describe('buddystat: the compact-form fallback cannot throw on hostile bytes', () => {
  it('any nesting depth (up to 20,000), any opener, any forged signature, any event shape: 401, never a 500 (buddystat-webhooks.txt)', async () => {
    const h = harness(SECRET);
    const bus = mockedEventBus();
    const handler = createBuddyStatHandler({ ...commonDeps(h), sink: new EventBridgeSink({ client: bus.client, eventBusName: 'property-bus' }), ledger: new InMemoryLedger(), store: bucket().store() });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20_000 }),
        fc.constantFrom(['[', ']'], ['{"a":', '}'], ['[{"b":', '}]']),
        fc.stringMatching(/^[0-9a-f]{64}$/),
        eventKind,
        fc.boolean(),
        async (depth, [open, close], signature, kind, base64) => {
          const raw = `{"event":"goal.converted","x":${open!.repeat(depth)}1${close!.repeat(depth)}}`;
          const answer = await call(handler, kind, postJson('/buddystat/events', raw, [['X-BuddyStat-Signature', signature]], { base64 }));
          expect(answer.status).toBe(401);
        },
      ),
      { numRuns: Math.min(NUM_RUNS, 50) },
    );
    expect(bus.entries()).toEqual([]);
  });
});
