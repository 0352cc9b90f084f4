import { createHmac, timingSafeEqual } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';

/**
 * The peer in the benchmark (not deployed): Bullseye's partner webhooks as an AWS user writes them
 * today with Powertools, following its docs: a SecretsProvider (cached for 300 s) and a Logger
 * created once per container, node:crypto for the HMAC, a conditional PutItem so each event id is
 * forwarded once, then PutEvents. Same contract as functions/bullseye
 * (shared/providers/bullseye-webhooks.txt): one secret key per route, hex HMAC-SHA256 of the raw
 * body in X-Bullseye-Signature, 200 once the event is on the bus (or was already), 503 to retry.
 *
 * Claim, release and publish are passed in so the warm benchmark can stub them as it stubs ours;
 * `handler` is wired to DynamoDB and EventBridge, as deployed.
 */
export interface BullseyeDeps {
  /** false when the event id was claimed before (a retry of a delivered event). */
  claim(eventId: string): Promise<boolean>;
  release(eventId: string): Promise<void>;
  publish(detailType: string, detail: string): Promise<void>;
}

const logger = new Logger({ serviceName: 'bullseye-webhooks' });
const secretsProvider = new SecretsProvider();

const SECRET_KEY_BY_PATH: Record<string, string> = { '/bullseye/identification': 'identification', '/bullseye/billing': 'billing' };

const answer = (statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

export function createBullseyeHandler(deps: BullseyeDeps) {
  return async (event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    logger.addContext(context);
    const secretKey = SECRET_KEY_BY_PATH[event.rawPath];
    if (!secretKey) return answer(404, { error: 'Not found' });
    const body = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
    const secrets = await secretsProvider.get<Record<string, string>>(process.env.SIGNING_SECRET_ID!, { maxAge: 300, transform: 'json' });
    const expected = createHmac('sha256', secrets?.[secretKey] ?? '').update(body).digest();
    const received = Buffer.from(event.headers['x-bullseye-signature'] ?? '', 'hex');
    if (received.length !== expected.length || !timingSafeEqual(received, expected)) {
      logger.warn('invalid signature');
      return answer(401, { error: 'Invalid signature' });
    }

    let payload: { id?: unknown; type?: unknown };
    try {
      payload = JSON.parse(body.toString('utf8'));
    } catch {
      return answer(400, { error: 'Body is not valid JSON' });
    }
    if (typeof payload.id !== 'string' || typeof payload.type !== 'string') return answer(400, { error: 'id and type are required' });

    if (!(await deps.claim(payload.id))) {
      logger.info('duplicate event', { eventId: payload.id });
      return answer(200, { received: true });
    }
    try {
      await deps.publish(payload.type, JSON.stringify(payload));
    } catch (error) {
      logger.error('event not delivered', error as Error);
      await deps.release(payload.id);
      return answer(503, { error: 'Event not delivered; retry later' });
    }
    logger.info('event forwarded', { eventId: payload.id, eventType: payload.type });
    return answer(200, { received: true });
  };
}

const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const eventBridge = new EventBridgeClient({});

export const handler = createBullseyeHandler({
  async claim(eventId) {
    try {
      await documentClient.send(
        new PutCommand({
          TableName: process.env.DEDUPE_TABLE,
          Item: { pk: `bullseye#${eventId}`, expiresAt: Math.floor(Date.now() / 1000) + 86_400 },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  },
  async release(eventId) {
    await documentClient.send(new DeleteCommand({ TableName: process.env.DEDUPE_TABLE, Key: { pk: `bullseye#${eventId}` } }));
  },
  async publish(detailType, detail) {
    const result = await eventBridge.send(
      new PutEventsCommand({ Entries: [{ EventBusName: process.env.EVENT_BUS_NAME, Source: 'webhooks.bullseye', DetailType: detailType, Detail: detail }] }),
    );
    if (result.FailedEntryCount) throw new Error(result.Entries?.[0]?.ErrorMessage ?? 'PutEvents failed');
  },
});
