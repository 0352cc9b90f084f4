import { decodeSignatures, matchDigests, type SignatureEncoding, type SignedMessage, type SigningKey, type VerifyResult } from '../../shared/signing/verify.js';

/**
 * Signature values as received, verified the way the pipeline does it: decoded once by the scheme's
 * parts (decodeSignatures), then matched against the candidate secrets (matchDigests). For tests
 * that check verification on its own.
 */
export function verifySignature(input: {
  readonly message: SignedMessage;
  readonly signatures: readonly string[];
  readonly secrets: readonly SigningKey[];
  readonly encoding: SignatureEncoding;
}): VerifyResult {
  const decoded = decodeSignatures(input.signatures, input.encoding);
  return decoded.ok ? matchDigests(input.message, decoded.digests, input.secrets) : decoded;
}

/** Whether the received values can be signatures at all, as the pipeline decides before any secret is fetched. */
export function signatureShape(signatures: readonly string[], encoding: SignatureEncoding): 'missing' | 'malformed' | 'ok' {
  const decoded = decodeSignatures(signatures, encoding);
  return decoded.ok ? 'ok' : decoded.reason;
}
