import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { startDynamoStandIn, type DynamoStandIn } from '../../local/stand-ins/dynamodb.js';

/**
 * dynalite for the enclosing `describe` block: started before its tests with the tables `prepare`
 * creates (and any seed data), closed after them. Call the returned function inside a test or a later hook.
 */
export function useDynalite(prepare: (client: DynamoDBClient) => Promise<void>): () => DynamoStandIn {
  let dynamo: DynamoStandIn | undefined;
  beforeAll(async () => {
    dynamo = await startDynamoStandIn();
    await prepare(dynamo.client);
  });
  afterAll(async () => {
    await dynamo?.close();
  });
  return () => {
    if (!dynamo) throw new Error('dynalite is not running: use it inside a test or a hook');
    return dynamo;
  };
}
