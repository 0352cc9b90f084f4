import { STANDARD_WEBHOOKS_HEADERS, standardWebhooksKey } from '../shared/signing/standard-webhooks.js';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { toBuddyResponse } from '../functions/buddy/contract.js';
import { toHelperResponse } from '../functions/helper/contract.js';
import { toTalkiResponse } from '../functions/talki/contract.js';
import { signingSecretIdFromEnv } from '../shared/config.js';
import { InMemoryDirectory } from '../shared/customers/memory.js';
import { withDeadline } from '../shared/deadline.js';
import { jsonResponse, signedHandler } from '../shared/handler.js';
import { signatureValues } from '../shared/signing/schemes.js';
import { parseHttpEvent } from '../shared/http/request.js';
import { createLogger, type Logger } from '../shared/log.js';
import { PROVIDER_IDS, PROVIDERS, type ProviderId } from '../shared/providers.js';
import { decodeSignatures, matchDigests } from '../shared/signing/verify.js';
import type { PlatformRequest } from '../local/platform-requests.js';
import {
  BENCH_NOW_MS,
  BENCH_PROFILE,
  SECRET_ID,
  SECRET_VALUES,
  createHandler,
  eventOf,
  platformRequest,
  secretFor,
  headerOf,
  signatureOf,
  silentLogger,
  stubbedSecrets,
} from './fixtures.js';
import { peerComparison } from './peer-comparison.js';
import { fixed, median, timeAsync, yieldToLoop, type SectionResult, type Table } from './support.js';
import { webhookReference } from './webhook-reference.js';

/**
 * Section 1: the warm cost of one invocation, in-process, next to the same contracts written with
 * Powertools (the peer, bench/peer-comparison.ts: the target) and, for information, the least any
 * verifier must do with the same bytes (one HMAC-SHA256, one constant-time compare, one parse).
 */
export interface HandlerCostOptions {
  /** Invocations per measured round. */
  readonly iterations: number;
  readonly rounds: number;
  readonly warmup: number;
  /** Rounds of fresh Node 22 processes for the peer's cold figures. */
  readonly coldRounds: number;
}

const now = () => BENCH_NOW_MS;

/** Nanoseconds per call of a synchronous function. */
function timeSync(fn: () => unknown, iterations: number): number {
  let sink: unknown;
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink = fn();
  const elapsed = Number(process.hrtime.bigint() - start);
  if (sink === Symbol.for('never')) console.log(sink); // keeps the result alive
  return elapsed / iterations;
}

/**
 * The floor for this request: what the platform's own doc sample does to verify it. One HMAC-SHA256
 * of the signed bytes (the body; Helper's query string), the received signature decoded and compared
 * in constant time, and the input parsed once (JSON.parse of the body; Helper has no body, so its
 * query string through URLSearchParams).
 */
export function floorFor(provider: ProviderId, request: PlatformRequest): () => unknown {
  const rule = PROVIDERS[provider].signature;
  const signature = signatureOf(provider, request);
  if (rule.scheme === 'standard-webhooks') {
    const key = standardWebhooksKey(secretFor(provider));
    const id = headerOf(request, STANDARD_WEBHOOKS_HEADERS.id);
    const timestamp = headerOf(request, STANDARD_WEBHOOKS_HEADERS.timestamp);
    const body = request.body ?? '';
    return () => {
      const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
      const got = Buffer.from(signature, 'base64');
      const ok = got.length === expected.length && timingSafeEqual(got, expected);
      return ok ? JSON.parse(body) : undefined;
    };
  }
  const secret = secretFor(provider);
  const signed = rule.signs === 'query' ? (request.query ?? '') : (request.body ?? '');
  const encoding = rule.encoding;
  if (rule.signs === 'query') {
    return () => {
      const expected = createHmac('sha256', secret).update(signed).digest();
      const got = Buffer.from(signature, encoding);
      const ok = got.length === expected.length && timingSafeEqual(got, expected);
      return ok ? new URLSearchParams(signed) : undefined;
    };
  }
  return () => {
    const expected = createHmac('sha256', secret).update(signed).digest();
    const got = Buffer.from(signature, encoding);
    const ok = got.length === expected.length && timingSafeEqual(got, expected);
    return ok ? JSON.parse(signed) : undefined;
  };
}

interface Measured {
  readonly floorNs: number;
  readonly quietNs: number;
  readonly loggedNs: number;
  /** Median of each round's handler/floor ratio: the three were timed back to back in that round. */
  readonly quietRatio: number;
  readonly loggedRatio: number;
  readonly status: number;
}

