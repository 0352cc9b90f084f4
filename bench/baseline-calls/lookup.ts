import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { answer, verifies } from '../baseline-handler.js';

/**
 * Informational row of bench/cold-start.ts: the baseline plus the call a lookup's contract adds (one
 * DynamoDB client and one GetItem of the customer), nothing of ours. Its distance to the baseline is
 * the part of a lookup's cold first request that any implementation of the contract pays.
 */
const dynamodb = new DynamoDBClient({});

export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const valid = await verifies(event);
  if (valid) {
    const { userToken } = JSON.parse(event.body ?? '{}') as { userToken?: string };
    await dynamodb.send(new GetItemCommand({ TableName: process.env.CUSTOMERS_TABLE, Key: { pk: { S: `USER#${userToken}` } } }));
  }
  return answer(valid);
}
