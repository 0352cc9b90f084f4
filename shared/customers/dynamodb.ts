import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { defaultDynamoDbClient } from '../aws/dynamodb-client.js';
import { normaliseEmail, parseCustomerProfile } from './parse.js';
import type { CustomerDirectory, CustomerProfile, LookupOptions } from './profile.js';
import { CUSTOMERS_TABLE, fitsKey } from './table.js';

/**
 * Customers in one DynamoDB table (layout: shared/customers/table.ts).
 *
 *   findByUserId     GetItem  USER#<userId>
 *   findBySessionId  GetItem  SESSION#<sessionId> (strongly consistent) -> GetItem USER#<userId>
 *   findByEmail      Query    byEmail index, emailLower = trimmed lower-cased email, Limit 1
 *
 * Not found is `undefined`; an unreachable table, a throttle, a timeout or an aborted signal throws
 * (the handler answers 503 so the platform retries). A stored item that is not a valid profile also
 * throws: answering a platform with a half-valid profile is worse than asking it to retry.
 *
 * Emails are expected to be unique. If two customer items share one (case-insensitively), the index
 * holds both and `findByEmail` answers whichever DynamoDB returns first; that order is not defined,
 * so keep emails unique in the app that writes the table.
 */
export interface DynamoDbDirectoryOptions {
  readonly tableName: string;
  /** Default: defaultDynamoDbClient(). A plain DynamoDBClient is wrapped in a document client. */
  readonly client?: DynamoDBDocumentClient | DynamoDBClient;
  /** Clock for session expiry (epoch ms). Default Date.now. */
  readonly now?: () => number;
}

export interface RecordSessionOptions {
  /** How long the session identifies its user. Default CUSTOMERS_TABLE.defaultSessionTtlSeconds (7 days). */
  readonly ttlSeconds?: number;
  readonly signal?: AbortSignal;
}

/** `removeUndefinedValues`: optional profile fields left undefined are simply not written. */
export function documentClient(client: DynamoDBDocumentClient | DynamoDBClient = defaultDynamoDbClient()): DynamoDBDocumentClient {
  if (client instanceof DynamoDBDocumentClient) return client;
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/** The customer item putCustomer writes: the profile plus its key and the email index key. */
export function customerItem(profile: CustomerProfile): Record<string, unknown> {
  // Sessions live in their own items with a TTL; a list on the customer item would go stale.
  const { sessionIds: _sessions, ...fields } = profile;
  const emailLower = profile.email === undefined ? '' : normaliseEmail(profile.email);
  return {
    ...fields,
    [CUSTOMERS_TABLE.partitionKey]: CUSTOMERS_TABLE.userKey(profile.userId),
    // DynamoDB rejects an empty string as an index key: no email, no index entry.
    ...(emailLower.length > 0 ? { [CUSTOMERS_TABLE.emailIndexKey]: emailLower } : {}),
  };
}

/** The session item: sessionId -> userId until `expiresAt` (epoch seconds, the table's TTL attribute). */
export function sessionItem(sessionId: string, userId: string, ttlSeconds: number, nowMs: number): Record<string, unknown> {
  return {
    [CUSTOMERS_TABLE.partitionKey]: CUSTOMERS_TABLE.sessionKey(sessionId),
    userId,
    [CUSTOMERS_TABLE.ttlAttribute]: Math.floor(nowMs / 1000) + Math.ceil(ttlSeconds),
  };
}

function requireId(name: string, value: string): void {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`${name} must be a non-empty string`);
}

/** A profile from a customer item, or an error naming the broken field (never its value). */
function profileFromItem(item: Record<string, unknown>): CustomerProfile {
  const parsed = parseCustomerProfile(item);
  if (!parsed.ok) throw new Error(`customers table holds an invalid customer item: ${parsed.error}`);
  return parsed.profile;
}

export class DynamoDbDirectory implements CustomerDirectory {
  readonly tableName: string;
  private readonly client: DynamoDBDocumentClient;
  private readonly now: () => number;

