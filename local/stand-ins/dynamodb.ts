import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { CreateTableCommand, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { CUSTOMERS_TABLE, DEDUPE_TABLE } from '../../shared/customers/table.js';

/**
 * dynalite: a DynamoDB implementation (LevelDB in memory) that speaks the real wire protocol.
 * Local runs and tests point the real SDK at it through AWS_ENDPOINT_URL_DYNAMODB.
 */
const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: Record<string, unknown>) => Server;

export interface DynamoStandIn {
  /** e.g. http://127.0.0.1:54321: the value for AWS_ENDPOINT_URL_DYNAMODB. */
  readonly endpoint: string;
  /** A client pointed at the stand-in, with dummy credentials. */
  readonly client: DynamoDBClient;
  close(): Promise<void>;
}

export const LOCAL_AWS_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
} as const;

/** An SDK client's settings for a local stand-in at `endpoint`: the local region and dummy credentials. */
export function localClientConfig(endpoint: string) {
  return {
    endpoint,
    region: LOCAL_AWS_ENV.AWS_REGION,
    credentials: { accessKeyId: LOCAL_AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: LOCAL_AWS_ENV.AWS_SECRET_ACCESS_KEY },
  };
}

export async function startDynamoStandIn(port = 0, host = '127.0.0.1'): Promise<DynamoStandIn> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const endpoint = `http://${host}:${address.port}`;
  const client = new DynamoDBClient(localClientConfig(endpoint));
  return {
    endpoint,
    client,
    close: () =>
      new Promise<void>((resolve) => {
        client.destroy();
        server.close(() => resolve());
      }),
  };
}

async function createIfMissing(client: DynamoDBClient, command: CreateTableCommand): Promise<void> {
  try {
    await client.send(command);
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
}

/** The customers table as the CDK stack defines it (see shared/customers/table.ts). */
export async function createCustomersTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await createIfMissing(
    client,
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: CUSTOMERS_TABLE.partitionKey, AttributeType: 'S' },
        { AttributeName: CUSTOMERS_TABLE.emailIndexKey, AttributeType: 'S' },
      ],
      KeySchema: [{ AttributeName: CUSTOMERS_TABLE.partitionKey, KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        {
          IndexName: CUSTOMERS_TABLE.emailIndex,
          KeySchema: [{ AttributeName: CUSTOMERS_TABLE.emailIndexKey, KeyType: 'HASH' }],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
}

/** The de-duplication table as the CDK stack defines it. */
export async function createDedupeTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await createIfMissing(
    client,
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: DEDUPE_TABLE.partitionKey, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: DEDUPE_TABLE.partitionKey, KeyType: 'HASH' }],
    }),
  );
}
