import { describe, expect, it, vi } from 'vitest';
import { createHelperHandler } from '../../functions/helper/handler.js';
import { DynamoDbDirectory } from '../../shared/customers/dynamodb.js';
import { InMemoryDirectory } from '../../shared/customers/memory.js';
import type { CustomerDirectory, CustomerProfile } from '../../shared/customers/profile.js';
import { createCustomersTable } from '../../local/stand-ins/dynamodb.js';
import { useDynalite } from '../support/dynalite.js';
import { EVENT_KINDS, restV1Event, type EventKind } from '../support/events.js';
import {
  GARBAGE_EVENTS,
  NOW_SECONDS,
  call,
  callRaw,
  commonDeps,
  failingDirectory,
  harness,
  helperGet,
  helperSigned,
  noProfileData,
  stuckDirectory,
  type Answered,
  type Harness,
} from '../support/handler-harness.js';

const DOC = '(helper-metadata-endpoint.txt)';
const PATH = '/helper/customer';
const SECRET = 'helper-hmac-secret-from-settings';

const ADA: CustomerProfile = {
  userId: 'usr_ada',
  email: 'ada@example.com',
  name: 'Ada Lovelace',
  role: 'Senior Developer',
  plan: 'pro',
  value: 1000,
  attributes: { Department: 'Engineering', 'Join Date': '2023-01-15', seats: 5, address: { city: 'London' } },
  actions: {
    Profile: 'https://admin.example.com/users/usr_ada',
    Orders: 'https://admin.example.com/orders?user=usr_ada',
    Notes: 'see the CRM',
    Script: 'javascript:alert(1)',
  },
};
const PROFILE_VALUES = ['Ada Lovelace', 'Engineering', 'admin.example.com', 'Senior Developer'];
const EXPECTED_ADA = {
  success: true,
  customer: {
    name: 'Ada Lovelace',
    value: 1000,
    actions: { Profile: 'https://admin.example.com/users/usr_ada', Orders: 'https://admin.example.com/orders?user=usr_ada' },
    metadata: { Plan: 'pro', Role: 'Senior Developer', Department: 'Engineering', 'Join Date': '2023-01-15', seats: 5, address: { city: 'London' } },
  },
};

/** Helper's request: the query it signed, as it signed it, with the signature as a bearer token. */
function signedGet(params: Record<string, string>, secret = SECRET) {
  const { query, authorization } = helperSigned(secret, params);
  return helperGet(PATH, query, authorization);
}

function params(email: string, timestamp: number | string = NOW_SECONDS): Record<string, string> {
  return { email, timestamp: String(timestamp) };
}

function setup(directory: CustomerDirectory = new InMemoryDirectory([ADA])): { h: Harness; handler: ReturnType<typeof createHelperHandler> } {
  const h = harness({ signingSecret: SECRET });
  return { h, handler: createHelperHandler({ ...commonDeps(h), directory }) };
}

/** Helper validates the answer strictly: `success` literally true, `customer` fields of the documented types only. */
function expectStrictShape(answer: Answered): void {
  expect(answer.status).toBe(200);
  const body = answer.json as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['customer', 'success']);
  expect(body.success).toBe(true);
  const customer = body.customer as Record<string, unknown>;
  expect(typeof customer === 'object' && customer !== null && !Array.isArray(customer)).toBe(true);
  for (const key of Object.keys(customer)) expect(['name', 'value', 'actions', 'metadata']).toContain(key);
  if ('name' in customer) expect(customer.name === null || typeof customer.name === 'string').toBe(true);
  if ('value' in customer) expect(customer.value === null || Number.isFinite(customer.value)).toBe(true);
  if ('actions' in customer) {
    for (const url of Object.values(customer.actions as Record<string, unknown>)) {
      expect(typeof url).toBe('string');
      expect(() => new URL(url as string)).not.toThrow();
    }
  }
  if ('metadata' in customer) expect(typeof customer.metadata).toBe('object');
}

function expectError(answer: Answered, status: number): void {
  expect(answer.status).toBe(status);
  expect(noProfileData(answer, PROFILE_VALUES)).toEqual([]);
}