async function measureProvider(provider: ProviderId, options: HandlerCostOptions): Promise<Measured> {
  const request = platformRequest(provider);
  const event = eventOf(request);
  // As deployed: the handler reads process.env (SIGNING_SECRET_ID is set for the section's duration).
  const env = process.env;
  const build = (logger: Logger) => createHandler(provider, { secrets: stubbedSecrets(SECRET_VALUES[provider], now), logger, env, now });
  const quiet = build(silentLogger);
  // The request log line is built in full (every field serialised, ISO time); only the write to stdout is left out.
  const logged = build(createLogger(() => undefined, 'info'));
  const floor = floorFor(provider, request);

  const first = await quiet(event);
  await logged(event);
  if (first.statusCode !== 200) return { floorNs: NaN, quietNs: NaN, loggedNs: NaN, quietRatio: NaN, loggedRatio: NaN, status: first.statusCode };

  timeSync(floor, options.warmup);
  await timeAsync(() => quiet(event), options.warmup);
  await timeAsync(() => logged(event), options.warmup);

  const floors: number[] = [];
  const quiets: number[] = [];
  const loggeds: number[] = [];
  const quietRatios: number[] = [];
  const loggedRatios: number[] = [];
  // Interleaved rounds, the order reversed every other round: this machine's speed drifts by tens of
  // percent within seconds, so each ratio is taken within its round, where floor and handler ran on
  // the same machine state, and the median of those ratios drops the rounds a slow patch split.
  for (let round = 0; round < options.rounds; round++) {
    let floorNs: number;
    let quietNs: number;
    let loggedNs: number;
    if (round % 2 === 0) {
      floorNs = timeSync(floor, options.iterations);
      quietNs = await timeAsync(() => quiet(event), options.iterations);
      loggedNs = await timeAsync(() => logged(event), options.iterations);
    } else {
      loggedNs = await timeAsync(() => logged(event), options.iterations);
      quietNs = await timeAsync(() => quiet(event), options.iterations);
      floorNs = timeSync(floor, options.iterations);
    }
    floors.push(floorNs);
    quiets.push(quietNs);
    loggeds.push(loggedNs);
    quietRatios.push(quietNs / floorNs);
    loggedRatios.push(loggedNs / floorNs);
    await yieldToLoop();
  }
  return {
    floorNs: median(floors),
    quietNs: median(quiets),
    loggedNs: median(loggeds),
    quietRatio: median(quietRatios),
    loggedRatio: median(loggedRatios),
    status: first.statusCode,
  };
}

const us = (ns: number) => fixed(ns / 1000, 2);

interface Part {
  readonly label: string;
  readonly measure: () => Promise<number>;
}

/**
 * Where Buddy's invocation spends its time: the pipeline alone (signedHandler answering a constant),
 * then each step measured on its own with the same request. The steps overlap the totals (they are
 * not a partition): they show which single step costs what, to say where a change would pay.
 */
async function breakdown(options: HandlerCostOptions): Promise<Table> {
  const provider = 'buddy';
  const definition = PROVIDERS[provider];
  const request = platformRequest(provider);
  const event = eventOf(request);
  const env = { SIGNING_SECRET_ID: SECRET_ID };
  const secrets = stubbedSecrets(SECRET_VALUES[provider], now);
  await secrets.candidates(SECRET_ID, 'signingSecret');
  const constant = jsonResponse(200, { userId: 'usr_ada' });
  const pipeline = signedHandler({ provider: definition, secrets, logger: silentLogger, env, now }, async () => ({ outcome: 'resolved', response: constant }));
  const full = createHandler(provider, { secrets, logger: silentLogger, env, now });
  const parsed = parseHttpEvent(event, definition.maxBodyBytes);
  if (!parsed.ok) throw new Error('bench: the Buddy event does not parse');
  const httpRequest = parsed.request;
  const digests = [Buffer.from(signatureOf(provider, request), 'hex')];
  const secret = secretFor(provider);
  const directory = new InMemoryDirectory([BENCH_PROFILE]);
  const sessionId = BENCH_PROFILE.sessionIds![0]!;
  const lineLogger = createLogger(() => undefined, 'info');
  const processEnv = { ...process.env, SIGNING_SECRET_ID: SECRET_ID };
  const iterations = options.iterations;
  const sync = (fn: () => unknown) => async () => {
    timeSync(fn, options.warmup);
    return timeSync(fn, iterations);
  };
  const async_ = (fn: () => Promise<unknown>) => async () => {
    await timeAsync(fn, options.warmup);
    return timeAsync(fn, iterations);
  };
  const parts: Part[] = [
    { label: 'floor (HMAC-SHA256 + timingSafeEqual + JSON.parse)', measure: sync(floorFor(provider, request)) },
    { label: 'full Buddy handler (no log)', measure: async_(() => full(event)) },
    { label: 'pipeline only: signedHandler answering a constant (no log)', measure: async_(() => pipeline(event)) },
    { label: 'parseHttpEvent (HTTP API v2 event -> request)', measure: sync(() => parseHttpEvent(event, definition.maxBodyBytes)) },
    { label: 'signature header read + decoded', measure: sync(() => decodeSignatures(signatureValues(httpRequest, definition.signature.header, undefined), 'hex')) },
    { label: 'secrets cache lookup, warm (candidates)', measure: async_(() => secrets.candidates(SECRET_ID, 'signingSecret')) },
    { label: 'matchDigests, one secret', measure: sync(() => matchDigests(httpRequest.rawBody, digests, [secret])) },
    { label: 'in-memory lookup awaited', measure: async_(() => directory.findBySessionId(sessionId)) },
    { label: 'same lookup inside withDeadline (timer armed and cleared; the lookup reads the signal)', measure: async_(() => withDeadline(1_500, (scope) => directory.findBySessionId(sessionId, scope))) },
    {
      label: 'the same, the work waiting one tick first',
      measure: async_(() =>
        withDeadline(1_500, async (scope) => {
          await null;
          return directory.findBySessionId(sessionId, scope);
        }),
      ),
    },
    { label: 'new AbortController().signal (the signal alone)', measure: sync(() => new AbortController().signal) },
    { label: 'toBuddyResponse(profile)', measure: sync(() => toBuddyResponse(BENCH_PROFILE)) },
    { label: 'toTalkiResponse(profile)', measure: sync(() => toTalkiResponse(BENCH_PROFILE)) },
    { label: 'toHelperResponse(profile)', measure: sync(() => toHelperResponse(BENCH_PROFILE)) },
    { label: 'jsonResponse(200, Buddy answer)', measure: sync(() => jsonResponse(200, toBuddyResponse(BENCH_PROFILE))) },
    { label: 'jsonResponse(200, Helper answer)', measure: sync(() => jsonResponse(200, toHelperResponse(BENCH_PROFILE))) },
    {
      label: 'request log line built (JSON.stringify + ISO time), not written',
      measure: sync(() =>
        lineLogger.log('info', {
          provider,
          route: '/buddy/identity',
          method: 'POST',
          format: 'http-v2',
          outcome: 'resolved',
          status: 200,
          latencyMs: 12.34,
          requestId: 'JKJaXmPLvHcESHA=',
          eventType: undefined,
          dedupeKey: undefined,
          droppedFields: undefined,
        }),
      ),
    },
    { label: 'signingSecretIdFromEnv on a process.env copy', measure: sync(() => signingSecretIdFromEnv(provider, processEnv)) },
    { label: 'signingSecretIdFromEnv on process.env itself', measure: sync(() => signingSecretIdFromEnv(provider, process.env)) },
  ];
  const rows: string[][] = [];
  for (const part of parts) {
    const rounds: number[] = [];
    for (let round = 0; round < Math.max(3, Math.ceil(options.rounds / 2)); round++) rounds.push(await part.measure());
    rows.push([part.label, us(median(rounds))]);
  }
  return { caption: 'Where the time goes (Buddy; each step timed on its own, same request, same run)', headers: ['step', 'µs'], rows };
}

