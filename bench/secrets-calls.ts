import { PutSecretValueCommand, SecretsManagerClient, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import type { LambdaHttpHandler } from '../shared/handler.js';
import { SECRETS_DEFAULTS, SECRETS_MANAGER_REQUEST_TIMEOUT_MS, SECRETS_MANAGER_RETRY, SecretsCache } from '../shared/secrets/cache.js';
import { buildPlatformRequest } from '../local/platform-requests.js';
import { startSecretsManagerStandIn, type SecretsManagerStandIn } from '../local/stand-ins/secrets-manager.js';
import { BENCH_NOW_MS, createHandler, eventOf, silentLogger } from './fixtures.js';
import { verdict, type SectionResult, type Table } from './support.js';

/**
 * Section 3: Secrets Manager calls per 10,000 invocations, counted where they arrive: the local
 * Secrets Manager stand-in (the real SDK client talks its wire protocol), so SDK retries count too.
 * A simulated clock drives the cache, the handler and the stand-in, so an hour of traffic runs in seconds.
 */
export interface SecretsCallsOptions {
  readonly invocations: number;
}

const SECRET_NAME = 'bench/talki';
const OLD_SECRET = 'talki-secret-before-rotation';
const NEW_SECRET = 'talki-secret-after-rotation';
const WRONG_SECRET = 'not-the-signing-secret';
const HOUR_MS = 3_600_000;
const TTL_MS = SECRETS_DEFAULTS.ttlMs;
const MIN_REFRESH_MS = SECRETS_DEFAULTS.minRefreshIntervalMs;

const secretValue = (secret: string) => JSON.stringify({ signingSecret: secret });

interface Rig {
  readonly sm: SecretsManagerStandIn;
  readonly handler: LambdaHttpHandler;
  /** The operator's own client: console edits arrive over the wire like any other call. */
  readonly console: SecretsManagerClient;
  readonly clock: { t: number };
  /** The Talki request signed with `secret`, as an HTTP API event (Talki's body has no timestamp, so one event serves). */
  event(secret: string): unknown;
  /** ListSecretVersionIds + GetSecretValue: the calls the function makes. */
  functionCalls(): { list: number; get: number };
  close(): Promise<void>;
}

async function rig(): Promise<Rig> {
  const clock = { t: BENCH_NOW_MS };
  const now = () => clock.t;
  const sm = await startSecretsManagerStandIn({ now, secrets: { [SECRET_NAME]: secretValue(OLD_SECRET) } });
  const clientConfig = {
    endpoint: sm.endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  };
  // The function's client as shared/secrets/cache.ts builds it by default, pointed at the stand-in.
  const client = new SecretsManagerClient({
    ...clientConfig,
    maxAttempts: 2,
    retryStrategy: SECRETS_MANAGER_RETRY,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: SECRETS_MANAGER_REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true },
  });
  const secrets = new SecretsCache({ client, now, logger: silentLogger });
  const handler = createHandler('talki', { secrets, logger: silentLogger, env: { SIGNING_SECRET_ID: SECRET_NAME }, now });
  const events = new Map<string, unknown>();
  const console = new SecretsManagerClient(clientConfig);
  return {
    sm,
    handler,
    console,
    clock,
    event(secret) {
      let event = events.get(secret);
      if (!event) events.set(secret, (event = eventOf(buildPlatformRequest('talki', { secret }))));
      return event;
    },
    functionCalls: () => ({ list: sm.calls.ListSecretVersionIds, get: sm.calls.GetSecretValue }),
    async close() {
      client.destroy();
      console.destroy();
      await sm.close();
    },
  };
}

async function withRig<T>(run: (r: Rig) => Promise<T>): Promise<T> {
  const r = await rig();
  try {
    return await run(r);
  } finally {
    await r.close();
  }
}

interface Row {
  readonly scenario: string;
  readonly span: string;
  readonly list: number;
  readonly get: number;
  readonly target: string;
  readonly met: boolean;
  readonly outcome: string;
}

const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;

/**
 * Lets I/O run between invocations, as it does on Lambda (each invocation arrives over the runtime
 * API): a refresh the cache started behind an answer completes between requests, not after the loop.
 */
const nextInvocation = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Calls still on their way when the traffic stops are counted too. */
const settled = () => new Promise<void>((resolve) => setTimeout(resolve, 200));

/** Valid traffic spread evenly over an hour: the TTL is the only reason to call. */
async function validTraffic(invocations: number): Promise<Row> {
  return withRig(async (r) => {
    const step = HOUR_MS / invocations;
    let ok = 0;
    for (let i = 0; i < invocations; i++) {
      r.clock.t = BENCH_NOW_MS + i * step;
      await nextInvocation();
      if ((await r.handler(r.event(OLD_SECRET))).statusCode === 200) ok++;
    }
    await settled();
    const { list, get } = r.functionCalls();
    const windows = Math.ceil(HOUR_MS / TTL_MS);
    const met = list <= windows && get <= 1 && ok === invocations;
    return {
      scenario: 'valid traffic',
      span: minutes(HOUR_MS),
      list,
      get,
      target: `≤ 1 refresh per ${TTL_MS / 1000} s TTL (${windows}) + 1 value per new version (1)`,
      met,
      outcome: `${ok}/${invocations} answered 200; ${(list / windows).toFixed(2)} refreshes per TTL`,
    };
  });
}

