import { hmacSha256 } from './verify.js';

/**
 * The Standard Webhooks scheme (standardwebhooks.com; Svix delivers with it): the sender signs
 * `${webhook-id}.${webhook-timestamp}.${body}` with HMAC-SHA256 and sends `v1,<base64>` entries,
 * space-separated, in `webhook-signature`; the secret is `whsec_` + the key's bytes in base64.
 */
export const STANDARD_WEBHOOKS_HEADERS = {
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
} as const;

/** The spec's tolerance for `webhook-timestamp`, in both directions. */
export const STANDARD_WEBHOOKS_TOLERANCE_SECONDS = 300;

const SECRET_PREFIX = 'whsec_';

/** The HMAC key a `whsec_…` secret stands for (a secret without the prefix is the base64 key itself). */
export function standardWebhooksKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
}

/** The bytes the sender signed. */
export function standardWebhooksContent(id: string, timestamp: string, body: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`${id}.${timestamp}.`, 'utf8'), body]);
}

/**
 * The `v1` signatures in the header's values. Entries of other versions (`v1a`, a future `v2`) are
 * ignored. API Gateway HTTP APIs and function URLs join a repeated header with commas, which the
 * entries contain too, so an entry is found by its `v1,` start after a space, a comma or the start.
 */
export function v1Signatures(values: readonly string[]): string[] {
  return values.flatMap((value) => [...value.matchAll(/(?:^|[\s,])v1,([^\s,]+)/g)].map((match) => match[1]!));
}

/** A `webhook-signature` entry for a delivery: what a sender (the send CLI, a test) puts in the header. */
export function signStandardWebhook(secret: string, id: string, timestamp: string, body: Uint8Array | string): string {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return `v1,${hmacSha256(standardWebhooksKey(secret), standardWebhooksContent(id, timestamp, bytes)).toString('base64')}`;
}
