import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { sdkClientConfig } from './client-config.js';

/**
 * The DynamoDB client the customers directory and the delivery ledger use unless given one. A file
 * of its own so the ledger can share it without importing the directory (and its document client).
 */
export function defaultDynamoDbClient(): DynamoDBClient {
  return new DynamoDBClient(sdkClientConfig(1_500));
}
