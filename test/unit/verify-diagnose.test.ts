import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { diagnose, type DiagnoseInput, type FindingCode } from '../../local/diagnose.js';

const NOW = 1_717_000_000_000;
const SECRET = 'dev-secret-for-tests';
const hmac = (secret: string, message: string, encoding: 'hex' | 'base64' = 'hex') => createHmac('sha256', secret).update(message).digest(encoding);

const talkiBody = '{"userToken":"usr_abc123"}';
const buddyBody = `{"sessionId":"sess_1","agentId":"agt_1","timestamp":${NOW / 1000}}`;
const helperQuery = `email=customer%40example.com&timestamp=${NOW / 1000}`;

function codes(input: Partial<DiagnoseInput> & Pick<DiagnoseInput, 'provider' | 'signature'>): { verified: boolean; codes: FindingCode[] } {
  const result = diagnose({ secret: SECRET, nowMs: NOW, ...input });
  return { verified: result.verified, codes: result.findings.map((f) => f.code) };
}

describe('diagnose', () => {
  it('verifies a body exactly as the platform signed it', () => {
    expect(codes({ provider: 'talki', body: talkiBody, signature: hmac(SECRET, talkiBody) })).toEqual({ verified: true, codes: ['verified'] });
    expect(diagnose({ provider: 'talki', body: talkiBody, signature: 'x'.repeat(64), secret: SECRET, nowMs: NOW }).expected).toBe(hmac(SECRET, talkiBody));
  });

  it('wrong secret: nothing matches', () => {
    expect(codes({ provider: 'talki', body: talkiBody, signature: hmac('another-secret', talkiBody) })).toEqual({ verified: false, codes: ['wrong_secret'] });
  });

  it('body re-serialised: the platform signed compact JSON, the capture is pretty-printed', () => {
    const pretty = JSON.stringify(JSON.parse(talkiBody), null, 2);
    expect(codes({ provider: 'talki', body: pretty, signature: hmac(SECRET, talkiBody) })).toEqual({ verified: false, codes: ['reserialised_json'] });
  });

  it('body pretty-printed when signed, compacted by a body parser', () => {
    const pretty = JSON.stringify(JSON.parse(talkiBody), null, 4);
    expect(codes({ provider: 'talki', body: talkiBody, signature: hmac(SECRET, pretty) }).codes).toEqual(['pretty_printed']);
  });

  it("buddystat: JSON.stringify of the parsed body verifies, as the doc's verifier hashes and the handler accepts", () => {
    const body = '{ "event": "goal.converted", "data": { "value": 49 } }';
    const result = codes({ provider: 'buddystat', body, signature: hmac(SECRET, JSON.stringify(JSON.parse(body))) });
    expect(result).toEqual({ verified: true, codes: ['verified_variant', 'reserialised_json'] });
  });

  it('trailing newline added to the capture, or removed from it', () => {
    expect(codes({ provider: 'talki', body: `${talkiBody}\n`, signature: hmac(SECRET, talkiBody) }).codes).toEqual(['trailing_newline_added']);
    expect(codes({ provider: 'talki', body: talkiBody, signature: hmac(SECRET, `${talkiBody}\n`) }).codes).toEqual(['trailing_newline_removed']);
  });

  it('CRLF line endings', () => {
    const lf = '{\n  "userToken": "u1"\n}';
    expect(codes({ provider: 'talki', body: lf.replace(/\n/g, '\r\n'), signature: hmac(SECRET, lf) }).codes).toEqual(['line_endings']);
  });

  it('hex vs base64: the signature matches but in the other encoding', () => {
    expect(codes({ provider: 'talki', body: talkiBody, signature: hmac(SECRET, talkiBody, 'base64') })).toEqual({ verified: false, codes: ['encoding_mismatch'] });
    expect(codes({ provider: 'helper', query: helperQuery, signature: `Bearer ${hmac(SECRET, helperQuery, 'hex')}` }).codes).toEqual(['encoding_mismatch']);
  });

  it('prefixes the platform does not send: sha256= and Bearer', () => {
    expect(codes({ provider: 'talki', body: talkiBody, signature: `sha256=${hmac(SECRET, talkiBody)}` }).codes).toEqual(['unexpected_prefix']);
    expect(codes({ provider: 'talki', body: talkiBody, signature: `Bearer ${hmac(SECRET, talkiBody)}` }).codes).toEqual(['unexpected_prefix']);
  });

  it("helper: Bearer <base64> over the query as sent verifies, with or without '?' or the URL around it", () => {
    const signature = `Bearer ${hmac(SECRET, helperQuery, 'base64')}`;
    expect(codes({ provider: 'helper', query: helperQuery, signature }).verified).toBe(true);
    expect(codes({ provider: 'helper', query: `?${helperQuery}`, signature }).verified).toBe(true);
    expect(codes({ provider: 'helper', query: `https://x.example/helper/customer?${helperQuery}`, signature }).verified).toBe(true);
  });

  it('helper: query re-encoded on the way (%40 decoded to @, which the handler still accepts; + vs %20)', () => {
    const signature = `Bearer ${hmac(SECRET, helperQuery, 'base64')}`;
    expect(codes({ provider: 'helper', query: helperQuery.replace('%40', '@'), signature })).toEqual({ verified: true, codes: ['verified_variant', 'query_reencoded'] });
    const spaced = `email=ada+lovelace%40example.com&timestamp=${NOW / 1000}`;
    const spacedSignature = `Bearer ${hmac(SECRET, spaced, 'base64')}`;
    expect(codes({ provider: 'helper', query: spaced.replace('+', '%20'), signature: spacedSignature }).codes).toContain('query_reencoded');
  });

  it('helper: parameters reordered', () => {
    const reordered = `timestamp=${NOW / 1000}&email=customer%40example.com`;
    expect(codes({ provider: 'helper', query: reordered, signature: `Bearer ${hmac(SECRET, helperQuery, 'base64')}` })).toEqual({ verified: false, codes: ['query_order'] });
  });

  it('stale timestamp: the signature verifies but the request is outside ±300 s (buddy body, helper query)', () => {
    const later = NOW + 600_000;
    const buddy = diagnose({ provider: 'buddy', body: buddyBody, signature: hmac(SECRET, buddyBody), secret: SECRET, nowMs: later });
    expect(buddy.verified).toBe(false);
    expect(buddy.findings.map((f) => f.code)).toEqual(['verified', 'stale_timestamp']);
    expect(buddy.findings[1]!.message).toMatch(/600 s in the past/);
    const helper = diagnose({ provider: 'helper', query: helperQuery, signature: `Bearer ${hmac(SECRET, helperQuery, 'base64')}`, secret: SECRET, nowMs: later });
    expect(helper.findings.map((f) => f.code)).toEqual(['verified', 'stale_timestamp']);
  });

  it('whitespace or quotes around the secret', () => {
    expect(codes({ provider: 'talki', body: talkiBody, secret: `${SECRET}\n`, signature: hmac(SECRET, talkiBody) }).codes).toEqual(['secret_whitespace']);
    expect(codes({ provider: 'talki', body: talkiBody, secret: `"${SECRET}"`, signature: hmac(SECRET, talkiBody) }).codes).toEqual(['secret_quoted']);
  });

  it("bullseye: reads the route's key from the whole secret JSON, and names swapped secrets", () => {
    const stored = JSON.stringify({ identification: 'id-secret', billing: 'billing-secret' });
    const body = '{"type":"invoice.paid"}';
    expect(codes({ provider: 'bullseye', route: '/bullseye/billing', body, secret: stored, signature: hmac('billing-secret', body) }).verified).toBe(true);
    expect(codes({ provider: 'bullseye', route: '/bullseye/identification', body, secret: stored, signature: hmac('billing-secret', body) }).codes).toEqual([
      'wrong_route_secret',
    ]);
  });

  it('missing, malformed, and no input', () => {
    expect(codes({ provider: 'talki', body: talkiBody, signature: '  ' }).codes).toEqual(['missing_signature']);
    expect(codes({ provider: 'talki', body: talkiBody, signature: 'a3f8c2' }).codes).toEqual(['malformed_signature']);
    expect(codes({ provider: 'helper', body: talkiBody, signature: 'x' }).codes).toEqual(['no_input']);
  });
  it('a stored secret the function refuses (trailing newline, truncated JSON) is named as the function names it: 503 "Signing secret misconfigured"', () => {
    const newline = codes({ provider: 'talki', secret: `${SECRET}\n`, body: talkiBody, signature: hmac(SECRET, talkiBody) });
    expect(newline.verified).toBe(false);
    expect(newline.codes).toEqual(['secret_whitespace']);
    expect(diagnose({ provider: 'talki', secret: `${SECRET}\n`, body: talkiBody, signature: hmac(SECRET, talkiBody), nowMs: NOW }).findings[0]!.message).toContain('Signing secret misconfigured');
    const truncated = diagnose({ provider: 'talki', secret: '{"signingSecret": "dev-sec', body: talkiBody, signature: hmac(SECRET, talkiBody), nowMs: NOW });
    expect(truncated.verified).toBe(false);
    expect(truncated.findings[0]).toMatchObject({ code: 'secret_misconfigured', message: expect.stringContaining('Signing secret misconfigured') });
    expect(truncated.findings[0]!.message).toContain('invalid_json');
  });

  it('bullseye: a plain string is fine as --secret, with a note that stored like that the function refuses it', () => {
    const body = '{"event":"visitor.identified"}';
    const result = diagnose({ provider: 'bullseye', route: '/bullseye/identification', secret: SECRET, body, signature: hmac(SECRET, body), nowMs: NOW });
    expect(result.verified).toBe(true);
    expect(result.findings.map((f) => f.code)).toEqual(['secret_misconfigured', 'verified']);
    expect(result.findings[0]!.message).toMatch(/several keys/);
  });
});