/**
 * Forged requests (well-formed signatures, wrong secret) in concurrent batches spread over `spanMs`
 * from `start`: how many got `status`, and the calls the function made.
 */
async function forgedFlood(r: Rig, start: number, invocations: number, spanMs: number, batch: number, status: number) {
  const batches = Math.ceil(invocations / batch);
  const step = spanMs / batches;
  let answered = 0;
  for (let b = 0; b < batches; b++) {
    r.clock.t = start + b * step;
    await nextInvocation();
    const size = Math.min(batch, invocations - b * batch);
    const answers = await Promise.all(Array.from({ length: size }, () => r.handler(r.event(WRONG_SECRET))));
    answered += answers.filter((a) => a.statusCode === status).length;
  }
  await settled();
  return { answered, ...r.functionCalls(), intervals: Math.max(1, Math.ceil(spanMs / MIN_REFRESH_MS)) };
}

const spanOf = (spanMs: number) => (spanMs < 60_000 ? `${spanMs / 1000} s` : minutes(spanMs));

/**
 * Bad signatures after the cache is warm: each mismatch may force a refresh, at most one per minimum
 * refresh interval.
 */
async function badSignatureFlood(invocations: number, spanMs: number, batch: number, label: string): Promise<Row> {
  return withRig(async (r) => {
    await r.handler(r.event(OLD_SECRET)); // warm
    r.sm.resetCalls();
    // The warm-up fetch no longer holds the interval back.
    const { answered, list, get, intervals } = await forgedFlood(r, r.clock.t + MIN_REFRESH_MS, invocations, spanMs, batch, 401);
    return {
      scenario: label,
      span: spanOf(spanMs),
      list,
      get,
      target: `≤ 1 per ${MIN_REFRESH_MS / 1000} s refresh interval (${intervals})`,
      met: list + get <= intervals && answered === invocations,
      outcome: `${answered}/${invocations} answered 401; ${batch} concurrent per tick`,
    };
  });
}

/**
 * A cold container (nothing cached) while Secrets Manager fails (throttling), under forged requests:
 * every request is answered 503 without a call of its own; the container asks again once per refresh
 * interval. The first attempt asks for the version list and the current value at once (the cold-start
 * form); later attempts ask for the list alone.
 */
async function coldFailingFlood(invocations: number, spanMs: number, batch: number, label: string): Promise<Row> {
  return withRig(async (r) => {
    r.sm.setFault({ kind: 'throttle' });
    const { answered, list, get, intervals } = await forgedFlood(r, r.clock.t, invocations, spanMs, batch, 503);
    return {
      scenario: label,
      span: spanOf(spanMs),
      list,
      get,
      target: `≤ 1 refresh per ${MIN_REFRESH_MS / 1000} s interval (${intervals}) + the cold start's 1 value`,
      met: list <= intervals && get <= 1 && answered === invocations,
      outcome: `${answered}/${invocations} answered 503 (nothing cached to verify with); ${batch} concurrent per tick`,
    };
  });
}

type RotationFlow = 'paste' | 'staged';

/**
 * An hour of valid traffic with a rotation in the middle. `paste` (flow A of docs/deploy.md): the
 * operator puts the new value as AWSCURRENT (PutSecretValue) at the moment the platform starts
 * signing with it, `delayAfterRefreshMs` after this container's last TTL refresh. `staged` (flow B):
 * the new value goes in as AWSPENDING, the platform switches a TTL later, then it is promoted.
 * After the switch, one request in ten is a platform retry still signed with the old secret.
 */
