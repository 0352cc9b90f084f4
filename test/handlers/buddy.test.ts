import { afterEach, describe, expect, it, vi } from 'vitest';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createBuddyHandler } from '../../functions/buddy/handler.js';
import { DynamoDbDirectory } from '../../shared/customers/dynamodb.js';
import { InMemoryDirectory } from '../../shared/customers/memory.js';
import type { CustomerDirectory, CustomerProfile } from '../../shared/customers/profile.js';
import { CUSTOMERS_TABLE } from '../../shared/customers/table.js';
import { createCustomersTable } from '../../local/stand-ins/dynamodb.js';
import { useDynalite } from '../support/dynalite.js';
import { EVENT_KINDS, type EventKind } from '../support/events.js';
import {
  GARBAGE_EVENTS,
  NOW_SECONDS,
  call,
  callRaw,
  commonDeps,
  harness,
  failingDirectory,
  stuckDirectory,
  noProfileData,
  postJson,
  rawBodyHex,
  type Answered,
  type Harness,
} from '../support/handler-harness.js';

const DOC = '(buddy-identity-callback.txt)';
const PATH = '/buddy/identity';
const SECRET = 'buddy-callback-secret-0123456789';
const HEADER = 'X-Platform-Signature';

const ADA: CustomerProfile = {
  userId: 'user_123',
  email: 'ada@example.com',
  name: 'Ada Lovelace',
  role: 'customer',
  plan: 'pro',
  value: 4200,
  attributes: { company: 'Analytical Engines Ltd' },
  sessionIds: ['sess_ada'],
};
const PROFILE_VALUES = ['user_123', 'ada@example.com', 'Ada Lovelace', 'Analytical Engines'];

/** The doc's request body, `{ sessionId, agentId, timestamp }`, as Buddy writes it. */
function body(fields: Record<string, unknown> = {}): string {
  return JSON.stringify({ sessionId: 'sess_ada', agentId: 'agt_1', timestamp: NOW_SECONDS, ...fields });
}

/** A request signed as the doc's sample verifies it: hex HMAC-SHA256 of the raw body. */
function signed(raw: string, options: { base64?: boolean; secret?: string } = {}) {
  return postJson(PATH, raw, [[HEADER, rawBodyHex(options.secret ?? SECRET, raw)]], options);
}

function expectNoProfile(answer: Answered): void {
  expect(noProfileData(answer, PROFILE_VALUES)).toEqual([]);
}

function setup(directory: CustomerDirectory = new InMemoryDirectory([ADA])): { h: Harness; handler: ReturnType<typeof createBuddyHandler> } {
  const h = harness(SECRET);
  return { h, handler: createBuddyHandler({ ...commonDeps(h), directory }) };
}