describe.each(EVENT_KINDS)('helper handler, %s event', (kind: EventKind) => {
  it(`helper: 200 { success: true, customer: { name, value, actions, metadata } } for a known email ${DOC}`, async () => {
    const { handler, h } = setup();
    const answer = await call(handler, kind, signedGet(params('ada@example.com')));
    expect(answer.json).toEqual(EXPECTED_ADA);
    expectStrictShape(answer);
    expect(h.logs.requests()[0]).toMatchObject({ provider: 'helper', outcome: 'resolved', status: 200 });
  });

  it(`helper: 200 { success: true, customer: {} } for an unknown email (the "test endpoint" button) ${DOC}`, async () => {
    const { handler, h } = setup();
    const answer = await call(handler, kind, signedGet(params('nobody@example.com')));
    expect(answer.json).toEqual({ success: true, customer: {} });
    expectStrictShape(answer);
    expect(h.logs.requests()[0]).toMatchObject({ outcome: 'unknown_email', status: 200 });
  });

  it(`helper: the email is matched case-insensitively ${DOC}`, async () => {
    const { handler } = setup();
    expect((await call(handler, kind, signedGet(params('ADA@Example.COM')))).json).toEqual(EXPECTED_ADA);
  });

  it(`helper: the doc's serialisation (email=ada%40example.com) verifies as sent ${DOC}`, async () => {
    const { handler } = setup();
    const spec = signedGet(params('ada@example.com'));
    expect(spec.query).toBe(`email=ada%40example.com&timestamp=${NOW_SECONDS}`);
    expectStrictShape(await call(handler, kind, spec));
  });

  it(`helper: a query sent with a literal @ (the doc's request example) verifies through URLSearchParams ${DOC}`, async () => {
    const { handler } = setup();
    const { authorization } = helperSigned(SECRET, params('ada@example.com'));
    const answer = await call(handler, kind, helperGet(PATH, `email=ada@example.com&timestamp=${NOW_SECONDS}`, authorization));
    expect(answer.json).toEqual(EXPECTED_ADA);
  });

  it(`helper: 401 when the Authorization bearer is missing, malformed or made with another secret ${DOC}`, async () => {
    const { handler, h } = setup();
    const { query, signature } = helperSigned(SECRET, params('ada@example.com'));
    expectError(await call(handler, kind, helperGet(PATH, query)), 401);
    expectError(await call(handler, kind, helperGet(PATH, query, 'Bearer ')), 401);
    expectError(await call(handler, kind, helperGet(PATH, query, 'Bearer not*base64')), 401);
    expectError(await call(handler, kind, helperGet(PATH, query, `Bearer ${signature.slice(4)}`)), 401);
    expectError(await call(handler, kind, signedGet(params('ada@example.com'), 'another-secret')), 401);
    const outcomes = h.logs.requests().map((r) => r.outcome);
    // An empty `Bearer ` is trimmed to the bare scheme word by the header parser: missing or malformed, both 401.
    expect(outcomes[1]).toMatch(/^bad_signature_(missing|malformed)$/);
    expect([outcomes[0], ...outcomes.slice(2)]).toEqual(['bad_signature_missing', 'bad_signature_malformed', 'bad_signature_malformed', 'bad_signature_mismatch']);
  });

  it(`helper: 401 when the signed query was for another email (scraping) ${DOC}`, async () => {
    const { handler } = setup();
    const { authorization } = helperSigned(SECRET, params('someone@example.com'));
    const answer = await call(handler, kind, helperGet(PATH, new URLSearchParams(params('ada@example.com')).toString(), authorization));
    expectError(answer, 401);
  });

  it(`helper: 401 for a stale or missing timestamp, even when correctly signed ${DOC}`, async () => {
    const { handler, h } = setup();
    expectError(await call(handler, kind, signedGet(params('ada@example.com', NOW_SECONDS - 301))), 401);
    expectError(await call(handler, kind, signedGet(params('ada@example.com', NOW_SECONDS + 3_600))), 401);
    expectError(await call(handler, kind, signedGet({ email: 'ada@example.com' })), 401);
    expect(h.logs.requests().map((r) => r.outcome)).toEqual(['stale_timestamp', 'stale_timestamp', 'missing_timestamp']);
  });

  it(`helper: 400 when the signed query has no email ${DOC}`, async () => {
    const { handler, h } = setup();
    expectError(await call(handler, kind, signedGet({ timestamp: String(NOW_SECONDS) })), 400);
    expectError(await call(handler, kind, signedGet({ email: '  ', timestamp: String(NOW_SECONDS) })), 400);
    expect(h.logs.requests().every((r) => r.outcome === 'invalid_request')).toBe(true);
  });

  it(`helper: actions that are not URLs are left out, so Helper does not reject the answer ${DOC}`, async () => {
    const { handler } = setup();
    const answer = await call(handler, kind, signedGet(params('ada@example.com')));
    const actions = (answer.json as typeof EXPECTED_ADA).customer.actions;
    expect(Object.keys(actions).sort()).toEqual(['Orders', 'Profile']);
  });

  it(`helper: 503 with Retry-After when the directory fails, not an empty success ${DOC}`, async () => {
    const { handler } = setup(failingDirectory());
    const answer = await call(handler, kind, signedGet(params('ada@example.com')));
    expectError(answer, 503);
    expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
    expect((answer.json as Record<string, unknown>).success).toBeUndefined();
  });

  it(`helper: 405 for a POST to the metadata endpoint ${DOC}`, async () => {
    const { handler } = setup();
    const answer = await call(handler, kind, { method: 'POST', path: PATH, body: '{}', headers: [['Content-Type', 'application/json']] });
    expectError(answer, 405);
    expect(answer.headers.allow).toBe('GET');
  });
});