async function rotation(invocations: number, flow: RotationFlow, delayAfterRefreshMs: number, label: string): Promise<Row> {
  return withRig(async (r) => {
    const step = HOUR_MS / invocations;
    let platformSecret = OLD_SECRET;
    let lastRefreshAt = -Infinity;
    let rotatedAt: number | undefined;
    let switchedAt: number | undefined;
    let pendingVersion: string | undefined;
    let promoted = false;
    let valid = 0;
    let rejected = 0;
    let retries = 0;
    for (let i = 0; i < invocations; i++) {
      r.clock.t = BENCH_NOW_MS + i * step;
      const t = r.clock.t - BENCH_NOW_MS;
      if (rotatedAt === undefined && t >= HOUR_MS / 2 && lastRefreshAt >= HOUR_MS / 2 - TTL_MS && t >= lastRefreshAt + delayAfterRefreshMs) {
        rotatedAt = t;
        if (flow === 'paste') {
          await r.console.send(new PutSecretValueCommand({ SecretId: SECRET_NAME, SecretString: secretValue(NEW_SECRET) }));
          platformSecret = NEW_SECRET;
          switchedAt = t;
        } else {
          const put = await r.console.send(new PutSecretValueCommand({ SecretId: SECRET_NAME, SecretString: secretValue(NEW_SECRET), VersionStages: ['AWSPENDING'] }));
          pendingVersion = put.VersionId;
        }
      }
      if (flow === 'staged' && rotatedAt !== undefined && switchedAt === undefined && t >= rotatedAt + TTL_MS + 10_000) {
        platformSecret = NEW_SECRET;
        switchedAt = t;
      }
      if (flow === 'staged' && switchedAt !== undefined && !promoted && pendingVersion && t >= switchedAt + 60_000) {
        const current = r.sm.versions(SECRET_NAME).find((v) => v.stages.includes('AWSCURRENT'));
        await r.console.send(new UpdateSecretVersionStageCommand({ SecretId: SECRET_NAME, VersionStage: 'AWSCURRENT', MoveToVersionId: pendingVersion, RemoveFromVersionId: current?.versionId }));
        await r.console.send(new UpdateSecretVersionStageCommand({ SecretId: SECRET_NAME, VersionStage: 'AWSPENDING', RemoveFromVersionId: pendingVersion }));
        promoted = true;
      }
      // A refresh started behind the previous answer lands while the next invocation arrives.
      const listBefore = r.sm.calls.ListSecretVersionIds;
      await nextInvocation();
      const retry = switchedAt !== undefined && t < switchedAt + 60_000 && i % 10 === 0;
      if (retry) retries++;
      const answer = await r.handler(r.event(retry ? OLD_SECRET : platformSecret));
      if (r.sm.calls.ListSecretVersionIds > listBefore) lastRefreshAt = t;
      valid++;
      if (answer.statusCode !== 200) rejected++;
    }
    await settled();
    const { list, get } = r.functionCalls();
    const when = rotatedAt === undefined ? 'never rotated' : `rotated at ${(rotatedAt / 1000).toFixed(0)} s`;
    return {
      scenario: label,
      span: minutes(HOUR_MS),
      list,
      get,
      target: '0 rejected valid requests',
      met: rejected === 0 && rotatedAt !== undefined,
      outcome: `${rejected}/${valid} valid requests rejected (${retries} of them retries signed with the old secret); ${when}`,
    };
  });
}

export async function secretsCalls(options: SecretsCallsOptions): Promise<SectionResult> {
  const n = options.invocations;
  const rows: Row[] = [
    await validTraffic(n),
    await badSignatureFlood(n, 10 * 60_000, 50, 'bad-signature flood'),
    await badSignatureFlood(n, 1_000, 100, 'bad-signature burst'),
    await coldFailingFlood(n, 10 * 60_000, 50, 'cold, Secrets Manager failing, forged flood'),
    await coldFailingFlood(n, 1_000, 100, 'cold, Secrets Manager failing, forged burst'),
    await rotation(n, 'paste', TTL_MS / 2, 'rotation A: paste, mid-TTL'),
    await rotation(n, 'paste', 10_000, 'rotation A: paste, 10 s after a TTL refresh'),
    await rotation(n, 'staged', TTL_MS / 2, 'rotation B: stage AWSPENDING first'),
  ];
  const table: Table = {
    headers: ['scenario', 'simulated span', 'ListSecretVersionIds', 'GetSecretValue', 'target', 'met', 'outcome'],
    rows: rows.map((row) => [row.scenario, row.span, String(row.list), String(row.get), row.target, verdict(row.met), row.outcome]),
  };
  const missed = rows.filter((row) => !row.met).map((row) => row.scenario);
  return {
    id: '3',
    title: `Secrets Manager calls per ${n.toLocaleString('en-US')} invocations`,
    method: [
      `${n.toLocaleString('en-US')} Talki invocations per scenario through the real handler, its SecretsCache (defaults: TTL ${TTL_MS / 1000} s, refresh on mismatch at most every ${MIN_REFRESH_MS / 1000} s) and the real SDK client, against the Secrets Manager stand-in (local/stand-ins/secrets-manager.ts), which counts the calls it receives.`,
      'A simulated clock drives the cache, the handler and the stand-in (version CreatedDate), so an hour of traffic at ~2.8 requests/s runs in seconds. One container: every count is per warm instance.',
      'The client is built as the functions build it: it retries only a connection broken before any answer (the cache retries the rest once per refresh interval), so a throttled call is one call. A cold start asks for the version list and the AWSCURRENT value at once.',
      'Cold, Secrets Manager failing: a container that never loaded the secret, every call answered ThrottlingException, forged requests (well-formed signatures, wrong secret) in concurrent batches.',
      'Rotation A: PutSecretValue (the console edit, over the wire) of a new AWSCURRENT at the instant the platform starts signing with it. Rotation B: the new value staged as AWSPENDING, the platform switched a TTL later, then promoted with UpdateSecretVersionStage. After each switch, one request in ten for a minute is a platform retry still signed with the old secret.',
    ],
    tables: [table],
    notes: [missed.length === 0 ? 'Every scenario met its target.' : `MISSED: ${missed.join('; ')}.`],
  };
}
