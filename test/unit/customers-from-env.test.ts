import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ENV } from '../../shared/config.js';
import { DynamoDbDirectory } from '../../shared/customers/dynamodb.js';
import { DirectoryConfigError, directoryFromEnv, parseCustomerProfiles, seedCustomers } from '../../shared/customers/from-env.js';
import { HttpDirectory } from '../../shared/customers/http.js';
import type { CustomerDirectory } from '../../shared/customers/profile.js';
import { createCustomersTable, LOCAL_AWS_ENV, startDynamoStandIn, type DynamoStandIn } from '../../local/stand-ins/dynamodb.js';

async function expectEveryLookupRejects(directory: CustomerDirectory, message: RegExp): Promise<void> {
  for (const lookup of [directory.findByUserId('u'), directory.findBySessionId('s'), directory.findByEmail('e@example.com')]) {
    await expect(lookup).rejects.toThrow(message);
    await expect(lookup).rejects.toBeInstanceOf(DirectoryConfigError);
  }
}

describe('directoryFromEnv', () => {
  it('CUSTOMER_DIRECTORY unset means dynamodb, reading CUSTOMERS_TABLE', () => {
    const directory = directoryFromEnv({ [ENV.customersTable]: 'customers' });
    expect(directory).toBeInstanceOf(DynamoDbDirectory);
    expect((directory as DynamoDbDirectory).tableName).toBe('customers');
    expect(directoryFromEnv({ [ENV.directory]: ' DynamoDB ', [ENV.customersTable]: 'customers' })).toBeInstanceOf(DynamoDbDirectory);
  });

  it('CUSTOMER_DIRECTORY=http builds the HTTP directory from CUSTOMER_API_URL', () => {
    const env = { [ENV.directory]: 'http', [ENV.directoryUrl]: 'https://users.internal.example.com/v1', [ENV.directoryTokenSecretId]: 'api-token' };
    expect(directoryFromEnv(env)).toBeInstanceOf(HttpDirectory);
    expect(directoryFromEnv({ [ENV.directory]: 'http', [ENV.directoryUrl]: 'https://users.internal.example.com' })).toBeInstanceOf(HttpDirectory);
  });

  it('a missing CUSTOMERS_TABLE does not throw: every lookup rejects naming the variable', async () => {
    await expectEveryLookupRejects(directoryFromEnv({}), /CUSTOMERS_TABLE is not set/);
  });

  it('a missing or invalid CUSTOMER_API_URL does not throw: every lookup rejects naming the variable', async () => {
    await expectEveryLookupRejects(directoryFromEnv({ [ENV.directory]: 'http' }), /CUSTOMER_API_URL is not set/);
    await expectEveryLookupRejects(directoryFromEnv({ [ENV.directory]: 'http', [ENV.directoryUrl]: 'users.internal' }), /CUSTOMER_API_URL is not a valid/);
  });

  it('an unknown CUSTOMER_DIRECTORY rejects naming the choices', async () => {
    await expectEveryLookupRejects(directoryFromEnv({ [ENV.directory]: 'ldap', [ENV.customersTable]: 'customers' }), /dynamodb, http/);
  });
});

describe('parseCustomerProfiles', () => {
  it('accepts local/customers.json', async () => {
    const parsed = parseCustomerProfiles(JSON.parse(await readFile('local/customers.json', 'utf8')));
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(parsed.value.length).toBeGreaterThan(0);
  });

  it('names the bad entry by index and user id', () => {
    expect(parseCustomerProfiles([{ userId: 'usr_a' }, { userId: 'usr_b', value: 'x' }])).toEqual({
      ok: false,
      error: 'customers[1] (userId "usr_b"): `value` must be a finite number',
    });
    expect(parseCustomerProfiles([{ name: 'no id' }])).toEqual({ ok: false, error: 'customers[0]: `userId` must be a non-empty string' });
    expect(parseCustomerProfiles({ userId: 'usr_a' })).toMatchObject({ ok: false, error: expect.stringMatching(/array/) });
    expect(parseCustomerProfiles([{ userId: 'usr_a', actions: { Profile: 42 } }])).toMatchObject({ ok: false, error: expect.stringMatching(/actions/) });
    expect(parseCustomerProfiles([{ userId: 'usr_a', sessionIds: 'sess_1' }])).toMatchObject({ ok: false, error: expect.stringMatching(/sessionIds/) });
  });

  it('refuses duplicate user ids, session ids and (case-insensitive) emails', () => {
    expect(parseCustomerProfiles([{ userId: 'usr_a' }, { userId: 'usr_a' }])).toMatchObject({ ok: false, error: expect.stringMatching(/customers\[1\].*userId "usr_a" is already used by customers\[0\]/) });
    expect(parseCustomerProfiles([{ userId: 'usr_a', sessionIds: ['s1'] }, { userId: 'usr_b', sessionIds: ['s1'] }])).toMatchObject({ ok: false, error: expect.stringMatching(/session id "s1"/) });
    expect(parseCustomerProfiles([{ userId: 'usr_a', email: 'A@x.com' }, { userId: 'usr_b', email: 'a@X.com' }])).toMatchObject({ ok: false, error: expect.stringMatching(/email/) });
  });
});

describe('seedCustomers + directoryFromEnv against dynalite (the local server\'s path)', () => {
  let dynamo: DynamoStandIn;

  beforeAll(async () => {
    dynamo = await startDynamoStandIn();
    await createCustomersTable(dynamo.client, 'local-customers');
    for (const [name, value] of Object.entries(LOCAL_AWS_ENV)) vi.stubEnv(name, value);
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', dynamo.endpoint);
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await dynamo?.close();
  });

  it('every profile in local/customers.json is found by user id, email and each of its sessions', async () => {
    const parsed = parseCustomerProfiles(JSON.parse(await readFile('local/customers.json', 'utf8')));
    if (!parsed.ok) throw new Error(parsed.error);
    await seedCustomers(new DynamoDbDirectory({ tableName: 'local-customers', client: dynamo.client }), parsed.value);

    const directory = directoryFromEnv({ [ENV.customersTable]: 'local-customers' });
    for (const { sessionIds, ...profile } of parsed.value) {
      await expect(directory.findByUserId(profile.userId)).resolves.toEqual(profile);
      if (profile.email) await expect(directory.findByEmail(profile.email.toUpperCase())).resolves.toEqual(profile);
      for (const sessionId of sessionIds ?? []) await expect(directory.findBySessionId(sessionId)).resolves.toEqual(profile);
    }
  });
});
