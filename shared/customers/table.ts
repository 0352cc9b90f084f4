/**
 * The customers table's layout, shared by the DynamoDB adapter, the CDK stack and the local seeder.
 * One table, partition key only:
 *   customer items  pk = `USER#<userId>`      userId, email, emailLower, name, role, plan, value, attributes, actions
 *   session items   pk = `SESSION#<sessionId>` userId, expiresAt (TTL, epoch seconds)
 * Email lookups go through the `byEmail` index on `emailLower`.
 */
export const CUSTOMERS_TABLE = {
  partitionKey: 'pk',
  emailIndex: 'byEmail',
  emailIndexKey: 'emailLower',
  ttlAttribute: 'expiresAt',
  userKey: (userId: string) => `USER#${userId}`,
  sessionKey: (sessionId: string) => `SESSION#${sessionId}`,
  /** How long a recorded session keeps identifying its user unless the caller says otherwise. */
  defaultSessionTtlSeconds: 7 * 24 * 3600,
  /**
   * DynamoDB's limit on a partition key value (the table's and the email index's), in UTF-8 bytes. No
   * item can have a longer key, so a lookup by one is "unknown", not a ValidationException (a 503).
   */
  maxKeyBytes: 2048,
} as const;

/** Whether a key value can exist in the table at all. */
export function fitsKey(key: string): boolean {
  return Buffer.byteLength(key, 'utf8') <= CUSTOMERS_TABLE.maxKeyBytes;
}

/**
 * The de-duplication table: one item per delivered (or in-flight) webhook event.
 *   pk = dedupe key, status = IN_PROGRESS | DELIVERED, leaseUntil (epoch ms), expiresAt (TTL, epoch seconds)
 */
export const DEDUPE_TABLE = {
  partitionKey: 'pk',
  ttlAttribute: 'expiresAt',
  /** Platforms retry for hours at most; a day covers every retry schedule in their docs. */
  retentionSeconds: 24 * 3600,
  /** How long an in-flight delivery holds its key before a retry may take it over. */
  leaseSeconds: 30,
} as const;
