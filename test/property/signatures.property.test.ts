import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PLACEHOLDER_PREFIX } from '../../shared/secrets/cache.js';
import { decodeSignature, type SignatureEncoding } from '../../shared/signing/verify.js';
import { verifySignature } from '../support/verify-signature.js';
import { eventFor, type EventKind, type RequestSpec } from '../support/events.js';
import { NOW_SECONDS } from '../support/handler-harness.js';
import { eventKind, helperParams, NUM_RUNS } from './arbitraries.js';
import { lastOutcome, PROFILE, SECRETS, subject } from './setup.js';

/**
 * Signatures as each platform makes them (its doc's own sample code) verify, for any body and any
 * secret; and any single changed byte of the signed bytes or of the signature is rejected with 401.
 *
 *   Buddy, Talki, Bullseye   createHmac('sha256', secret).update(rawBody).digest('hex')
 *   BuddyStat                createHmac('sha256', secret).update(JSON.stringify(payload)).digest('hex')
 *   Helper                   createHmac('sha256', secret).update(new URLSearchParams(params).toString()).digest('base64'),
 *                            sent as `Authorization: Bearer <sig>` with that same string as the query
 */

/** Any secret a console could hand out: any Unicode, not empty, not the stack's placeholder. */
// No trailing NUL: HMAC pads short keys with zero bytes, so 'k' and 'k\u0000' are one key, and
// "another secret" must really be another.
const secret = fc
  .string({ unit: 'binary', minLength: 1, maxLength: 64 })
  .filter((s) => !s.startsWith(PLACEHOLDER_PREFIX) && !s.endsWith('\u0000'));

const anyBytes = fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 2048 }).map((b) => Buffer.from(b)), fc.string({ unit: 'binary', minLength: 1, maxLength: 512 }).map((s) => Buffer.from(s, 'utf8')));

const hmac = (key: string, message: Buffer | string, encoding: SignatureEncoding) => createHmac('sha256', key).update(message).digest(encoding);

function post(path: string, header: string, signature: string, body: Buffer): RequestSpec {
  return { method: 'POST', path, headers: [['Content-Type', 'application/json'], [header, signature]], body };
}

function helperGet(query: string, authorization: string): RequestSpec {
  return { method: 'GET', path: '/helper/customer', query, headers: [['Content-Type', 'application/json'], ['Authorization', authorization]] };
}

/** The raw-body platforms: provider, route, key in the stored secret, signature header. */
const RAW_BODY_PLATFORMS = [
  { provider: 'buddy', path: '/buddy/identity', key: 'signingSecret', header: 'X-Platform-Signature', doc: 'buddy-identity-callback.txt' },
  { provider: 'talki', path: '/talki/customer', key: 'signingSecret', header: 'X-Talki-Signature', doc: 'talki-backend-connect.txt' },
  { provider: 'bullseye', path: '/bullseye/identification', key: 'identification', header: 'X-Bullseye-Signature', doc: 'bullseye-webhooks.txt' },
  { provider: 'bullseye', path: '/bullseye/billing', key: 'billing', header: 'X-Bullseye-Signature', doc: 'bullseye-webhooks.txt' },
] as const;

describe('verifySignature, any bytes and any secret', () => {
  it.each(['hex', 'base64'] as const)('a %s HMAC-SHA256 made with the secret verifies; with another secret it does not', (encoding) => {
    fc.assert(
      fc.property(anyBytes, secret, secret, (message, key, other) => {
        const signatures = [hmac(key, message, encoding)];
        expect(verifySignature({ message: message, signatures, secrets: [key], encoding })).toMatchObject({ ok: true, secretIndex: 0 });
        // Rotation: the right secret anywhere among the candidates. The decoy differs from the key by a
        // non-zero byte: HMAC pads short keys with zeros, so `key + '\u0000'` would be the same key.
        expect(verifySignature({ message: message, signatures, secrets: [`${key}x`, key], encoding })).toMatchObject({ ok: true, secretIndex: 1 });
        if (other !== key) expect(verifySignature({ message: message, signatures, secrets: [other], encoding })).toEqual({ ok: false, reason: 'mismatch' });
      }),
      { numRuns: 500 },
    );
  });
});