describe('helper handler, event-shape details', () => {
  it(`helper: a REST v1 event (no raw query) verifies through the URLSearchParams serialisation ${DOC}`, async () => {
    const { handler } = setup();
    const event = restV1Event(signedGet(params('Ada@Example.com')));
    expect(event).not.toHaveProperty('rawQueryString');
    expect(event.queryStringParameters).toEqual({ email: 'Ada@Example.com', timestamp: String(NOW_SECONDS) });
    const answer = await callRaw(handler, event);
    expect(answer.json).toEqual(EXPECTED_ADA);
  });

  it(`helper: 503 past the 5 s deadline, inside Helper's 15 s ${DOC}`, async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const stuck = stuckDirectory();
      const { handler } = setup(stuck.directory);
      const pending = call(handler, 'function-url', signedGet(params('ada@example.com')));
      await stuck.entered;
      await vi.advanceTimersByTimeAsync(5_000);
      const answer = await pending;
      expectError(answer, 503);
    } finally {
      vi.useRealTimers();
    }
  });

  it.each(GARBAGE_EVENTS)(`helper: %s is answered, never thrown ${DOC}`, async (_name, event) => {
    const answer = await callRaw(setup().handler, event);
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(noProfileData(answer, PROFILE_VALUES)).toEqual([]);
  });
});

describe('helper handler against DynamoDbDirectory on dynalite', () => {
  const TABLE = 'customers-helper-handler';
  let directory: DynamoDbDirectory;
  useDynalite(async (client) => {
    await createCustomersTable(client, TABLE);
    directory = new DynamoDbDirectory({ tableName: TABLE, client: client });
    await directory.putCustomer({ ...ADA, email: 'Ada@Example.com' });
  });

  it.each(EVENT_KINDS)(`helper: known email through the byEmail index, any case (%s) ${DOC}`, async (kind) => {
    const { handler } = setup(directory);
    const answer = await call(handler, kind, signedGet(params('ada@EXAMPLE.com')));
    expect(answer.json).toEqual(EXPECTED_ADA);
    expectStrictShape(answer);
  });

  it.each(EVENT_KINDS)(`helper: unknown email is an empty success against the table (%s) ${DOC}`, async (kind) => {
    const { handler } = setup(directory);
    const answer = await call(handler, kind, signedGet(params('nobody@example.com')));
    expect(answer.json).toEqual({ success: true, customer: {} });
  });
});
