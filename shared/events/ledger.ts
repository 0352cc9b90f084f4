import { randomUUID } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { defaultDynamoDbClient } from '../aws/dynamodb-client.js';
import { DEDUPE_TABLE } from '../customers/table.js';
import type { ClaimResult, DeliveryLedger, PublishOptions } from './event.js';

export interface LedgerTiming {
  /** Clock, epoch ms. Default Date.now. */
  readonly now?: () => number;
  readonly leaseSeconds?: number;
  readonly retentionSeconds?: number;
}

const IN_PROGRESS = 'IN_PROGRESS';
const DELIVERED = 'DELIVERED';

function timing(options: LedgerTiming) {
  return {
    now: options.now ?? Date.now,
    leaseMs: (options.leaseSeconds ?? DEDUPE_TABLE.leaseSeconds) * 1_000,
    retentionMs: (options.retentionSeconds ?? DEDUPE_TABLE.retentionSeconds) * 1_000,
  };
}

interface MemoryEntry {
  status: typeof IN_PROGRESS | typeof DELIVERED;
  /** Lease end while in progress, retention end once delivered (epoch ms). */
  until: number;
}

/**
 * The ledger for the local server and tests: one process's memory. A deployed function uses
 * DynamoDbLedger, since containers do not share memory and a retry may land on any of them.
 */
export class InMemoryLedger implements DeliveryLedger {
  private readonly entries = new Map<string, MemoryEntry>();
  private readonly clock: ReturnType<typeof timing>;

  constructor(options: LedgerTiming = {}) {
    this.clock = timing(options);
  }

  async claim(key: string): Promise<ClaimResult> {
    const now = this.clock.now();
    this.forgetExpired(now);
    const entry = this.entries.get(key);
    if (entry && entry.until > now) return entry.status === DELIVERED ? 'delivered' : 'in_progress';
    this.remember(key, { status: IN_PROGRESS, until: now + this.clock.leaseMs });
    return 'new';
  }

  async complete(key: string): Promise<void> {
    this.remember(key, { status: DELIVERED, until: this.clock.now() + this.clock.retentionMs });
  }

  async release(key: string): Promise<void> {
    if (this.entries.get(key)?.status === IN_PROGRESS) this.entries.delete(key);
  }

  /** Re-inserted, so the map's order is the order of writes, which is close to expiry order. */
  private remember(key: string, entry: MemoryEntry): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
  }

  private forgetExpired(now: number): void {
    // Close enough to expiry order that stopping at the first live entry keeps a long local run small.
    for (const [key, entry] of this.entries) {
      if (entry.until > now) break;
      this.entries.delete(key);
    }
  }
}

export interface DynamoDbLedgerOptions extends LedgerTiming {
  readonly tableName: string;
  /** Default: defaultDynamoDbClient() (one retry, short timeouts). */
  readonly client?: DynamoDBClient;
}

/**
 * Deliveries remembered in the de-duplication table (layout: shared/customers/table.ts).
 *
 *   claim     PutItem IN_PROGRESS with a lease, only if the key is absent, its lease ran out, or its
 *             item outlived the TTL (DynamoDB deletes expired items lazily, up to days later);
 *             otherwise a consistent GetItem says whether it is delivered or still in flight
 *   complete  PutItem DELIVERED, kept for the retention period
 *   release   DeleteItem, only while this container's lease is still the one on the item
 */
export class DynamoDbLedger implements DeliveryLedger {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly clock: ReturnType<typeof timing>;
  /** The lease token this container wrote for each key it holds, so release never drops another container's lease. */
  private readonly leases = new Map<string, string>();

  constructor(options: DynamoDbLedgerOptions) {
    this.tableName = options.tableName;
    this.client = options.client ?? defaultDynamoDbClient();
    this.clock = timing(options);
  }

  async claim(key: string, options: PublishOptions = {}): Promise<ClaimResult> {
    const now = this.clock.now();
    const lease = randomUUID();
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: this.item(key, IN_PROGRESS, now + this.clock.leaseMs, now + this.clock.retentionMs, lease),
          ConditionExpression: 'attribute_not_exists(#pk) OR (#status = :inProgress AND #leaseUntil < :now) OR #expiresAt < :nowSeconds',
          ExpressionAttributeNames: { '#pk': DEDUPE_TABLE.partitionKey, '#status': 'status', '#leaseUntil': 'leaseUntil', '#expiresAt': DEDUPE_TABLE.ttlAttribute },
          ExpressionAttributeValues: {
            ':inProgress': { S: IN_PROGRESS },
            ':now': { N: String(now) },
            ':nowSeconds': { N: String(Math.floor(now / 1_000)) },
          },
        }),
        { abortSignal: options.signal },
      );
      this.leases.set(key, lease);
      return 'new';
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const existing = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { [DEDUPE_TABLE.partitionKey]: { S: key } }, ConsistentRead: true }),
      { abortSignal: options.signal },
    );
    // Gone between the two calls means its lease was just released: the platform's retry will claim it.
    return existing.Item?.status?.S === DELIVERED ? 'delivered' : 'in_progress';
  }

  async complete(key: string, options: PublishOptions = {}): Promise<void> {
    const now = this.clock.now();
    this.leases.delete(key);
    await this.client.send(
      new PutItemCommand({ TableName: this.tableName, Item: this.item(key, DELIVERED, undefined, now + this.clock.retentionMs) }),
      { abortSignal: options.signal },
    );
  }

  async release(key: string, options: PublishOptions = {}): Promise<void> {
    const lease = this.leases.get(key);
    this.leases.delete(key);
    if (lease === undefined) return;
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: { [DEDUPE_TABLE.partitionKey]: { S: key } },
          ConditionExpression: '#status = :inProgress AND #lease = :lease',
          ExpressionAttributeNames: { '#status': 'status', '#lease': 'lease' },
          ExpressionAttributeValues: { ':inProgress': { S: IN_PROGRESS }, ':lease': { S: lease } },
        }),
        { abortSignal: options.signal },
      );
    } catch (error) {
      // Another container took the key over after our lease ran out: its item is not ours to drop.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  private item(key: string, status: string, leaseUntilMs: number | undefined, expiresAtMs: number, lease?: string) {
    return {
      [DEDUPE_TABLE.partitionKey]: { S: key },
      status: { S: status },
      [DEDUPE_TABLE.ttlAttribute]: { N: String(Math.ceil(expiresAtMs / 1_000)) },
      ...(leaseUntilMs === undefined ? {} : { leaseUntil: { N: String(leaseUntilMs) } }),
      ...(lease === undefined ? {} : { lease: { S: lease } }),
    };
  }
}