describe.each(EVENT_KINDS)('buddy handler, %s event', (kind: EventKind) => {
  it(`buddy: 200 { userId, email, role, customAttributes } for a known session ${DOC}`, async () => {
    const { handler, h } = setup();
    const answer = await call(handler, kind, signed(body()));
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('application/json');
    expect(answer.json).toEqual({
      userId: 'user_123',
      email: 'ada@example.com',
      role: 'customer',
      customAttributes: { plan: 'pro', lifetimeValue: 4200, company: 'Analytical Engines Ltd' },
    });
    expect(h.logs.requests()).toMatchObject([{ provider: 'buddy', outcome: 'resolved', status: 200 }]);
  });

  it(`buddy: a 200 always carries a userId (AUTH_CALLBACK_BAD_RESPONSE otherwise) ${DOC}`, async () => {
    const { handler } = setup(new InMemoryDirectory([{ userId: 'user_bare', sessionIds: ['sess_bare'] }]));
    const answer = await call(handler, kind, signed(body({ sessionId: 'sess_bare' })));
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ userId: 'user_bare' });
  });

  it(`buddy: 404 for an unknown session, so Buddy falls back to anonymous ${DOC}`, async () => {
    const { handler, h } = setup();
    const answer = await call(handler, kind, signed(body({ sessionId: 'sess_unknown' })));
    expect(answer.status).toBe(404);
    expectNoProfile(answer);
    expect(h.logs.requests()[0]).toMatchObject({ outcome: 'unknown_session', status: 404 });
  });

  it(`buddy: 401 when X-Platform-Signature is missing ${DOC}`, async () => {
    const { handler, h } = setup();
    const answer = await call(handler, kind, postJson(PATH, body()));
    expect(answer.status).toBe(401);
    expectNoProfile(answer);
    expect(h.logs.requests()[0]).toMatchObject({ outcome: 'bad_signature_missing' });
    // Junk is refused before Secrets Manager is asked.
    expect(h.secretsManager.totalCalls()).toBe(0);
  });

  it(`buddy: 401 when X-Platform-Signature is malformed (not 64 hex characters) ${DOC}`, async () => {
    const { handler } = setup();
    for (const signature of ['abc', 'sha256=' + rawBodyHex(SECRET, body()), rawBodyHex(SECRET, body()).slice(2), 'z'.repeat(64)]) {
      const answer = await call(handler, kind, postJson(PATH, body(), [[HEADER, signature]]));
      expect(answer.status, signature).toBe(401);
      expectNoProfile(answer);
    }
  });

  it(`buddy: 401 when the signature was made with another secret or over other bytes ${DOC}`, async () => {
    const { handler, h } = setup();
    const wrongSecret = await call(handler, kind, signed(body(), { secret: 'not-the-callback-secret' }));
    expect(wrongSecret.status).toBe(401);
    expectNoProfile(wrongSecret);
    const tampered = await call(handler, kind, postJson(PATH, body({ sessionId: 'sess_other' }), [[HEADER, rawBodyHex(SECRET, body())]]));
    expect(tampered.status).toBe(401);
    expectNoProfile(tampered);
    expect(h.logs.requests().map((r) => r.outcome)).toEqual(['bad_signature_mismatch', 'bad_signature_mismatch']);
  });

  it(`buddy: 401 when the signed timestamp is outside ±300 s ${DOC}`, async () => {
    const { handler, h } = setup();
    for (const timestamp of [NOW_SECONDS - 301, NOW_SECONDS + 301, NOW_SECONDS - 86_400]) {
      const answer = await call(handler, kind, signed(body({ timestamp })));
      expect(answer.status, String(timestamp)).toBe(401);
      expectNoProfile(answer);
    }
    expect(h.logs.requests().every((r) => r.outcome === 'stale_timestamp')).toBe(true);
    // Inside the window both ways is fine.
    for (const timestamp of [NOW_SECONDS - 299, NOW_SECONDS + 299, String(NOW_SECONDS)]) {
      expect((await call(handler, kind, signed(body({ timestamp })))).status, String(timestamp)).toBe(200);
    }
  });

  it(`buddy: 401 when the timestamp is missing or not a number ${DOC}`, async () => {
    const { handler } = setup();
    const missing = await call(handler, kind, signed(JSON.stringify({ sessionId: 'sess_ada', agentId: 'agt_1' })));
    expect(missing.status).toBe(401);
    const words = await call(handler, kind, signed(body({ timestamp: 'yesterday' })));
    expect(words.status).toBe(401);
    expectNoProfile(missing);
    expectNoProfile(words);
  });

  it(`buddy: 400 for a validly signed body that is not JSON ${DOC}`, async () => {
    const { handler, h } = setup();
    const answer = await call(handler, kind, signed('{"sessionId": "sess_ada", '));
    expect(answer.status).toBe(400);
    expectNoProfile(answer);
    expect(h.logs.requests()[0]).toMatchObject({ outcome: 'invalid_json', status: 400 });
  });

  it(`buddy: 400 for a validly signed body without a sessionId ${DOC}`, async () => {
    const { handler, h } = setup();
    for (const raw of [JSON.stringify({ agentId: 'agt_1', timestamp: NOW_SECONDS }), body({ sessionId: '' }), body({ sessionId: 42 })]) {
      const answer = await call(handler, kind, signed(raw));
      expect(answer.status, raw).toBe(400);
      expectNoProfile(answer);
    }
    expect(h.logs.requests().every((r) => r.outcome === 'invalid_request')).toBe(true);
  });

  it(`buddy: 413 for a body over 16 KiB, before any signature work ${DOC}`, async () => {
    const { handler, h } = setup();
    const raw = body({ padding: 'x'.repeat(17 * 1024) });
    const answer = await call(handler, kind, signed(raw));
    expect(answer.status).toBe(413);
    expectNoProfile(answer);
    expect(h.secretsManager.totalCalls()).toBe(0);
  });

  it(`buddy: 405 with Allow: POST for a GET on the callback URL ${DOC}`, async () => {
    const { handler } = setup();
    const answer = await call(handler, kind, { method: 'GET', path: PATH, headers: [[HEADER, rawBodyHex(SECRET, '')]] });
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe('POST');
    expectNoProfile(answer);
  });

  it(`buddy: 503 with Retry-After when the directory fails, never a profile-less 200 ${DOC}`, async () => {
    const { handler, h } = setup(failingDirectory());
    const answer = await call(handler, kind, signed(body()));
    expect(answer.status).toBe(503);
    expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
    expectNoProfile(answer);
    expect(h.logs.requests()[0]).toMatchObject({ outcome: 'lookup_failed', status: 503 });
  });

  it(`buddy: 503 with Retry-After when the directory is slower than the 1.5 s deadline ${DOC}`, async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const stuck = stuckDirectory();
      const { handler, h } = setup(stuck.directory);
      const pending = call(handler, kind, signed(body()));
      // The deadline's timer is set before the lookup starts: once the directory is asked, it runs.
      await stuck.entered;
      await vi.advanceTimersByTimeAsync(1_499);
      let settled = false;
      void pending.then(() => (settled = true));
      await Promise.resolve();
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      const answer = await pending;
      expect(answer.status).toBe(503);
      expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
      expectNoProfile(answer);
      expect(h.logs.requests()[0]).toMatchObject({ outcome: 'lookup_timeout', status: 503 });
    } finally {
      vi.useRealTimers();
    }
  });

  it(`buddy: a base64-encoded body verifies byte-exact ${DOC}`, async () => {
    const { handler } = setup();
    const answer = await call(handler, kind, signed(body(), { base64: true }));
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ userId: 'user_123' });
  });

  it(`buddy: a pretty-printed body verifies byte-exact, and its compact form does not ${DOC}`, async () => {
    const { handler } = setup();
    const pretty = JSON.stringify({ sessionId: 'sess_ada', agentId: 'agt_1', timestamp: NOW_SECONDS }, null, 2) + '\n';
    expect((await call(handler, kind, signed(pretty))).status).toBe(200);
    const compactSignature = rawBodyHex(SECRET, JSON.stringify(JSON.parse(pretty)));
    const answer = await call(handler, kind, postJson(PATH, pretty, [[HEADER, compactSignature]]));
    expect(answer.status).toBe(401);
  });

  it(`buddy: non-ASCII bodies are verified as UTF-8 bytes ${DOC}`, async () => {
    const { handler } = setup(new InMemoryDirectory([{ ...ADA, sessionIds: ['sess_émilie_✓'] }]));
    expect((await call(handler, kind, signed(body({ sessionId: 'sess_émilie_✓' })))).status).toBe(200);
    expect((await call(handler, kind, signed(body({ sessionId: 'sess_émilie_✓' }), { base64: true }))).status).toBe(200);
  });

  it(`buddy: the request log line carries no secret, signature or body ${DOC}`, async () => {
    const { handler, h } = setup();
    const raw = body();
    await call(handler, kind, signed(raw));
    await call(handler, kind, signed(body({ sessionId: 'sess_unknown' })));
    const text = h.logs.text();
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(rawBodyHex(SECRET, raw));
    expect(text).not.toContain('sess_ada');
    expect(text).not.toContain('ada@example.com');
  });
});

