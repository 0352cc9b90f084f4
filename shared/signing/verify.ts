import { createHmac, timingSafeEqual } from 'node:crypto';

export type SignatureEncoding = 'hex' | 'base64';

/** Signed bytes; a string stands for its UTF-8 bytes. */
export type SignedMessage = Uint8Array | string;

export type VerifyFailureReason = 'missing' | 'malformed' | 'mismatch' | 'no_secret';

export type VerifyResult =
  | {
      readonly ok: true;
      /** Which candidate secret matched: tells rotation which version is in use. */
      readonly secretIndex: number;
    }
  | { readonly ok: false; readonly reason: VerifyFailureReason };

/** A 32-byte HMAC-SHA256 digest as text: 64 hex digits, or 43 base64 characters (either alphabet) and optional padding. */
const DIGEST_SHAPE: Record<SignatureEncoding, RegExp> = {
  hex: /^[0-9a-fA-F]{64}$/,
  base64: /^[A-Za-z0-9+/\-_]{43}=?$/,
};

/** Decodes a signature to its 32 digest bytes, or undefined when it cannot be one. */
export function decodeSignature(signature: string, encoding: SignatureEncoding): Buffer | undefined {
  const text = signature.trim();
  return DIGEST_SHAPE[encoding].test(text) ? Buffer.from(text, encoding) : undefined;
}

/** An HMAC key: a secret's text (its UTF-8 bytes) or, for schemes that encode their keys, the bytes themselves. */
export type SigningKey = string | Uint8Array;

export function hmacSha256(secret: SigningKey, message: SignedMessage): Buffer {
  return createHmac('sha256', secret).update(message).digest();
}

export function sign(secret: string, message: SignedMessage, encoding: SignatureEncoding): string {
  return hmacSha256(secret, message).toString(encoding);
}

/** The received values decoded to digests, or why none can be one: the one place a signature's text is read. */
export type DecodedSignatures =
  | { readonly ok: true; readonly digests: readonly Buffer[] }
  | { readonly ok: false; readonly reason: 'missing' | 'malformed' };

/**
 * Whether the received values can be signatures at all, before any secret is needed (junk is
 * answered 401 without touching Secrets Manager), and the digests of those that can.
 */
export function decodeSignatures(signatures: readonly string[], encoding: SignatureEncoding): DecodedSignatures {
  const present = signatures.filter((signature) => signature.trim().length > 0);
  if (present.length === 0) return { ok: false, reason: 'missing' };
  const digests = present.map((signature) => decodeSignature(signature, encoding)).filter((digest): digest is Buffer => digest !== undefined);
  return digests.length > 0 ? { ok: true, digests } : { ok: false, reason: 'malformed' };
}

/**
 * Which candidate secret signed `message` as one of `digests`: constant-time comparison, several
 * candidates (rotation, current first; an empty one keeps its place but verifies nothing) and
 * several received digests (a repeated header). Never throws.
 */
export function matchDigests(message: SignedMessage, digests: readonly Buffer[], secrets: readonly SigningKey[]): VerifyResult {
  try {
    if (!secrets.some((secret) => secret.length > 0)) return { ok: false, reason: 'no_secret' };
    const secretIndex = secrets.findIndex((secret) => {
      if (secret.length === 0) return false;
      const expected = hmacSha256(secret, message);
      // Every decoded digest is 32 bytes, as is the HMAC, so timingSafeEqual cannot throw.
      return digests.some((digest) => timingSafeEqual(digest, expected));
    });
    return secretIndex >= 0 ? { ok: true, secretIndex } : { ok: false, reason: 'mismatch' };
  } catch {
    return { ok: false, reason: 'malformed' };
  }
}
