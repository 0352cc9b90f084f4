import { timingSafeEqual } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { createTalkiHandler } from '../../functions/talki/handler.js';
import { DynamoDbDirectory } from '../../shared/customers/dynamodb.js';
import { InMemoryDirectory } from '../../shared/customers/memory.js';
import type { CustomerDirectory, CustomerProfile } from '../../shared/customers/profile.js';
import { createCustomersTable } from '../../local/stand-ins/dynamodb.js';
import { useDynalite } from '../support/dynalite.js';
import { EVENT_KINDS, type EventKind } from '../support/events.js';
import {
  GARBAGE_EVENTS,
  call,
  callRaw,
  commonDeps,
  failingDirectory,
  harness,
  noProfileData,
  postJson,
  rawBodyHex,
  stuckDirectory,
  type Answered,
  type Harness,
} from '../support/handler-harness.js';

const DOC = '(talki-backend-connect.txt)';
const PATH = '/talki/customer';
const SECRET = 'talki-signing-secret-shown-once';
const HEADER = 'X-Talki-Signature';

const ALICE: CustomerProfile = {
  userId: 'usr_abc123',
  name: 'Alice Johnson',
  email: 'alice@example.com',
  plan: 'pro',
  role: 'admin',
  attributes: {
    mrr: 149,
    company: 'Acme Inc',
    signedUpAt: new Date('2024-01-15T00:00:00.000Z'),
    seats: 5,
    trial: false,
    billingAddress: { city: 'London' },
    tags: ['vip'],
    deletedAt: null,
  },
};
const NUMERIC: CustomerProfile = { userId: '12345', name: 'Numeric Nick', email: 'nick@example.com' };
const PROFILE_VALUES = ['Alice Johnson', 'alice@example.com', 'Acme Inc', 'Numeric Nick'];

/** Signed as the doc's Express sample verifies it: hex HMAC-SHA256 of the raw body. */
function signed(raw: string, options: { base64?: boolean; secret?: string } = {}) {
  return postJson(PATH, raw, [[HEADER, rawBodyHex(options.secret ?? SECRET, raw)]], options);
}

function setup(directory: CustomerDirectory = new InMemoryDirectory([ALICE, NUMERIC]), env: Record<string, string> = {}): {
  h: Harness;
  handler: ReturnType<typeof createTalkiHandler>;
} {
  const h = harness({ signingSecret: SECRET }, env);
  return { h, handler: createTalkiHandler({ ...commonDeps(h), directory }) };
}

function expectError(answer: Answered, status: number): void {
  expect(answer.status).toBe(status);
  // Talki's sample answers errors as `{ error }` JSON.
  expect(answer.json).toEqual({ error: expect.any(String) });
  expect(noProfileData(answer, PROFILE_VALUES)).toEqual([]);
}

/** Only strings, numbers and booleans: what "fields accepts". */
function expectRenderableFields(fields: unknown): void {
  expect(typeof fields).toBe('object');
  for (const value of Object.values(fields as Record<string, unknown>)) expect(['string', 'number', 'boolean']).toContain(typeof value);
}

