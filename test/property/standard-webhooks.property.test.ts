import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { eventFor, type RequestSpec } from '../support/events.js';
import { NOW_MS } from '../support/handler-harness.js';
import { eventKind, NUM_RUNS } from './arbitraries.js';
import { useS3 } from '../support/s3.js';
import { lastOutcome, SECRETS, subject } from './setup.js';

const bucket = useS3();

/**
 * Standard Webhooks (the spec; signed here by the official `standardwebhooks` library): for any body,
 * any id and any timestamp inside the window, the library's signature verifies; any changed byte of
 * the body, the id, the timestamp or the signature does not.
 */
const PATH = '/standardwebhooks/events';
const SECRET = SECRETS.standardwebhooks.signingSecret!;

/** Message ids as senders make them: printable, no spaces (a header value), not empty. */
const messageId = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.:'), minLength: 1, maxLength: 40 });
/** Seconds inside the ±300 s window around the handlers' clock, either side. */
const timestampSeconds = fc.integer({ min: -299, max: 299 }).map((skew) => Math.floor(NOW_MS / 1000) + skew);
/** Bodies the library signs as text: any JSON value serialised, and any text. */
const anyBody = fc.oneof(fc.json(), fc.string({ minLength: 1, maxLength: 400 }));

function spec(body: string, id: string, timestamp: string, signature: string): RequestSpec {
  return {
    method: 'POST',
    path: PATH,
    headers: [['content-type', 'application/json'], ['webhook-id', id], ['webhook-timestamp', timestamp], ['webhook-signature', signature]],
    body,
  };
}

const sign = (id: string, seconds: number, body: string) => new Webhook(SECRET).sign(id, new Date(seconds * 1000), body);

/** One character of `text` at `index` replaced by a different one from `alphabet`. */
function changed(text: string, index: number, alphabet: string): string {
  const at = index % text.length;
  const replacement = [...alphabet].find((c) => c !== text[at])!;
  return text.slice(0, at) + replacement + text.slice(at + 1);
}

describe('standardwebhooks, any body, id and timestamp in the window', () => {
  it('a library-made signature verifies: never a 401 (a body that is not a JSON object is a 400 after verifying)', async () => {
    // With the delivery bucket: a body EventBridge cannot take inline (not UTF-8, an integer past int64) is claim-checked, not refused.
    const s = subject('standardwebhooks', SECRETS.standardwebhooks, bucket().store());
    await fc.assert(
      fc.asyncProperty(eventKind, anyBody, messageId, timestampSeconds, async (kind, body, id, seconds) => {
        const response = await s.handler(eventFor(kind, spec(body, id, String(seconds), sign(id, seconds, body))));
        expect(response.statusCode).not.toBe(401);
        expect([200, 400]).toContain(response.statusCode);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('one changed character of the body, the id, the timestamp or the signature is 401', async () => {
    const s = subject('standardwebhooks');
    const part = fc.constantFrom('body', 'id', 'timestamp', 'signature');
    await fc.assert(
      fc.asyncProperty(eventKind, anyBody, messageId, timestampSeconds, part, fc.nat(), async (kind, body, id, seconds, which, index) => {
        const timestamp = String(seconds);
        const signature = sign(id, seconds, body);
        const sent = {
          body: which === 'body' ? changed(body, index, 'ab') : body,
          id: which === 'id' ? changed(id, index, 'xy') : id,
          // Another timestamp that is still inside the window, so only the signature can refuse it.
          timestamp: which === 'timestamp' ? String(seconds + (index % 2 === 0 ? 1 : -1)) : timestamp,
          // Past the `v1,` prefix, within the base64 digest (its last character may carry padding bits only).
          signature: which === 'signature' ? changed(signature, 3 + (index % (signature.length - 5)), 'AB') : signature,
        };
        const response = await s.handler(eventFor(kind, spec(sent.body, sent.id, sent.timestamp, sent.signature)));
        expect(response.statusCode).toBe(401);
        expect(lastOutcome(s)).toBe('bad_signature_mismatch');
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