describe('buddy handler, the deadline in real time', () => {
  it(`buddy: a directory that never answers still gets a 503 inside Buddy's time, once per shape ${DOC}`, async () => {
    const { handler } = setup(stuckDirectory().directory);
    const started = performance.now();
    const answers = await Promise.all(EVENT_KINDS.map((kind) => call(handler, kind, signed(body()))));
    const elapsed = performance.now() - started;
    expect(answers.map((a) => a.status)).toEqual([503, 503, 503]);
    // Generous: the deadline is 1.5 s and Buddy's assumed timeout 3 s.
    expect(elapsed).toBeLessThan(3_000);
  });
});

describe('buddy handler, garbage events', () => {
  it.each(GARBAGE_EVENTS)(`buddy: %s is answered, never thrown ${DOC}`, async (_name, event) => {
    const { handler } = setup();
    const answer = await callRaw(handler, event);
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(noProfileData(answer, PROFILE_VALUES)).toEqual([]);
  });
});

describe('buddy handler against DynamoDbDirectory on dynalite', () => {
  const TABLE = 'customers-buddy-handler';
  let directory: DynamoDbDirectory;
  const dynamo = useDynalite(async (client) => {
    await createCustomersTable(client, TABLE);
    directory = new DynamoDbDirectory({ tableName: TABLE, client, now: () => NOW_SECONDS * 1000 });
    await directory.putCustomer(ADA);
    await directory.recordSession('sess_ada', 'user_123');
    await directory.recordSession('sess_expired', 'user_123', { ttlSeconds: 1 });
    // A session whose customer item is broken (no userId): the directory refuses it.
    await client.send(
      new PutItemCommand({ TableName: TABLE, Item: { pk: { S: CUSTOMERS_TABLE.userKey('user_broken') }, email: { S: 'broken@example.com' } } }),
    );
    await directory.recordSession('sess_broken', 'user_broken');
  });

  afterEach(() => vi.useRealTimers());

  it.each(EVENT_KINDS)(`buddy: 200 for a session recorded with recordSession, 404 for an unknown one (%s) ${DOC}`, async (kind) => {
    const { handler } = setup(directory);
    const known = await call(handler, kind, signed(body()));
    expect(known.status).toBe(200);
    expect(known.json).toEqual({
      userId: 'user_123',
      email: 'ada@example.com',
      role: 'customer',
      customAttributes: { plan: 'pro', lifetimeValue: 4200, company: 'Analytical Engines Ltd' },
    });
    const unknown = await call(handler, kind, signed(body({ sessionId: 'sess_nobody' })));
    expect(unknown.status).toBe(404);
    expectNoProfile(unknown);
  });

  it.each(EVENT_KINDS)(`buddy: 404 for a session past its TTL, even before DynamoDB sweeps it (%s) ${DOC}`, async (kind) => {
    const later = new DynamoDbDirectory({ tableName: TABLE, client: dynamo().client, now: () => (NOW_SECONDS + 3600) * 1000 });
    const answer = await call(setup(later).handler, kind, signed(body({ sessionId: 'sess_expired' })));
    expect(answer.status).toBe(404);
    expectNoProfile(answer);
  });

  it.each(EVENT_KINDS)(`buddy: 503, never a 200 without userId, when the stored customer is not a valid profile (%s) ${DOC}`, async (kind) => {
    const { handler, h } = setup(directory);
    const answer = await call(handler, kind, signed(body({ sessionId: 'sess_broken' })));
    expect(answer.status).toBe(503);
    expectNoProfile(answer);
    expect(answer.text).not.toContain('broken@example.com');
    expect(h.logs.requests()[0]).toMatchObject({ outcome: 'lookup_failed' });
  });
});
