import { GetItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { createDedupeTable } from '../../local/stand-ins/dynamodb.js';
import { DEDUPE_TABLE } from '../../shared/customers/table.js';
import { EventBridgeSink } from '../../shared/events/eventbridge.js';
import type { DeliveryLedger } from '../../shared/events/event.js';
import { DynamoDbLedger, InMemoryLedger } from '../../shared/events/ledger.js';
import type { ProviderId } from '../../shared/providers.js';
import { useDynalite } from '../support/dynalite.js';
import { harness, mockedEventBus, type Harness, type MockedEventBus } from '../support/handler-harness.js';
import { handlerFor, SECRETS, validEvent } from './support.js';

/**
 * EventBridge accepts the PutEvents call but fails the entry (FailedEntryCount > 0, HTTP 200) and the
 * delivery cannot be parked either (no delivery bucket: the stubbed deps have none): the handler
 * answers 503 with Retry-After and does not mark the event delivered, so the platform's retry
 * delivers it, exactly once, and a further retry is recognised as a duplicate. (With a bucket the
 * delivery is parked instead: test/handlers/webhook-delivery.test.ts.)
 * Both ledgers: in memory, and DynamoDB (the deployed one) on dynalite, whose item is inspected.
 */

const WEBHOOKS = ['bullseye', 'buddystat'] as const satisfies readonly ProviderId[];
const TABLE = 'faults-dedupe';

const dynamo = useDynalite((client) => createDedupeTable(client, TABLE));

const LEDGERS: ReadonlyArray<readonly [string, () => DeliveryLedger]> = [
  ['InMemoryLedger', () => new InMemoryLedger()],
  ['DynamoDbLedger (dynalite)', () => new DynamoDbLedger({ tableName: TABLE, client: dynamo().client })],
];

interface Rig {
  readonly h: Harness;
  readonly bus: MockedEventBus;
  readonly handler: (event: unknown) => Promise<{ statusCode: number; headers: Record<string, string>; body: string }>;
}

function rig(provider: ProviderId, ledger: DeliveryLedger): Rig {
  const h = harness(SECRETS[provider]);
  const bus = mockedEventBus();
  const sink = new EventBridgeSink({ client: bus.client, eventBusName: 'faults-bus' });
  return { h, bus, handler: handlerFor(provider, { secrets: h.secrets, logger: h.logger, env: h.env, now: h.now, sink, ledger }) };
}

/** The de-duplication item for the last request's key, as DynamoDB holds it (undefined when absent). */
async function dedupeItem(r: Rig): Promise<Record<string, AttributeValue> | undefined> {
  const key = r.h.logs.requests().at(-1)?.dedupeKey;
  expect(typeof key).toBe('string');
  const got = await dynamo().client.send(new GetItemCommand({ TableName: TABLE, Key: { [DEDUPE_TABLE.partitionKey]: { S: key as string } }, ConsistentRead: true }));
  return got.Item;
}

let counter = 0;
/** A delivery no other test sends (the platform's clock gives it its own event id and time). */
const uniqueEvent = (provider: ProviderId, h: Harness) => validEvent(provider, h.now() + ++counter * 1_000);

describe.each(WEBHOOKS)('%s: EventBridge partial failure, nowhere to park', (provider) => {
  it.each(LEDGERS)(`${provider} with %s: 503 with Retry-After, not marked delivered; the retry delivers exactly once; a further retry is a duplicate`, async (name, ledger) => {
    const r = rig(provider, ledger());
    const event = uniqueEvent(provider, r.h);
    r.bus.failNext(1);

    const failed = await r.handler(event);
    expect(failed.statusCode).toBe(503);
    expect(Number(failed.headers['retry-after'])).toBeGreaterThan(0);
    expect(r.bus.entries()).toHaveLength(1);
    expect(r.bus.accepted()).toHaveLength(0);
    if (name.startsWith('DynamoDb')) {
      const item = await dedupeItem(r);
      expect(item?.status?.S).not.toBe('DELIVERED');
    }

    const retried = await r.handler(event);
    expect(retried.statusCode).toBe(200);
    expect(JSON.parse(retried.body)).toEqual({ received: true });
    expect(r.bus.accepted()).toHaveLength(1);
    if (name.startsWith('DynamoDb')) expect((await dedupeItem(r))?.status?.S).toBe('DELIVERED');

    const again = await r.handler(event);
    expect(again.statusCode).toBe(200);
    expect(JSON.parse(again.body)).toEqual({ received: true, duplicate: true });
    expect(r.bus.entries()).toHaveLength(2); // no third PutEvents
    expect(r.bus.accepted()).toHaveLength(1);
  });

  it.each(LEDGERS)(`${provider} with %s: failures on several attempts, then concurrent retries -> the event is on the bus exactly once`, async (_name, ledger) => {
    const r = rig(provider, ledger());
    const event = uniqueEvent(provider, r.h);
    r.bus.failNext(3);
    for (let i = 0; i < 3; i++) expect((await r.handler(event)).statusCode).toBe(503);
    expect(r.bus.accepted()).toHaveLength(0);

    const answers = await Promise.all(Array.from({ length: 5 }, () => r.handler(event)));
    // Each answer is 200 (delivered, or already delivered) or 503 (another attempt holds the lease: retry later).
    for (const a of answers) expect([200, 503]).toContain(a.statusCode);
    expect(answers.some((a) => a.statusCode === 200)).toBe(true);
    expect(r.bus.accepted()).toHaveLength(1);

    // Whatever the concurrent attempts answered, the platform's next retry is a duplicate.
    const later = await r.handler(event);
    expect(JSON.parse(later.body)).toEqual({ received: true, duplicate: true });
    expect(r.bus.accepted()).toHaveLength(1);
  });
});