  constructor(options: DynamoDbDirectoryOptions) {
    this.tableName = options.tableName;
    this.client = documentClient(options.client);
    this.now = options.now ?? Date.now;
  }

  async findByUserId(userId: string, options: LookupOptions = {}): Promise<CustomerProfile | undefined> {
    // An empty or over-long key is a ValidationException in DynamoDB (a 503); to the caller it is simply unknown.
    const key = CUSTOMERS_TABLE.userKey(userId);
    if (userId.length === 0 || !fitsKey(key)) return undefined;
    const item = await this.getItem(key, false, options.signal);
    return item ? profileFromItem(item) : undefined;
  }

  async findBySessionId(sessionId: string, options: LookupOptions = {}): Promise<CustomerProfile | undefined> {
    const key = CUSTOMERS_TABLE.sessionKey(sessionId);
    if (sessionId.length === 0 || !fitsKey(key)) return undefined;
    // Strongly consistent: the app records a session moments before the platform asks about it.
    const session = await this.getItem(key, true, options.signal);
    if (!session) return undefined;
    // DynamoDB's TTL deletion lags expiry by up to days: an expired item must be ignored, not trusted.
    const expiresAt = session[CUSTOMERS_TABLE.ttlAttribute];
    if (typeof expiresAt === 'number' && expiresAt * 1000 <= this.now()) return undefined;
    const userId = session.userId;
    if (typeof userId !== 'string' || userId.length === 0) return undefined;
    return this.findByUserId(userId, options);
  }

  async findByEmail(email: string, options: LookupOptions = {}): Promise<CustomerProfile | undefined> {
    const emailLower = normaliseEmail(email);
    if (emailLower.length === 0 || !fitsKey(emailLower)) return undefined;
    options.signal?.throwIfAborted();
    const result = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: CUSTOMERS_TABLE.emailIndex,
        KeyConditionExpression: '#email = :email',
        ExpressionAttributeNames: { '#email': CUSTOMERS_TABLE.emailIndexKey },
        ExpressionAttributeValues: { ':email': emailLower },
        Limit: 1,
      }),
      { abortSignal: options.signal },
    );
    const item = result.Items?.[0];
    return item ? profileFromItem(item) : undefined;
  }

  /** Writes (or replaces) a customer item. `sessionIds` are not stored on it: use recordSession. */
  async putCustomer(profile: CustomerProfile, options: LookupOptions = {}): Promise<void> {
    const parsed = parseCustomerProfile(profile);
    if (!parsed.ok) throw new TypeError(`not a valid customer profile: ${parsed.error}`);
    options.signal?.throwIfAborted();
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: customerItem(parsed.profile) }), {
      abortSignal: options.signal,
    });
  }

  /** Records that `sessionId` identifies `userId` for `ttlSeconds` (default 7 days). Recording again extends it. */
  async recordSession(sessionId: string, userId: string, options: RecordSessionOptions = {}): Promise<void> {
    requireId('sessionId', sessionId);
    requireId('userId', userId);
    const ttlSeconds = options.ttlSeconds ?? CUSTOMERS_TABLE.defaultSessionTtlSeconds;
    if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) throw new RangeError('ttlSeconds must be a positive number');
    options.signal?.throwIfAborted();
    await this.client.send(
      new PutCommand({ TableName: this.tableName, Item: sessionItem(sessionId, userId, ttlSeconds, this.now()) }),
      { abortSignal: options.signal },
    );
  }

  private async getItem(pk: string, consistent: boolean, signal: AbortSignal | undefined): Promise<Record<string, unknown> | undefined> {
    // The SDK checks the signal only once the request is on its way; an already-aborted lookup should cost nothing.
    signal?.throwIfAborted();
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { [CUSTOMERS_TABLE.partitionKey]: pk }, ConsistentRead: consistent }),
      { abortSignal: signal },
    );
    return result.Item;
  }
}
