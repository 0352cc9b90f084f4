import { createHmac, timingSafeEqual } from 'node:crypto';

export type SignatureEncoding = 'hex' | 'base64';

export type VerifyFailureReason = 'missing' | 'malformed' | 'mismatch' | 'no_secret';

export type VerifyResult =
  | {
      readonly ok: true;
      /** Which candidate secret matched: tells rotation which version is in use. */
      readonly secretIndex: number;
      /** Which candidate message matched (0 = the bytes as sent). */
      readonly messageIndex: number;
    }
  | { readonly ok: false; readonly reason: VerifyFailureReason };

export interface VerifyInput {
  /**
   * Candidate signed messages, the bytes as sent first. Iterated lazily, so a fallback form
   * (a re-serialisation) is only computed when the bytes as sent did not verify.
   */
  readonly messages: Iterable<Uint8Array>;
  /** Signature values as received (several when a header was repeated). */
  readonly signatures: readonly string[];
  readonly secrets: readonly string[];
  readonly encoding: SignatureEncoding;
}

const DIGEST_BYTES = 32;
const HEX_SIGNATURE = /^[0-9a-fA-F]{64}$/;
// Standard or URL-safe alphabet, padding optional: 32 bytes are 43 characters plus one '='.
const BASE64_SIGNATURE = /^[A-Za-z0-9+/\-_]{43}=?$/;

/** Decodes a signature to its 32 digest bytes, or undefined when it cannot be one. */
export function decodeSignature(signature: string, encoding: SignatureEncoding): Buffer | undefined {
  const text = signature.trim();
  if (encoding === 'hex') return HEX_SIGNATURE.test(text) ? Buffer.from(text, 'hex') : undefined;
  if (!BASE64_SIGNATURE.test(text)) return undefined;
  const bytes = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return bytes.length === DIGEST_BYTES ? bytes : undefined;
}

export function hmacSha256(secret: string, message: Uint8Array): Buffer {
  return createHmac('sha256', secret).update(message).digest();
}

export function sign(secret: string, message: Uint8Array | string, encoding: SignatureEncoding): string {
  const bytes = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
  return hmacSha256(secret, bytes).toString(encoding);
}

/**
 * Whether the received values can be signatures at all, before any secret is needed:
 * junk is answered 401 without touching Secrets Manager.
 */
export function signatureShape(signatures: readonly string[], encoding: SignatureEncoding): 'missing' | 'malformed' | 'ok' {
  const present = signatures.filter((s) => s.trim().length > 0);
  if (present.length === 0) return 'missing';
  return present.some((s) => decodeSignature(s, encoding) !== undefined) ? 'ok' : 'malformed';
}

/**
 * HMAC-SHA256 verification over bytes: constant-time comparison, several candidate secrets (rotation),
 * messages and signatures. Returns a result value and never throws, whatever it is given.
 */
export function verifySignature(input: VerifyInput): VerifyResult {
  try {
    const present = input.signatures.filter((s) => s.trim().length > 0);
    if (present.length === 0) return { ok: false, reason: 'missing' };
    const decoded = present
      .map((s) => decodeSignature(s, input.encoding))
      .filter((d): d is Buffer => d !== undefined);
    if (decoded.length === 0) return { ok: false, reason: 'malformed' };
    // Empty secrets are skipped but keep their place: secretIndex points into input.secrets.
    const secrets = input.secrets.map((secret, index) => ({ secret, index })).filter(({ secret }) => secret.length > 0);
    if (secrets.length === 0) return { ok: false, reason: 'no_secret' };
    let messageIndex = 0;
    for (const message of input.messages) {
      for (const { secret, index: secretIndex } of secrets) {
        const expected = hmacSha256(secret, message);
        // Every decoded value is exactly DIGEST_BYTES long, so timingSafeEqual cannot throw here.
        if (decoded.some((got) => timingSafeEqual(got, expected))) {
          return { ok: true, secretIndex, messageIndex };
        }
      }
      messageIndex++;
    }
    return { ok: false, reason: 'mismatch' };
  } catch {
    return { ok: false, reason: 'malformed' };
  }
}
