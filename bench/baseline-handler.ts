import { createHmac, timingSafeEqual } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/**
 * The cold-start baseline (bench/cold-start.ts): the least a Lambda function that checks one
 * signature can do. It imports only the Secrets Manager client, fetches one secret on its first
 * request and checks one HMAC-SHA256 (Talki's rule: hex of the raw body in X-Talki-Signature).
 * No cache, no routing, no log line: every real receiver does more.
 */
const client = new SecretsManagerClient({});

/** Fetches the secret and checks the request's signature: the baseline's whole work, also the first step of bench/baseline-calls.ts. */
export async function verifies(event: APIGatewayProxyEventV2): Promise<boolean> {
  const secret = await client.send(new GetSecretValueCommand({ SecretId: process.env.SIGNING_SECRET_ID }));
  const key = (JSON.parse(secret.SecretString ?? '{}') as { signingSecret?: string }).signingSecret ?? '';
  const body = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
  const expected = createHmac('sha256', key).update(body).digest();
  const received = Buffer.from(event.headers['x-talki-signature'] ?? '', 'hex');
  return received.length === expected.length && timingSafeEqual(received, expected);
}

export function answer(valid: boolean): APIGatewayProxyStructuredResultV2 {
  return { statusCode: valid ? 200 : 401, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ valid }) };
}

export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  return answer(await verifies(event));
}
