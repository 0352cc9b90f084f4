import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbDirectory } from './dynamodb.js';

/**
 * For your app: call this when you start a Buddy session, so Buddy's Identity Callback
 * (`POST /buddy/identity` with `{ sessionId }`) can be answered with the right customer.
 *
 *   import { recordSession } from './shared/customers/record-session.js';
 *
 *   const sessionId = crypto.randomUUID();
 *   await recordSession({ tableName: process.env.CUSTOMERS_TABLE!, sessionId, userId: user.id });
 *   buddy.start({ sessionId }); // however your app hands the id to Buddy's widget
 *
 * It writes one item, `SESSION#<sessionId>` -> userId, with a TTL (`expiresAt`, epoch seconds;
 * default 7 days). Recording the same session again extends it. After the TTL the receiver no
 * longer recognises the session, even before DynamoDB's TTL sweep deletes the item (which can lag
 * by days), and the session is treated as unknown.
 *
 * The customer itself must be in the same table (`USER#<userId>`; see shared/customers/table.ts).
 * Your app needs `dynamodb:PutItem` on the table; the CDK stack outputs its name.
 *
 * Pass `client` to reuse your own DynamoDBClient (or document client). Without one, a client with
 * short timeouts is created once per table and reused across calls. The call throws when the
 * write fails: decide in your app whether to start the session anyway (Buddy will then see an
 * unknown session) or to retry.
 */
export interface RecordSessionInput {
  readonly tableName: string;
  readonly sessionId: string;
  readonly userId: string;
  /** Default 7 days (CUSTOMERS_TABLE.defaultSessionTtlSeconds). */
  readonly ttlSeconds?: number;
  readonly client?: DynamoDBClient | DynamoDBDocumentClient;
  readonly signal?: AbortSignal;
}

/** One directory (and so one default client) per table for callers that pass no client. */
const defaultDirectories = new Map<string, DynamoDbDirectory>();

function directoryFor(tableName: string, client: RecordSessionInput['client']): DynamoDbDirectory {
  if (client) return new DynamoDbDirectory({ tableName, client });
  let directory = defaultDirectories.get(tableName);
  if (!directory) {
    directory = new DynamoDbDirectory({ tableName });
    defaultDirectories.set(tableName, directory);
  }
  return directory;
}

export async function recordSession(input: RecordSessionInput): Promise<void> {
  if (typeof input.tableName !== 'string' || input.tableName.length === 0) throw new TypeError('tableName must be a non-empty string');
  await directoryFor(input.tableName, input.client).recordSession(input.sessionId, input.userId, {
    ...(input.ttlSeconds !== undefined ? { ttlSeconds: input.ttlSeconds } : {}),
    ...(input.signal ? { signal: input.signal } : {}),
  });
}
