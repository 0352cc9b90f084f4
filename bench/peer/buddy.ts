import { createHmac, timingSafeEqual } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';

/**
 * The peer in the benchmark (not deployed): Buddy's identity callback as an AWS user writes it
 * today with Powertools, following its docs: a SecretsProvider (cached for 300 s) and a Logger
 * created once per container, node:crypto for the HMAC, the DynamoDB document client for the
 * session and the user. Same contract as functions/buddy (shared/providers/buddy-identity-callback.txt):
 * hex HMAC-SHA256 of the raw body in X-Platform-Signature, body timestamp within ±300 s,
 * `{ userId, email?, role?, customAttributes? }`, 404 for an unknown session.
 *
 * The lookup is passed in so the warm benchmark can stub it as it stubs ours; `handler` is wired to
 * DynamoDB, as deployed.
 */
export interface Customer {
  readonly userId: string;
  readonly email?: string;
  readonly role?: string;
  readonly plan?: string;
  readonly value?: number;
  readonly attributes?: Record<string, unknown>;
}

export type FindBySession = (sessionId: string) => Promise<Customer | undefined>;

const logger = new Logger({ serviceName: 'buddy-identity-callback' });
const secretsProvider = new SecretsProvider();

const answer = (statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

export function createBuddyHandler(findBySession: FindBySession) {
  return async (event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    logger.addContext(context);
    const body = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
    const secrets = await secretsProvider.get<{ signingSecret: string }>(process.env.SIGNING_SECRET_ID!, { maxAge: 300, transform: 'json' });
    const expected = createHmac('sha256', secrets?.signingSecret ?? '').update(body).digest();
    const received = Buffer.from(event.headers['x-platform-signature'] ?? '', 'hex');
    if (received.length !== expected.length || !timingSafeEqual(received, expected)) {
      logger.warn('invalid signature');
      return answer(401, { error: 'Invalid signature' });
    }

    let request: { sessionId?: unknown; timestamp?: unknown };
    try {
      request = JSON.parse(body.toString('utf8'));
    } catch {
      return answer(400, { error: 'Body is not valid JSON' });
    }
    if (Math.abs(Date.now() / 1000 - Number(request.timestamp)) > 300) {
      logger.warn('stale timestamp');
      return answer(401, { error: 'Stale timestamp' });
    }
    if (typeof request.sessionId !== 'string' || request.sessionId.length === 0) return answer(400, { error: 'sessionId must be a non-empty string' });

    const customer = await findBySession(request.sessionId);
    if (!customer) {
      logger.info('unknown session');
      return answer(404, { error: 'Unknown session' });
    }
    logger.info('identity resolved', { userId: customer.userId });
    return answer(200, {
      userId: customer.userId,
      email: customer.email,
      role: customer.role,
      customAttributes: { plan: customer.plan, lifetimeValue: customer.value, ...customer.attributes },
    });
  };
}

const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({}));

async function findBySessionInDynamoDb(sessionId: string): Promise<Customer | undefined> {
  const TableName = process.env.CUSTOMERS_TABLE;
  const session = await documentClient.send(new GetCommand({ TableName, Key: { pk: `SESSION#${sessionId}` }, ConsistentRead: true }));
  const userId = session.Item?.userId;
  if (typeof userId !== 'string' || Number(session.Item?.expiresAt) * 1000 <= Date.now()) return undefined;
  const user = await documentClient.send(new GetCommand({ TableName, Key: { pk: `USER#${userId}` } }));
  return user.Item as Customer | undefined;
}

export const handler = createBuddyHandler(findBySessionInDynamoDb);