describe.each(EVENT_KINDS)('talki handler, %s event', (kind: EventKind) => {
  it(`talki: 200 { name, email, plan, fields } for a known userToken ${DOC}`, async () => {
    const { handler } = setup();
    const answer = await call(handler, kind, signed('{ "userToken": "usr_abc123" }'));
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({
      name: 'Alice Johnson',
      email: 'alice@example.com',
      plan: 'pro',
      fields: { mrr: 149, company: 'Acme Inc', signedUpAt: '2024-01-15T00:00:00.000Z', seats: 5, trial: false },
    });
    expectRenderableFields((answer.json as { fields: unknown }).fields);
  });

  it(`talki: fields hold only strings, numbers and booleans; a Date becomes an ISO string ${DOC}`, async () => {
    const { handler, h } = setup();
    const answer = await call(handler, kind, signed(JSON.stringify({ userToken: 'usr_abc123' })));
    const fields = (answer.json as { fields: Record<string, unknown> }).fields;
    expectRenderableFields(fields);
    expect(fields.signedUpAt).toBe('2024-01-15T00:00:00.000Z');
    expect(fields).not.toHaveProperty('billingAddress');
    expect(fields).not.toHaveProperty('tags');
    expect(fields).not.toHaveProperty('deletedAt');
  });

  it(`talki: fields Talki cannot render are dropped and named in the log line's droppedFields ${DOC}`, async () => {
    const { handler, h } = setup();
    await call(handler, kind, signed(JSON.stringify({ userToken: 'usr_abc123' })));
    const [line] = h.logs.requests();
    expect(line).toMatchObject({ provider: 'talki', outcome: 'resolved', status: 200 });
    expect([...(line!.droppedFields as string[])].sort()).toEqual(['billingAddress', 'deletedAt', 'tags']);
    // Names only, never the values.
    expect(h.logs.text()).not.toContain('London');
  });

  it(`talki: no fields key when the profile has no renderable attributes ${DOC}`, async () => {
    const { handler } = setup();
    const answer = await call(handler, kind, signed(JSON.stringify({ userToken: '12345' })));
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ name: 'Numeric Nick', email: 'nick@example.com' });
  });

  it(`talki: a numeric userToken (identity.userId set as a number) is looked up as its string ${DOC}`, async () => {
    const { handler } = setup();
    const answer = await call(handler, kind, signed('{"userToken":12345}'));
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ name: 'Numeric Nick' });
  });

  it(`talki: the user token field is configurable (TALKI_USER_TOKEN_FIELD, Admin → Backend Connect) ${DOC}`, async () => {
    const { handler } = setup(undefined, { TALKI_USER_TOKEN_FIELD: 'visitorId' });
    const answer = await call(handler, kind, signed(JSON.stringify({ visitorId: 'usr_abc123' })));
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ name: 'Alice Johnson' });
    // With the field renamed, the default name is no longer read.
    expectError(await call(handler, kind, signed(JSON.stringify({ userToken: 'usr_abc123' }))), 400);
  });

  it(`talki: 404 { error } when the user is unknown ${DOC}`, async () => {
    const { handler, h } = setup();
    expectError(await call(handler, kind, signed(JSON.stringify({ userToken: 'usr_nobody' }))), 404);
    expect(h.logs.requests()[0]).toMatchObject({ outcome: 'unknown_user', status: 404 });
  });

  it(`talki: 401 { error } when X-Talki-Signature is missing, malformed or wrong ${DOC}`, async () => {
    const { handler, h } = setup();
    const raw = JSON.stringify({ userToken: 'usr_abc123' });
    expectError(await call(handler, kind, postJson(PATH, raw)), 401);
    expectError(await call(handler, kind, postJson(PATH, raw, [[HEADER, 'not-a-signature']])), 401);
    expectError(await call(handler, kind, signed(raw, { secret: 'rotated-away-secret' })), 401);
    expectError(await call(handler, kind, postJson(PATH, JSON.stringify({ userToken: 'usr_other' }), [[HEADER, rawBodyHex(SECRET, raw)]])), 401);
    expect(h.logs.requests().map((r) => r.outcome)).toEqual(['bad_signature_missing', 'bad_signature_malformed', 'bad_signature_mismatch', 'bad_signature_mismatch']);
  });

  it(`talki: 401 { error }, not a crash, for a wrong-length signature that makes the doc's own sample throw RangeError ${DOC}`, async () => {
    const raw = JSON.stringify({ userToken: 'usr_abc123' });
    const shortSignature = rawBodyHex(SECRET, raw).slice(0, 40);
    // The doc's comparison, verbatim: Buffers of different lengths throw.
    const docSample = () => timingSafeEqual(Buffer.from(shortSignature), Buffer.from(rawBodyHex(SECRET, raw)));
    expect(docSample).toThrow(RangeError);
    const { handler } = setup();
    expectError(await call(handler, kind, postJson(PATH, raw, [[HEADER, shortSignature]])), 401);
    expectError(await call(handler, kind, postJson(PATH, raw, [[HEADER, rawBodyHex(SECRET, raw) + '00']])), 401);
  });

  it(`talki: 400 { error } for a validly signed body that is not JSON ${DOC}`, async () => {
    const { handler, h } = setup();
    expectError(await call(handler, kind, signed('userToken=usr_abc123')), 400);
    expect(h.logs.requests()[0]).toMatchObject({ outcome: 'invalid_json' });
  });

  it(`talki: 400 { error } for a validly signed body without a userToken ${DOC}`, async () => {
    const { handler } = setup();
    for (const raw of ['{}', '{"userToken":""}', '{"userToken":"   "}', '{"userToken":null}', '{"userToken":{"id":"usr_abc123"}}', '[]', '"usr_abc123"']) {
      expectError(await call(handler, kind, signed(raw)), 400);
    }
  });

  it(`talki: 503 { error } with Retry-After when the directory fails ${DOC}`, async () => {
    const { handler, h } = setup(failingDirectory());
    const answer = await call(handler, kind, signed(JSON.stringify({ userToken: 'usr_abc123' })));
    expectError(answer, 503);
    expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
    expect(h.logs.requests()[0]).toMatchObject({ outcome: 'lookup_failed' });
  });

  it(`talki: 503 { error } past the 3 s deadline, inside Talki's 5 s ${DOC}`, async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const stuck = stuckDirectory();
      const { handler, h } = setup(stuck.directory);
      const pending = call(handler, kind, signed(JSON.stringify({ userToken: 'usr_abc123' })));
      await stuck.entered;
      let settled = false;
      void pending.then(() => (settled = true));
      await vi.advanceTimersByTimeAsync(2_999);
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      const answer = await pending;
      expectError(answer, 503);
      expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
      expect(h.logs.requests()[0]).toMatchObject({ outcome: 'lookup_timeout' });
    } finally {
      vi.useRealTimers();
    }
  });

  it(`talki: the raw body is verified, base64-delivered or pretty-printed ${DOC}`, async () => {
    const { handler } = setup();
    const pretty = '{\n  "userToken": "usr_abc123"\n}';
    expect((await call(handler, kind, signed(pretty))).status).toBe(200);
    expect((await call(handler, kind, signed(pretty, { base64: true }))).status).toBe(200);
    // "Compute the HMAC over the raw request body — not the parsed JSON."
    expectError(await call(handler, kind, postJson(PATH, pretty, [[HEADER, rawBodyHex(SECRET, JSON.stringify(JSON.parse(pretty)))]])), 401);
  });

  it(`talki: 405 for a GET ${DOC}`, async () => {
    const { handler } = setup();
    const answer = await call(handler, kind, { method: 'GET', path: PATH });
    expectError(answer, 405);
  });

  it(`talki: 413 for a body over 16 KiB ${DOC}`, async () => {
    const { handler } = setup();
    expectError(await call(handler, kind, signed(JSON.stringify({ userToken: 'usr_abc123', pad: 'x'.repeat(17 * 1024) }))), 413);
  });
});

