import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_REQUEST_BYTES, startLocalStack, type LocalStack } from '../../local/app.js';
import {
  buildPlatformRequest,
  routeFor,
  sendPlatformRequest,
  signingSecretFor,
  type PlatformRequest,
  type PlatformRequestOptions,
} from '../../local/platform-requests.js';
import { PROVIDER_IDS, type ProviderId } from '../../shared/providers.js';

/**
 * npm start's stack on an ephemeral port, with the committed sample secrets and customers, driven
 * over real HTTP with requests built and signed exactly as each platform builds them.
 */
let stack: LocalStack;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-server-'));
  stack = await startLocalStack({ port: 0, eventsFile: join(dir, 'events.jsonl'), quiet: true });
});

afterAll(async () => {
  await stack?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The committed dev secret for the provider's route. */
function secretFor(provider: ProviderId, eventType?: string): string {
  const secret = signingSecretFor(stack.secrets[provider]!, routeFor(provider, eventType));
  if (!secret) throw new Error(`no sample secret for ${provider}`);
  return secret;
}

function build(provider: ProviderId, options: Omit<PlatformRequestOptions, 'secret'> & { secret?: string } = {}): PlatformRequest {
  return buildPlatformRequest(provider, { secret: secretFor(provider, options.eventType), ...options });
}

async function send(request: PlatformRequest): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await sendPlatformRequest(stack.url, request);
  return { status: response.status, json: response.body ? (JSON.parse(response.body) as Record<string, unknown>) : {} };
}

/** The events file's lines: `{source, detailType, time, detail}`, `detail` the Detail text PutEvents would get. */
interface EventLine {
  readonly source: string;
  readonly detailType: string;
  readonly time: string;
  readonly detail: string;
}

async function events(): Promise<EventLine[]> {
  const text = await readFile(stack.eventsFile, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as EventLine);
}

/** Distinct, recent clocks so every webhook body (and its de-duplication key) is new. */
let tick = 0;
const fresh = () => Date.now() - 1000 + tick++;

describe('npm start: every provider over real HTTP', () => {
  it('buddy: 200 with the session\'s user (buddy-identity-callback.txt)', async () => {
    const { status, json } = await send(build('buddy', { sessionId: 'sess_demo_1' }));
    expect(status).toBe(200);
    expect(json).toMatchObject({ userId: 'usr_ada', email: 'ada@example.com', role: 'customer', customAttributes: { plan: 'pro' } });
  });

  it('talki: 200 with name, email, plan and flat fields; nested values left out (talki-backend-connect.txt)', async () => {
    const { status, json } = await send(build('talki', { userToken: 'usr_ada' }));
    expect(status).toBe(200);
    expect(json).toMatchObject({ name: 'Ada Lovelace', email: 'ada@example.com', plan: 'pro', fields: { company: 'Analytical Engines Ltd', mrr: 149, seats: 5 } });
    expect((json.fields as Record<string, unknown>).billingAddress).toBeUndefined();
  });

  it('helper: 200 { success: true, customer } for a known email, case-insensitively (helper-metadata-endpoint.txt)', async () => {
    const { status, json } = await send(build('helper', { email: 'linus@example.com' }));
    expect(status).toBe(200);
    expect(json).toMatchObject({ success: true, customer: { name: 'Linus Trial' } });
    const ada = await send(build('helper', { email: 'ada@example.com' }));
    expect(ada.json).toMatchObject({ success: true, customer: { name: 'Ada Lovelace', value: 4200, actions: { Profile: 'https://admin.example.com/users/usr_ada' } } });
  });

  it.each(['identification', 'billing'])('bullseye %s: 200 and the event appended to the events file (bullseye-webhooks.txt)', async (family) => {
    const request = build('bullseye', { eventType: family, now: fresh() });
    const { status, json } = await send(request);
    expect(status).toBe(200);
    expect(json).toMatchObject({ received: true });
    const id = (JSON.parse(request.body!) as { id: string }).id;
    const written = (await events()).filter((e) => e.detail.includes(id));
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({ source: 'webhooks.bullseye', detailType: family });
    // The body as signed, embedded as it arrived.
    expect(written[0]!.detail.endsWith(`,"payload":${request.body!}}`)).toBe(true);
  });

  it('buddystat goal.converted: 200 and the event appended (buddystat-webhooks.txt)', async () => {
    const request = build('buddystat', { eventType: 'goal.converted', now: fresh() });
    const { status } = await send(request);
    expect(status).toBe(200);
    const stamp = (JSON.parse(request.body!) as { timestamp: string }).timestamp;
    expect((await events()).filter((e) => e.detail.includes(stamp) && e.source === 'webhooks.buddystat')).toHaveLength(1);
  });

  it('a retried webhook (the same bytes again) is appended exactly once', async () => {
    const request = build('buddystat', { eventType: 'session.created', now: fresh() });
    const first = await send(request);
    const retry = await send(request);
    expect(first.status).toBe(200);
    expect(retry.status).toBe(200);
    const stamp = (JSON.parse(request.body!) as { timestamp: string }).timestamp;
    expect((await events()).filter((e) => e.detail.includes(stamp) && e.source === 'webhooks.buddystat')).toHaveLength(1);
  });
});

describe('npm start: a Standard Webhooks sender', () => {
  it('a delivery signed by the official standardwebhooks library reaches the events once, its retry (same webhook-id, fresh signature) too (Standard Webhooks spec)', async () => {
    const id = `msg_e2e_${fresh()}`;
    const body = JSON.stringify({ type: 'invoice.paid', timestamp: new Date().toISOString(), data: { invoiceId: id } });
    const deliver = (at: Date): PlatformRequest => ({
      provider: 'standardwebhooks',
      method: 'POST',
      path: '/standardwebhooks/events',
      headers: [
        ['Content-Type', 'application/json'],
        ['webhook-id', id],
        ['webhook-timestamp', String(Math.floor(at.getTime() / 1000))],
        ['webhook-signature', new Webhook(secretFor('standardwebhooks')).sign(id, at, body)],
      ],
      body,
    });
    expect((await send(deliver(new Date()))).status).toBe(200);
    const retry = await send(deliver(new Date(Date.now() + 5_000)));
    expect(retry).toMatchObject({ status: 200, json: { received: true, duplicate: true } });
    const written = (await events()).filter((e) => e.detail.includes(id));
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({ source: 'webhooks.standardwebhooks', detailType: 'invoice.paid' });
    // The body as sent, embedded as it arrived.
    expect(written[0]!.detail.endsWith(`,"payload":${body}}`)).toBe(true);
  });
});

describe('npm start: the AWS stand-ins', () => {
  it('the handlers read signing secrets from the Secrets Manager stand-in, once per cache lifetime', async () => {
    expect((await send(build('talki'))).status).toBe(200);
    const before = stack.secretsManager.totalCalls();
    expect(before).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) expect((await send(build('talki'))).status).toBe(200);
    expect(stack.secretsManager.totalCalls()).toBe(before);
  });
});

