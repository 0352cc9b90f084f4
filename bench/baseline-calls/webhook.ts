import { randomUUID } from 'node:crypto';
import { DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { answer, verifies } from '../baseline-handler.js';

/**
 * Informational row of bench/cold-start.ts: the baseline plus the calls a webhook's promise adds
 * (forwarded once: a conditional PutItem claiming the delivery, PutEvents, an UpdateItem marking it
 * delivered), nothing of ours. Its distance to the baseline is the part of a webhook's cold first
 * request that any implementation of the promise pays.
 */
const dynamodb = new DynamoDBClient({});
const eventbridge = new EventBridgeClient({});

export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const valid = await verifies(event);
  if (valid) {
    const TableName = process.env.DEDUPE_TABLE;
    const Key = { pk: { S: randomUUID() } };
    await dynamodb.send(new PutItemCommand({ TableName, Item: { ...Key, status: { S: 'IN_PROGRESS' } }, ConditionExpression: 'attribute_not_exists(pk)' }));
    await eventbridge.send(new PutEventsCommand({ Entries: [{ EventBusName: process.env.EVENT_BUS_NAME, Source: 'bench.baseline', DetailType: 'baseline', Detail: event.body ?? '{}' }] }));
    await dynamodb.send(new UpdateItemCommand({ TableName, Key, UpdateExpression: 'SET #s = :d', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':d': { S: 'DELIVERED' } } }));
  }
  return answer(valid);
}
