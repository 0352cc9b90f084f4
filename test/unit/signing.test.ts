import { createHmac, timingSafeEqual } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeSignature, sign, type SignatureEncoding } from '../../shared/signing/verify.js';
import { signatureShape, verifySignature } from '../support/verify-signature.js';

// RFC 4231, test case 2.
const KEY = 'Jefe';
const DATA = 'what do ya want for nothing?';
const HEX = '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843';
const BASE64 = 'W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=';
// A digest whose base64 holds both `+` and `/`, so the URL-safe alphabet really differs.
const QUERY = 'timestamp=1717000000&n=2';
const QUERY_BASE64 = 'TptXLycINgih7Vz/jb688dQxCU+XxuI6jEtPO5fWH1Q=';
const QUERY_BASE64_URL = 'TptXLycINgih7Vz_jb688dQxCU-XxuI6jEtPO5fWH1Q';

const bytes = (text: string) => Buffer.from(text, 'utf8');

function verify(signatures: readonly string[], encoding: SignatureEncoding, secrets: readonly string[] = [KEY], message: string = DATA) {
  return verifySignature({ message: bytes(message), signatures, secrets, encoding });
}

describe('sign', () => {
  it('matches RFC 4231 test case 2 in hex and base64', () => {
    expect(sign(KEY, DATA, 'hex')).toBe(HEX);
    expect(sign(KEY, bytes(DATA), 'base64')).toBe(BASE64);
    expect(sign(KEY, QUERY, 'base64')).toBe(QUERY_BASE64);
  });
});

describe('verifySignature: encodings', () => {
  it('buddy/talki/bullseye/buddystat: "hex HMAC-SHA256" verifies in lower and upper case', () => {
    expect(verify([HEX], 'hex')).toEqual({ ok: true, secretIndex: 0 });
    expect(verify([HEX.toUpperCase()], 'hex')).toEqual({ ok: true, secretIndex: 0 });
    expect(verify([`  ${HEX}\t`], 'hex').ok).toBe(true);
  });

  it('helper: "digest(\'base64\')" verifies with and without padding', () => {
    expect(verify([BASE64], 'base64').ok).toBe(true);
    expect(verify([BASE64.replace(/=+$/, '')], 'base64').ok).toBe(true);
  });

  it('base64 in the URL-safe alphabet verifies too', () => {
    expect(verify([QUERY_BASE64], 'base64', [KEY], QUERY).ok).toBe(true);
    expect(verify([QUERY_BASE64_URL], 'base64', [KEY], QUERY).ok).toBe(true);
    expect(verify([`${QUERY_BASE64_URL}=`], 'base64', [KEY], QUERY).ok).toBe(true);
  });

  it('a hex signature is malformed where base64 is expected, and the reverse', () => {
    expect(verify([HEX], 'base64')).toEqual({ ok: false, reason: 'malformed' });
    expect(verify([BASE64], 'hex')).toEqual({ ok: false, reason: 'malformed' });
  });

  it('decodeSignature gives the 32 digest bytes or undefined', () => {
    expect(decodeSignature(HEX, 'hex')?.toString('hex')).toBe(HEX);
    expect(decodeSignature(QUERY_BASE64_URL, 'base64')?.toString('base64')).toBe(QUERY_BASE64);
    expect(decodeSignature(HEX.slice(2), 'hex')).toBeUndefined();
    expect(decodeSignature('', 'base64')).toBeUndefined();
  });
});

describe('verifySignature: rotation and repeated headers', () => {
  it('several candidate secrets: the index of the one that matched is returned', () => {
    expect(verify([HEX], 'hex', ['new-secret', KEY])).toEqual({ ok: true, secretIndex: 1 });
    expect(verify([HEX], 'hex', [KEY, 'old-secret'])).toEqual({ ok: true, secretIndex: 0 });
  });

  it('an empty candidate is skipped without shifting the index of the others', () => {
    expect(verify([HEX], 'hex', ['', KEY])).toEqual({ ok: true, secretIndex: 1 });
  });

  it('several signatures (a repeated header): one valid value is enough, junk beside it is ignored', () => {
    const wrong = sign('other', DATA, 'hex');
    expect(verify(['not-a-signature', wrong, HEX], 'hex').ok).toBe(true);
    expect(verify([wrong, 'zz'], 'hex')).toEqual({ ok: false, reason: 'mismatch' });
  });
});

describe('verifySignature: every failure is a reason, never a throw', () => {
  it('missing: no value, empty or blank values', () => {
    expect(verify([], 'hex')).toEqual({ ok: false, reason: 'missing' });
    expect(verify([''], 'hex')).toEqual({ ok: false, reason: 'missing' });
    expect(verify(['   '], 'base64')).toEqual({ ok: false, reason: 'missing' });
  });

  it('talki: the doc sample "a3f8c2..." would make the doc’s timingSafeEqual throw; we answer malformed', () => {
    const sample = 'a3f8c2...';
    const expected = createHmac('sha256', KEY).update(DATA).digest('hex');
    // The doc's own code: Buffer lengths differ, so Node throws instead of answering 401.
    expect(() => timingSafeEqual(Buffer.from(sample), Buffer.from(expected))).toThrow(RangeError);
    expect(verify([sample], 'hex')).toEqual({ ok: false, reason: 'malformed' });
  });

  it('malformed: wrong length, wrong alphabet', () => {
    for (const value of [HEX.slice(1), `${HEX}00`, `${HEX.slice(2)}zz`, 'sha256=' + HEX]) expect(verify([value], 'hex')).toEqual({ ok: false, reason: 'malformed' });
    for (const value of [BASE64.slice(4), `${BASE64}AAAA`, `${BASE64.slice(0, 42)}!=`]) expect(verify([value], 'base64')).toEqual({ ok: false, reason: 'malformed' });
  });

  it('mismatch: well-formed but signed with another secret or over other bytes', () => {
    expect(verify([sign('other', DATA, 'hex')], 'hex')).toEqual({ ok: false, reason: 'mismatch' });
    expect(verify([HEX], 'hex', [KEY], `${DATA} `)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('no_secret: nothing to verify with (checked after the signature shape)', () => {
    expect(verify([HEX], 'hex', [])).toEqual({ ok: false, reason: 'no_secret' });
    expect(verify([HEX], 'hex', [''])).toEqual({ ok: false, reason: 'no_secret' });
    expect(verify(['junk'], 'hex', [])).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('signatureShape: junk is rejected before any secret is fetched', () => {
  it('missing, malformed or ok', () => {
    expect(signatureShape([], 'hex')).toBe('missing');
    expect(signatureShape([' ', ''], 'hex')).toBe('missing');
    expect(signatureShape(['a3f8c2...'], 'hex')).toBe('malformed');
    expect(signatureShape([BASE64], 'hex')).toBe('malformed');
    expect(signatureShape([HEX], 'hex')).toBe('ok');
    expect(signatureShape(['junk', HEX.toUpperCase()], 'hex')).toBe('ok');
    expect(signatureShape([QUERY_BASE64_URL], 'base64')).toBe('ok');
  });
});