describe('diagnose: Standard Webhooks (npm run verify -- standardwebhooks)', () => {
  const whsec = `whsec_${Buffer.from('diagnose-standard-webhooks-key').toString('base64')}`;
  const body = '{"type":"invoice.paid","data":{"id":1}}';
  const id = 'msg_diag_1';
  const timestamp = String(NOW / 1000);
  const signature = new Webhook(whsec).sign(id, new Date(NOW), body);
  const input = { provider: 'standardwebhooks', secret: whsec, messageId: id, timestamp, nowMs: NOW } as const;

  it('a delivery signed by the official library verifies; the expected value is the library\'s', () => {
    expect(codes({ ...input, body, signature })).toEqual({ verified: true, codes: ['verified'] });
    expect(diagnose({ ...input, body, signature: 'v1,x' }).expected).toBe(signature);
  });

  it('names a trailing newline added to the captured body, another secret, a stale timestamp, and the headers it needs', () => {
    expect(codes({ ...input, body: `${body}\n`, signature })).toEqual({ verified: false, codes: ['trailing_newline_added'] });
    const other = new Webhook(`whsec_${Buffer.from('another').toString('base64')}`).sign(id, new Date(NOW), body);
    expect(codes({ ...input, body, signature: other })).toEqual({ verified: false, codes: ['wrong_secret'] });
    expect(codes({ ...input, body, signature, nowMs: NOW + 600_000 })).toEqual({ verified: false, codes: ['verified', 'stale_timestamp'] });
    expect(codes({ provider: 'standardwebhooks', secret: whsec, nowMs: NOW, body, signature })).toEqual({ verified: false, codes: ['missing_webhook_headers'] });
  });
});