describe('npm start: the bad cases', () => {
  it.each(PROVIDER_IDS)('%s: 401 for a signature made with the wrong secret', async (provider) => {
    const { status } = await send(build(provider, { secret: 'not-the-secret', now: fresh() }));
    expect(status).toBe(401);
  });

  it.each(['buddy', 'helper'] as const)('%s: 401 for a timestamp outside ±300 s', async (provider) => {
    const { status } = await send(build(provider, { now: Date.now() - 10 * 60 * 1000 }));
    expect(status).toBe(401);
  });

  it('talki: 404 { error } for an unknown user; buddy: 404 for an unknown session', async () => {
    const talki = await send(build('talki', { userToken: 'usr_nobody' }));
    expect(talki.status).toBe(404);
    expect(talki.json).toHaveProperty('error');
    expect((await send(build('buddy', { sessionId: 'sess_nobody' }))).status).toBe(404);
  });

  it('helper: 200 { success: true, customer: {} } for an unknown email', async () => {
    const { status, json } = await send(build('helper', { email: 'nobody@example.com' }));
    expect(status).toBe(200);
    expect(json).toEqual({ success: true, customer: {} });
  });

  it('413 for a body over Lambda\'s 6 MB, and the server keeps serving', async () => {
    const request = build('talki');
    const big = { ...request, body: JSON.stringify({ userToken: 'usr_ada', pad: 'x'.repeat(MAX_REQUEST_BYTES) }) };
    expect((await sendPlatformRequest(stack.url, big)).status).toBe(413);
    // Streamed without a Content-Length: the cap applies as bytes arrive.
    const chunked = await new Promise<number>((resolve, reject) => {
      const url = new URL('/talki/customer', stack.url);
      const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      for (let i = 0; i < 7; i++) req.write(chunk);
      req.end();
    });
    expect(chunked).toBe(413);
    expect((await send(build('talki', { userToken: 'usr_ada' }))).status).toBe(200);
  });

  it('404 JSON for a path no provider owns; 405 for the wrong method on a route', async () => {
    const unknown = await fetch(new URL('/nope', stack.url));
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toHaveProperty('error');
    expect((await fetch(new URL('/talki/customer', stack.url))).status).toBe(405);
  });
});

describe('startLocalStack: embedded defaults', () => {
  it('refuses a secrets or customers file it cannot use, naming the file and the problem', async () => {
    const secrets = join(dir, 'bad-secrets.json');
    await writeFile(secrets, JSON.stringify({ talki: { signingSecret: 'x' }, tallki: {} }));
    await expect(startLocalStack({ port: 0, quiet: true, secretsFile: secrets })).rejects.toThrow(/bad-secrets\.json: unknown provider "tallki"/);
    const customers = join(dir, 'bad-customers.json');
    await writeFile(customers, JSON.stringify([{ email: 'no-id@example.com' }]));
    await expect(startLocalStack({ port: 0, quiet: true, customersFile: customers })).rejects.toThrow(/bad-customers\.json: customers\[0\]/);
  });
});