describe('a signature made as the platform makes it verifies in the handler (any body, any secret, any event shape)', () => {
  it.each(RAW_BODY_PLATFORMS)('$provider $path: hex HMAC of the raw body ($doc)', async ({ provider, path, key, header }) => {
    await fc.assert(
      fc.asyncProperty(eventKind, anyBytes, secret, async (kind, body, key_) => {
        const s = subject(provider, { ...SECRETS[provider], [key]: key_ });
        await s.handler(eventFor(kind, post(path, header, hmac(key_, body, 'hex'), body)));
        // Past the signature: whatever the body means (bad JSON, unknown id, stale timestamp), it was not a signature failure.
        expect(lastOutcome(s)).not.toMatch(/^bad_signature/);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('buddystat: hex HMAC of JSON.stringify(payload), the body sent compact or pretty-printed (buddystat-webhooks.txt)', async () => {
    await fc.assert(
      fc.asyncProperty(eventKind, fc.jsonValue({ maxDepth: 4 }), secret, fc.constantFrom(undefined, 2, '\t'), async (kind, payload, key, indent) => {
        const s = subject('buddystat', { signingSecret: key });
        const body = Buffer.from(JSON.stringify(payload, null, indent), 'utf8');
        await s.handler(eventFor(kind, post('/buddystat/events', 'X-BuddyStat-Signature', hmac(key, JSON.stringify(payload), 'hex'), body)));
        expect(lastOutcome(s)).not.toMatch(/^bad_signature/);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('helper: base64 HMAC of new URLSearchParams(params).toString(), as Authorization: Bearer (helper-metadata-endpoint.txt)', async () => {
    await fc.assert(
      fc.asyncProperty(eventKind, helperParams, secret, async (kind, params, key) => {
        const s = subject('helper', { signingSecret: key });
        const query = new URLSearchParams(params).toString();
        await s.handler(eventFor(kind, helperGet(query, `Bearer ${hmac(key, query, 'base64')}`)));
        expect(lastOutcome(s)).not.toMatch(/^bad_signature/);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

/** One byte of `bytes` replaced by a different value. */
const mutation = (length: number) => fc.tuple(fc.nat({ max: length - 1 }), fc.integer({ min: 1, max: 255 }));

function mutate(bytes: Buffer, [index, delta]: [number, number]): Buffer {
  const copy = Buffer.from(bytes);
  copy[index] = copy[index]! ^ delta;
  return copy;
}

/** One character of a signature's text replaced by another printable ASCII character. */
function mutateText(text: string, index: number, code: number): string {
  const replacement = String.fromCharCode(code === text.charCodeAt(index) ? (code === 126 ? 33 : code + 1) : code);
  return text.slice(0, index) + replacement + text.slice(index + 1);
}

const PAYLOADS: Record<string, (kind: EventKind) => string> = {
  buddy: () => JSON.stringify({ sessionId: PROFILE.sessionIds![0], agentId: 'agt_1', timestamp: NOW_SECONDS }),
  talki: () => JSON.stringify({ userToken: PROFILE.userId }),
  bullseye: (kind) => JSON.stringify({ id: `evt_${kind}`, type: 'visitor.identified', data: { email: PROFILE.email } }),
};

describe('any single changed byte of the body or the signature is rejected (401)', () => {
  it.each(RAW_BODY_PLATFORMS)('$provider $path: one changed byte anywhere in the raw body', async ({ provider, path, key, header }) => {
    const s = subject(provider);
    const secretValue = SECRETS[provider][key]!;
    await fc.assert(
      fc.asyncProperty(
        eventKind,
        fc.oneof(fc.constant(undefined), anyBytes),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async (kind, random, at, delta) => {
          // The platform's own request most of the time (so the unchanged one would succeed), any bytes otherwise.
          const body = random ?? Buffer.from(PAYLOADS[provider]!(kind));
          const signature = hmac(secretValue, body, 'hex');
          const response = await s.handler(eventFor(kind, post(path, header, signature, mutate(body, [at % body.length, delta]))));
          expect(response.statusCode).toBe(401);
          expect(lastOutcome(s)).toBe('bad_signature_mismatch');
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it('buddystat: one changed byte of a compact JSON body, unless it leaves the same payload (JSON.stringify is what is signed)', async () => {
    const s = subject('buddystat');
    const key = SECRETS.buddystat.signingSecret!;
    await fc.assert(
      fc.asyncProperty(eventKind, fc.jsonValue({ maxDepth: 3 }), fc.nat(), fc.integer({ min: 1, max: 255 }), async (kind, payload, at, delta) => {
        const signed = JSON.stringify(payload);
        const body = Buffer.from(signed, 'utf8');
        const changed = mutate(body, [at % body.length, delta]);
        // BuddyStat's doc verifies JSON.stringify(payload): `1E+21` for `1e+21`, or `\u001F` for `\u001f`,
        // is the same payload and the same signed string, so it is not a change to what was signed.
        fc.pre(!sameCompactJson(changed, signed));
        const response = await s.handler(eventFor(kind, post('/buddystat/events', 'X-BuddyStat-Signature', hmac(key, signed, 'hex'), changed)));
        expect(response.statusCode).toBe(401);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('helper: one changed character of the signed query string, unless it encodes the same parameters (e.g. %2c for %2C)', async () => {
    const s = subject('helper');
    const key = SECRETS.helper.signingSecret!;
    await fc.assert(
      fc.asyncProperty(eventKind, helperParams, fc.nat(), fc.integer({ min: 33, max: 126 }), async (kind, params, at, code) => {
        const query = new URLSearchParams({ ...params, email: params.email ?? PROFILE.email!, timestamp: String(NOW_SECONDS) }).toString();
        const changed = mutateText(query, at % query.length, code);
        // The handler also accepts the URLSearchParams form of what arrived (a proxy may re-encode the
        // query), so a change that decodes to the same parameters is the same signed message.
        fc.pre(new URLSearchParams(changed).toString() !== query);
        const response = await s.handler(eventFor(kind, helperGet(changed, `Bearer ${hmac(key, query, 'base64')}`)));
        expect(response.statusCode).toBe(401);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  const SIGNATURE_CASES = [
    { provider: 'buddy', encoding: 'hex' },
    { provider: 'talki', encoding: 'hex' },
    { provider: 'bullseye', encoding: 'hex' },
    { provider: 'buddystat', encoding: 'hex' },
    { provider: 'helper', encoding: 'base64' },
  ] as const;

  /** The provider's valid request in this event shape, with the signature swapped for `signature`. */
  function withSignature(provider: (typeof SIGNATURE_CASES)[number]['provider'], kind: EventKind, signature: (valid: string) => string): RequestSpec {
    if (provider === 'helper') {
      const query = new URLSearchParams({ email: PROFILE.email!, timestamp: String(NOW_SECONDS) }).toString();
      return helperGet(query, `Bearer ${signature(hmac(SECRETS.helper.signingSecret!, query, 'base64'))}`);
    }
    const body = provider === 'buddystat' ? JSON.stringify({ event: 'goal.converted', deliveryId: `d_${kind}` }) : PAYLOADS[provider]!(kind);
    const spec = RAW_BODY_PLATFORMS.find((p) => p.provider === provider)!;
    const header = provider === 'buddystat' ? 'X-BuddyStat-Signature' : spec.header;
    const path = provider === 'buddystat' ? '/buddystat/events' : spec.path;
    const secretValue = provider === 'buddystat' ? SECRETS.buddystat.signingSecret! : SECRETS[provider][spec.key]!;
    return post(path, header, signature(hmac(secretValue, body, 'hex')), Buffer.from(body));
  }

  it.each(SIGNATURE_CASES)('$provider: one changed byte of the signature digest, re-encoded as $encoding', async ({ provider, encoding }) => {
    const s = subject(provider);
    await fc.assert(
      fc.asyncProperty(eventKind, mutation(32), async (kind, change) => {
        const spec = withSignature(provider, kind, (valid) => mutate(decodeSignature(valid, encoding)!, change).toString(encoding));
        const response = await s.handler(eventFor(kind, spec));
        expect(response.statusCode).toBe(401);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it.each(SIGNATURE_CASES)('$provider: one changed character of the signature text, unless it decodes to the same digest', async ({ provider, encoding }) => {
    const s = subject(provider);
    await fc.assert(
      fc.asyncProperty(eventKind, fc.nat(), fc.integer({ min: 33, max: 126 }), async (kind, at, code) => {
        let valid = '';
        let changed = '';
        const spec = withSignature(provider, kind, (v) => {
          valid = v;
          changed = mutateText(v, at % v.length, code);
          return changed;
        });
        // Hex is case-insensitive, and base64's last character carries two bits that are not part of the
        // digest (and `-`/`_` are URL-safe spellings of `+`/`/`): those spellings are the same signature.
        // A comma separates values (API Gateway comma-joins repeated headers), so base64 padding changed to
        // `,` leaves the unpadded signature as one of the values: still the same signature.
        const digest = decodeSignature(valid, encoding)!;
        const same = changed.split(',').some((part) => decodeSignature(part, encoding)?.equals(digest) ?? false);
        fc.pre(!same);
        const response = await s.handler(eventFor(kind, spec));
        expect(response.statusCode).toBe(401);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

function sameCompactJson(bytes: Buffer, signed: string): boolean {
  try {
    return JSON.stringify(JSON.parse(bytes.toString('utf8'))) === signed;
  } catch {
    return false;
  }
}