export async function handlerCost(options: HandlerCostOptions): Promise<SectionResult> {
  const previous = process.env.SIGNING_SECRET_ID;
  process.env.SIGNING_SECRET_ID = SECRET_ID;
  try {
    return await measureAll(options);
  } finally {
    if (previous === undefined) delete process.env.SIGNING_SECRET_ID;
    else process.env.SIGNING_SECRET_ID = previous;
  }
}

async function measureAll(options: HandlerCostOptions): Promise<SectionResult> {
  const rows: string[][] = [];
  for (const provider of PROVIDER_IDS) {
    const m = await measureProvider(provider, options);
    if (!Number.isFinite(m.quietNs)) {
      rows.push([provider, 'n/a', 'n/a', 'n/a', 'n/a', `n/a (answered ${m.status}, not 200)`]);
      continue;
    }
    rows.push([provider, us(m.floorNs), us(m.quietNs), `${fixed(m.quietRatio)}×`, us(m.loggedNs), `${fixed(m.loggedRatio)}×`]);
  }
  const floor: Table = {
    caption: 'Informational: each handler next to the verification floor (no target)',
    headers: ['provider', 'floor µs', 'handler µs (no log)', 'ratio', 'handler µs (log line built)', 'ratio'],
    rows,
  };
  const peer = await peerComparison(options);
  const reference = await webhookReference(options);
  return {
    id: '1',
    title: 'Warm handler cost per invocation, and ours vs. the Powertools peer',
    method: [
      ...peer.method,
      `Floor table (informational): each provider's own handler (create<Name>Handler) invoked in-process with an HTTP API (payload 2.0) event carrying the platform's request as its doc signs it; ${options.rounds} rounds of ${options.iterations} sequential awaited invocations after ${options.warmup} warm-up ones. µs columns: the median round. Ratios: the median of each round's own handler/floor ratio, as floor and handler run back to back within a round (in reversed order every other round), so a slow patch of the machine does not set one against the other.`,
      'Dependencies stubbed at their interfaces: InMemoryDirectory (lookups), a sink that accepts at once and a ledger that always answers "new" (webhooks: every iteration does the full forward), the secrets cache warmed once with a clock that never expires. The handler reads process.env, as deployed.',
      'Floor, same bytes, same run: one HMAC-SHA256 of the signed bytes, the signature decoded and compared with timingSafeEqual, one JSON.parse of the body (Helper: its query string through URLSearchParams, as it has no body).',
      '"no log": a logger that does nothing. "log line built": the real logger writing to a no-op sink, so only the stdout write is left out.',
      ...reference.method,
    ],
    tables: [peer.table, floor, ...(reference.table ? [reference.table] : []), await breakdown(options)],
    notes: [...peer.notes, ...reference.notes],
  };
}
