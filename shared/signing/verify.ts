import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

export type SignatureEncoding = 'hex' | 'base64';

/** Signed bytes; a string stands for its UTF-8 bytes (HMAC encodes it itself, so no Buffer copy is made first). */
export type SignedMessage = Uint8Array | string;

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
  readonly messages: Iterable<SignedMessage>;
  /** Signature values as received (several when a header was repeated). */
  readonly signatures: readonly string[];
  readonly secrets: readonly string[];
  readonly encoding: SignatureEncoding;
}

const DIGEST_BYTES = 32;
const HEX_DIGEST_LENGTH = 2 * DIGEST_BYTES;
// Standard or URL-safe alphabet, padding optional: 32 bytes are 43 characters plus one '='.
const BASE64_DIGEST_LENGTH = 43;
const PAD = 0x3d;

/** Decodes a signature to its 32 digest bytes, or undefined when it cannot be one. */
export function decodeSignature(signature: string, encoding: SignatureEncoding): Buffer | undefined {
  return decodeTrimmed(signature.trim(), encoding);
}

function decodeTrimmed(text: string, encoding: SignatureEncoding): Buffer | undefined {
  if (encoding === 'hex') {
    if (text.length !== HEX_DIGEST_LENGTH) return undefined;
    // Node's hex decoder stops at the first pair that is not hex, so 64 characters giving 32 bytes
    // are exactly /^[0-9a-fA-F]{64}$/, checked without a regex pass on every request.
    const bytes = Buffer.from(text, 'hex');
    return bytes.length === DIGEST_BYTES ? bytes : undefined;
  }
  const padded = text.length === BASE64_DIGEST_LENGTH + 1 && text.charCodeAt(BASE64_DIGEST_LENGTH) === PAD;
  if (text.length !== BASE64_DIGEST_LENGTH && !padded) return undefined;
  // Node's base64 decoder reads both alphabets (`+/` and `-_`) and skips any other character, so 43
  // characters giving 32 bytes are exactly /^[A-Za-z0-9+/\-_]{43}=?$/: one character outside the
  // alphabets leaves 42 and 31 bytes. Checked without a regex pass on every request.
  const bytes = Buffer.from(text, 'base64');
  return bytes.length === DIGEST_BYTES ? bytes : undefined;
}

/** A function verifies with one to three secrets at a time; more than this means secrets come and go (tests), so start over. */
const MAX_HMAC_KEYS = 16;
const hmacKeys = new Map<string, KeyObject>();

/**
 * The secret as a KeyObject, made once per secret: handed a string, createHmac converts it to bytes
 * on every call, which is a measurable share of a warm request. The bytes are the same (UTF-8).
 */
function hmacKey(secret: string): KeyObject {
  let key = hmacKeys.get(secret);
  if (key === undefined) {
    if (hmacKeys.size >= MAX_HMAC_KEYS) hmacKeys.clear();
    key = createSecretKey(Buffer.from(secret, 'utf8'));
    hmacKeys.set(secret, key);
  }
  return key;
}

export function hmacSha256(secret: string, message: SignedMessage): Buffer {
  return createHmac('sha256', hmacKey(secret)).update(message).digest();
}

export function sign(secret: string, message: SignedMessage, encoding: SignatureEncoding): string {
  return hmacSha256(secret, message).toString(encoding);
}

/** The received signature values, decoded once: the shape check and verification share them. */
export interface DecodedSignatures {
  /** How many values were non-blank: 0 means the signature is missing. */
  readonly present: number;
  /** The values that are 32-byte digests in the expected encoding. */
  readonly digests: readonly Buffer[];
}

/** Decodes the received values to digests (plain loops: this runs on every request, and map/filter chains allocate per step). */
export function decodeSignatures(signatures: readonly string[], encoding: SignatureEncoding): DecodedSignatures {
  let present = 0;
  const digests: Buffer[] = [];
  for (const signature of signatures) {
    const text = signature.trim();
    if (text.length === 0) continue;
    present++;
    const digest = decodeTrimmed(text, encoding);
    if (digest !== undefined) digests.push(digest);
  }
  return { present, digests };
}

export function shapeOf(decoded: DecodedSignatures): 'missing' | 'malformed' | 'ok' {
  return decoded.present === 0 ? 'missing' : decoded.digests.length === 0 ? 'malformed' : 'ok';
}

/**
 * Whether the received values can be signatures at all, before any secret is needed:
 * junk is answered 401 without touching Secrets Manager.
 */
export function signatureShape(signatures: readonly string[], encoding: SignatureEncoding): 'missing' | 'malformed' | 'ok' {
  return shapeOf(decodeSignatures(signatures, encoding));
}

export interface VerifyDigestsInput {
  /** As in VerifyInput: iterated lazily, the bytes as sent first. */
  readonly messages: Iterable<SignedMessage>;
  readonly decoded: DecodedSignatures;
  readonly secrets: readonly string[];
}

/**
 * HMAC-SHA256 verification over bytes: constant-time comparison, several candidate secrets (rotation),
 * messages and signatures. Returns a result value and never throws, whatever it is given.
 */
export function verifySignature(input: VerifyInput): VerifyResult {
  try {
    return verifyDigests({ messages: input.messages, decoded: decodeSignatures(input.signatures, input.encoding), secrets: input.secrets });
  } catch {
    return { ok: false, reason: 'malformed' };
  }
}

/** verifySignature for values already decoded (the handler decoded them for its shape check). Never throws. */
export function verifyDigests(input: VerifyDigestsInput): VerifyResult {
  try {
    const { present, digests } = input.decoded;
    if (present === 0) return { ok: false, reason: 'missing' };
    if (digests.length === 0) return { ok: false, reason: 'malformed' };
    // Empty secrets are skipped but keep their place: secretIndex points into input.secrets.
    if (!input.secrets.some((secret) => secret.length > 0)) return { ok: false, reason: 'no_secret' };
    let messageIndex = 0;
    for (const message of input.messages) {
      for (let secretIndex = 0; secretIndex < input.secrets.length; secretIndex++) {
        const secret = input.secrets[secretIndex]!;
        if (secret.length === 0) continue;
        const expected = hmacSha256(secret, message);
        // Every decoded value is exactly DIGEST_BYTES long, so timingSafeEqual cannot throw here.
        for (const got of digests) if (timingSafeEqual(got, expected)) return { ok: true, secretIndex, messageIndex };
      }
      messageIndex++;
    }
    return { ok: false, reason: 'mismatch' };
  } catch {
    return { ok: false, reason: 'malformed' };
  }
}