describe('talki handler, garbage events', () => {
  it.each(GARBAGE_EVENTS)(`talki: %s is answered, never thrown ${DOC}`, async (_name, event) => {
    const answer = await callRaw(setup().handler, event);
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(noProfileData(answer, PROFILE_VALUES)).toEqual([]);
  });
});

describe('talki handler against DynamoDbDirectory on dynalite', () => {
  const TABLE = 'customers-talki-handler';
  let directory: DynamoDbDirectory;
  useDynalite(async (client) => {
    await createCustomersTable(client, TABLE);
    directory = new DynamoDbDirectory({ tableName: TABLE, client: client });
    // DynamoDB has no Date: the stored sign-up date is already a string.
    await directory.putCustomer({ ...ALICE, attributes: { ...ALICE.attributes, signedUpAt: '2024-01-15', deletedAt: undefined } });
    await directory.putCustomer(NUMERIC);
  });

  it.each(EVENT_KINDS)(`talki: 200 with renderable fields, nested ones dropped, from the customers table (%s) ${DOC}`, async (kind) => {
    const { handler, h } = setup(directory);
    const answer = await call(handler, kind, signed(JSON.stringify({ userToken: 'usr_abc123' })));
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({
      name: 'Alice Johnson',
      email: 'alice@example.com',
      plan: 'pro',
      fields: { mrr: 149, company: 'Acme Inc', signedUpAt: '2024-01-15', seats: 5, trial: false },
    });
    expect([...(h.logs.requests()[0]!.droppedFields as string[])].sort()).toEqual(['billingAddress', 'tags']);
  });

  it.each(EVENT_KINDS)(`talki: numeric userToken and unknown user against the table (%s) ${DOC}`, async (kind) => {
    const { handler } = setup(directory);
    expect((await call(handler, kind, signed('{"userToken":12345}'))).json).toEqual({ name: 'Numeric Nick', email: 'nick@example.com' });
    expectError(await call(handler, kind, signed('{"userToken":"usr_nobody"}')), 404);
  });

  it(`talki: a userToken longer than DynamoDB's key limit is an unknown user (404), not 503 "directory unavailable" ${DOC}`, async () => {
    const { handler, h } = setup(directory);
    expectError(await call(handler, 'function-url', signed(JSON.stringify({ userToken: `usr_${'x'.repeat(3_000)}` }))), 404);
    expect(h.logs.requests().at(-1)).toMatchObject({ outcome: 'unknown_user', status: 404 });
  });
});
