import type { HttpRequest } from '../http/request.js';
import type { HmacSignatureRule, SignatureRule } from '../providers.js';
import { STANDARD_WEBHOOKS_HEADERS, standardWebhooksContent, standardWebhooksKey, v1Signatures } from './standard-webhooks.js';
import { decodeSignatures, type SignedMessage, type SigningKey } from './verify.js';

/**
 * What each signature scheme reads off a request, before any secret is needed: the signature values
 * and the bytes they sign, or why the request cannot be verified at all (answered 401 or 400 without
 * touching Secrets Manager). And the HMAC key a configured secret stands for under the scheme.
 */

/** What a request carries to be verified under its provider's scheme, or why it cannot be (answered without any secret). */
export type SignedParts =
  | { readonly ok: true; readonly digests: readonly Buffer[]; readonly message: SignedMessage }
  | { readonly ok: false; readonly reason: 'missing' | 'malformed' | 'malformed_timestamp_header' };

/** Signature values from the header, with the platform's prefix (such as `Bearer `) removed. */
export function signatureValues(request: HttpRequest, header: string, prefix: string | undefined): string[] {
  const values = request.headers.all(header);
  if (!prefix) return values;
  const lowerPrefix = `${prefix.trim().toLowerCase()} `;
  return values.map((value) => (value.toLowerCase().startsWith(lowerPrefix) ? value.slice(lowerPrefix.length).trim() : value));
}

/** The signature header's values and the bytes the platform signed as they arrived: the body, or the raw query. */
function hmacParts(rule: HmacSignatureRule, request: HttpRequest, header: string): SignedParts {
  const decoded = decodeSignatures(signatureValues(request, header, rule.prefix), rule.encoding);
  if (!decoded.ok) return decoded;
  return { ok: true, digests: decoded.digests, message: rule.signs === 'body' ? request.rawBody : request.rawQuery };
}

/** The three Standard Webhooks headers, each required; the signed content is the id, the timestamp and the body. */
function standardWebhooksParts(request: HttpRequest): SignedParts {
  const id = request.headers.single(STANDARD_WEBHOOKS_HEADERS.id);
  const timestamp = request.headers.single(STANDARD_WEBHOOKS_HEADERS.timestamp);
  const signatureHeaderValues = request.headers.raw(STANDARD_WEBHOOKS_HEADERS.signature);
  if (id === undefined || timestamp === undefined || signatureHeaderValues.every((value) => value.trim() === '')) return { ok: false, reason: 'missing' };
  // Whole seconds, as the spec writes them; signed as sent, so no other spelling of the number is accepted.
  if (!/^(0|[1-9]\d{0,14})$/.test(timestamp)) return { ok: false, reason: 'malformed_timestamp_header' };
  // A header with no v1 entry of a digest's shape (only `v1a` entries, say) has nothing this scheme can check.
  const decoded = decodeSignatures(v1Signatures(signatureHeaderValues), 'base64');
  if (!decoded.ok) return { ok: false, reason: 'malformed' };
  return { ok: true, digests: decoded.digests, message: standardWebhooksContent(id, timestamp, request.rawBody) };
}

/** The signatures (decoded) and signed bytes a request carries under `rule`; `header` is the HMAC scheme's header as configured. */
export function signedParts(rule: SignatureRule, request: HttpRequest, header: string): SignedParts {
  return rule.scheme === 'standard-webhooks' ? standardWebhooksParts(request) : hmacParts(rule, request, header);
}

/** The HMAC key a configured secret stands for: its text, or the bytes a `whsec_` secret encodes. */
export function signingKey(rule: SignatureRule, secret: string): SigningKey {
  return rule.scheme === 'standard-webhooks' ? standardWebhooksKey(secret) : secret;
}
