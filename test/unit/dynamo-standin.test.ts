import { describe, expect, it } from 'vitest';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { createCustomersTable, createDedupeTable, startDynamoStandIn } from '../../local/stand-ins/dynamodb.js';

describe('dynalite stand-in', () => {
  it('creates the customers and de-duplication tables over the real wire protocol', async () => {
    const dynamo = await startDynamoStandIn();
    try {
      await createCustomersTable(dynamo.client, 'customers');
      await createCustomersTable(dynamo.client, 'customers'); // idempotent
      await createDedupeTable(dynamo.client, 'dedupe');
      const described = await dynamo.client.send(new DescribeTableCommand({ TableName: 'customers' }));
      expect(described.Table?.GlobalSecondaryIndexes?.[0]?.IndexName).toBe('byEmail');
    } finally {
      await dynamo.close();
    }
  });
});
