import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbDirectory } from '../../shared/customers/dynamodb.js';
import type { CustomerProfile } from '../../shared/customers/profile.js';
import { recordSession } from '../../shared/customers/record-session.js';
import { CUSTOMERS_TABLE } from '../../shared/customers/table.js';
import { createCustomersTable, LOCAL_AWS_ENV, startDynamoStandIn, type DynamoStandIn } from '../../local/stand-ins/dynamodb.js';

const TABLE = 'customers-test';

const ADA: CustomerProfile = {
  userId: 'usr_ada',
  email: 'Ada@Example.com',
  name: 'Ada Lovelace',
  role: 'customer',
  plan: 'pro',
  value: 4200,
  attributes: { company: 'Analytical Engines Ltd', mrr: 149, seats: 5, billingAddress: { city: 'London' }, tags: ['a', 'b'] },
  actions: { Profile: 'https://admin.example.com/users/usr_ada' },
};

/** A port nothing listens on: bound, read, released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('DynamoDbDirectory against dynalite (real SDK, AWS_ENDPOINT_URL_DYNAMODB)', () => {
  let dynamo: DynamoStandIn;
  let directory: DynamoDbDirectory;
  let documents: DynamoDBDocumentClient;

  beforeAll(async () => {
    dynamo = await startDynamoStandIn();
    await createCustomersTable(dynamo.client, TABLE);
    for (const [name, value] of Object.entries(LOCAL_AWS_ENV)) vi.stubEnv(name, value);
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', dynamo.endpoint);
    // The default client (short timeouts, endpoint from the SDK's standard override): what the Lambda runs.
    directory = new DynamoDbDirectory({ tableName: TABLE });
    documents = DynamoDBDocumentClient.from(dynamo.client);
    await directory.putCustomer({ ...ADA, sessionIds: ['sess_ignored_on_the_item'] });
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await dynamo?.close();
  });

  it('finds a customer by user id, numbers and nested attributes intact', async () => {
    const found = await directory.findByUserId('usr_ada');
    expect(found).toEqual(ADA);
    expect(typeof found?.value).toBe('number');
    expect(typeof found?.attributes?.mrr).toBe('number');
  });

  it('writes the table layout: USER# key, emailLower for the index, no session list on the customer item', async () => {
    const raw = await dynamo.client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'USER#usr_ada' } } }));
    expect(raw.Item?.[CUSTOMERS_TABLE.emailIndexKey]).toEqual({ S: 'ada@example.com' });
    expect(raw.Item?.value).toEqual({ N: '4200' });
    expect(raw.Item?.sessionIds).toBeUndefined();
  });

  it('finds a customer by email, case-insensitively and ignoring surrounding spaces', async () => {
    await expect(directory.findByEmail('  ADA@example.COM ')).resolves.toEqual(ADA);
    await expect(directory.findByEmail('ada@example.com')).resolves.toEqual(ADA);
  });

  it('finds a customer by a session recorded with recordSession()', async () => {
    await recordSession({ tableName: TABLE, sessionId: 'sess_1', userId: 'usr_ada', client: dynamo.client });
    await expect(directory.findBySessionId('sess_1')).resolves.toEqual(ADA);
  });

  it('recordSession() without a client uses the default one (endpoint from the environment)', async () => {
    await recordSession({ tableName: TABLE, sessionId: 'sess_default_client', userId: 'usr_ada', ttlSeconds: 60 });
    await expect(directory.findBySessionId('sess_default_client')).resolves.toEqual(ADA);
  });

  it('writes the session item with a TTL in epoch seconds', async () => {
    const now = Date.UTC(2030, 0, 1);
    const clocked = new DynamoDbDirectory({ tableName: TABLE, client: dynamo.client, now: () => now });
    await clocked.recordSession('sess_ttl', 'usr_ada', { ttlSeconds: 3600 });
    const raw = await dynamo.client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'SESSION#sess_ttl' } } }));
    expect(raw.Item).toEqual({ pk: { S: 'SESSION#sess_ttl' }, userId: { S: 'usr_ada' }, expiresAt: { N: String(now / 1000 + 3600) } });
  });

  it('ignores an expired session whose item TTL deletion has not removed yet', async () => {
    const expiresAt = Math.floor(Date.now() / 1000) - 60;
    await documents.send(new PutCommand({ TableName: TABLE, Item: { pk: 'SESSION#sess_expired', userId: 'usr_ada', expiresAt } }));
    await expect(directory.findBySessionId('sess_expired')).resolves.toBeUndefined();
  });

  it('a session stops identifying its user once its TTL passes', async () => {
    let now = Date.now();
    const clocked = new DynamoDbDirectory({ tableName: TABLE, client: dynamo.client, now: () => now });
    await clocked.recordSession('sess_short', 'usr_ada', { ttlSeconds: 60 });
    await expect(clocked.findBySessionId('sess_short')).resolves.toEqual(ADA);
    now += 61_000;
    await expect(clocked.findBySessionId('sess_short')).resolves.toBeUndefined();
  });

  it('unknown user, session, email (and empty keys) are undefined, not errors', async () => {
    await expect(directory.findByUserId('usr_nobody')).resolves.toBeUndefined();
    await expect(directory.findBySessionId('sess_nobody')).resolves.toBeUndefined();
    await expect(directory.findByEmail('nobody@example.com')).resolves.toBeUndefined();
    await expect(directory.findByUserId('')).resolves.toBeUndefined();
    await expect(directory.findBySessionId('')).resolves.toBeUndefined();
    await expect(directory.findByEmail('   ')).resolves.toBeUndefined();
  });

  it('talki-backend-connect.txt: a userToken (or session id, or email) longer than DynamoDB’s 2048-byte key limit is unknown (404), not a ValidationException (503)', async () => {
    const long = 'u'.repeat(CUSTOMERS_TABLE.maxKeyBytes);
    // The stand-in refuses such a key as DynamoDB does: this is what the lookup would otherwise meet.
    await expect(documents.send(new PutCommand({ TableName: TABLE, Item: { [CUSTOMERS_TABLE.partitionKey]: CUSTOMERS_TABLE.userKey(long) } }))).rejects.toThrow();
    await expect(directory.findByUserId(long)).resolves.toBeUndefined();
    await expect(directory.findBySessionId(long)).resolves.toBeUndefined();
    await expect(directory.findByEmail(`${'e'.repeat(2_100)}@example.com`)).resolves.toBeUndefined();
    // Multi-byte characters count as their UTF-8 bytes.
    await expect(directory.findByUserId('é'.repeat(1_100))).resolves.toBeUndefined();
  });

  it('a session whose customer item is gone is undefined', async () => {
    await directory.recordSession('sess_orphan', 'usr_deleted');
    await expect(directory.findBySessionId('sess_orphan')).resolves.toBeUndefined();
  });

  it('a customer without an email is not in the email index', async () => {
    await directory.putCustomer({ userId: 'usr_no_email', name: 'No Email' });
    const raw = await dynamo.client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'USER#usr_no_email' } } }));
    expect(raw.Item?.[CUSTOMERS_TABLE.emailIndexKey]).toBeUndefined();
    await expect(directory.findByUserId('usr_no_email')).resolves.toEqual({ userId: 'usr_no_email', name: 'No Email' });
  });

  it('a stored item that is not a valid profile throws (the handler answers 503), naming the field only', async () => {
    await documents.send(new PutCommand({ TableName: TABLE, Item: { pk: 'USER#usr_bad', userId: 'usr_bad', value: 'lots' } }));
    await expect(directory.findByUserId('usr_bad')).rejects.toThrow(/`value` must be a finite number/);
  });

  it('rejects bad input to the writers instead of writing a broken item', async () => {
    await expect(directory.recordSession('', 'usr_ada')).rejects.toThrow(TypeError);
    await expect(directory.recordSession('sess_x', 'usr_ada', { ttlSeconds: 0 })).rejects.toThrow(RangeError);
    await expect(directory.putCustomer({ userId: '' })).rejects.toThrow(/userId/);
  });

  it('an aborted signal rejects every lookup', async () => {
    const controller = new AbortController();
    controller.abort(new Error('deadline passed'));
    const options = { signal: controller.signal };
    await expect(directory.findByUserId('usr_ada', options)).rejects.toThrow('deadline passed');
    await expect(directory.findBySessionId('sess_1', options)).rejects.toThrow('deadline passed');
    await expect(directory.findByEmail('ada@example.com', options)).rejects.toThrow('deadline passed');
  });

  it('passes the signal to the SDK: aborting mid-request rejects', async () => {
    const controller = new AbortController();
    const pending = directory.findByUserId('usr_ada', { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toThrow();
  });

  it('an unreachable endpoint throws (the handler maps it to 503)', async () => {
    const port = await closedPort();
    const client = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: LOCAL_AWS_ENV.AWS_REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    const unreachable = new DynamoDbDirectory({ tableName: TABLE, client });
    try {
      await expect(unreachable.findByUserId('usr_ada')).rejects.toThrow();
      await expect(unreachable.findBySessionId('sess_1')).rejects.toThrow();
      await expect(unreachable.findByEmail('ada@example.com')).rejects.toThrow();
    } finally {
      client.destroy();
    }
  });

  it('the default client (one retry, short timeouts) also throws for an unreachable endpoint', async () => {
    const port = await closedPort();
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', `http://127.0.0.1:${port}`);
    try {
      const unreachable = new DynamoDbDirectory({ tableName: TABLE });
      const started = Date.now();
      await expect(unreachable.findByUserId('usr_ada')).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(8_000);
    } finally {
      vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', dynamo.endpoint);
    }
  });

  it('a missing table throws rather than answering "not found"', async () => {
    const missing = new DynamoDbDirectory({ tableName: 'no-such-table', client: dynamo.client });
    await expect(missing.findByUserId('usr_ada')).rejects.toThrow(/not found|ResourceNotFound/i);
  });
});
