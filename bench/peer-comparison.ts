import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Context } from 'aws-lambda';
import { handlerEntry, PROJECT_ROOT } from '../infra/constructs/function-bundle.js';
import { createLogger } from '../shared/log.js';
import { PROVIDERS, type ProviderId } from '../shared/providers.js';
import { LOCAL_AWS_ENV } from '../local/stand-ins/dynamodb.js';
import { startSecretsManagerStandIn } from '../local/stand-ins/secrets-manager.js';
import { benchBundle, coldFigures, coldRounds, eventOfKind, findNode22, signedRequest, startColdRig, type AssetSize, type ColdTarget } from './cold-start.js';
import { BENCH_NOW_MS, BENCH_PROFILE, SECRET_ID, SECRET_VALUES, createHandler, eventOf, platformRequest, stubbedSecrets } from './fixtures.js';
import { fixed, interleavedRounds, kib, verdict, type Table } from './support.js';

/**
 * Section 1's peer: our Buddy and Bullseye handlers next to the same contracts written the way AWS
 * users write them today (bench/peer/: Powertools SecretsProvider with maxAge 300, Powertools
 * Logger, node:crypto), on four figures measured in one run: warm cost per invocation, bundle size,
 * cold import and cold first request. Target: ours at most the peer's on each.
 */
export const TARGET_PEER_RATIO = 1.0;

const PEERS = ['buddy', 'bullseye'] as const satisfies readonly ProviderId[];
type PeerId = (typeof PEERS)[number];

export interface PeerOptions {
  readonly iterations: number;
  readonly rounds: number;
  readonly warmup: number;
  /** Rounds of fresh Node 22 processes for the cold figures. */
  readonly coldRounds: number;
}

/** A Lambda handler as the bench calls it: ours ignores the context, the peer's Logger reads it. */
type Invoke = (event: unknown, context: Context) => Promise<{ statusCode?: number }>;

/** What Lambda passes as the context; the peer's Logger reads it (addContext). */
const CONTEXT: Context = {
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  functionName: 'bench',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:bench',
  memoryLimitInMB: '256',
  logGroupName: '/aws/lambda/bench',
  logStreamName: 'bench',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 10_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

const peerEntry = (provider: PeerId) => join(PROJECT_ROOT, 'bench', 'peer', `${provider}.ts`);

/** Both handlers write their real log line; stdout is muted only while the loops are timed. */
async function muted<T>(run: () => Promise<T>): Promise<T> {
  const write = process.stdout.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    return await run();
  } finally {
    process.stdout.write = write;
  }
}

export interface Warm {
  readonly oursNs: number;
  readonly peerNs: number;
  readonly ratio: number;
  readonly statuses: readonly (number | undefined)[];
}

/** Interleaved rounds, order reversed every other round; the ratio is the median of each round's own. */
async function warmPair(ours: () => Promise<unknown>, peer: () => Promise<unknown>, options: PeerOptions): Promise<Pick<Warm, 'oursNs' | 'peerNs' | 'ratio'>> {
  const { aNs, bNs, ratio } = await muted(() => interleavedRounds(ours, peer, options));
  return { oursNs: aNs, peerNs: bNs, ratio };
}

/**
 * Warm cost, in this process: ours built by its factory with the secrets cache warmed once and the
 * directory, bus and ledger stubbed at their interfaces (as in the floor table); the peer with its
 * SecretsProvider reading a local Secrets Manager stand-in once (then its cache) and its lookup,
 * claim and publish stubbed the same way. Each answers its platform's signed HTTP API request (the
 * peer's signed at the real clock, since it checks Buddy's timestamp against Date.now()).
 */
export async function warmFigures(options: PeerOptions): Promise<Record<PeerId, Warm>> {
  const sm = await startSecretsManagerStandIn({ secrets: { [SECRET_ID]: JSON.stringify(SECRET_VALUES.buddy) } });
  const aws = { ...LOCAL_AWS_ENV, AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint, SIGNING_SECRET_ID: SECRET_ID };
  const previous = Object.fromEntries(Object.keys(aws).map((k) => [k, process.env[k]]));
  Object.assign(process.env, aws);
  try {
    const [peerBuddy, peerBullseye] = await Promise.all([import('./peer/buddy.js'), import('./peer/bullseye.js')]);
    const peers: Record<PeerId, Invoke> = {
      buddy: peerBuddy.createBuddyHandler(async () => BENCH_PROFILE) as unknown as Invoke,
      bullseye: peerBullseye.createBullseyeHandler({ claim: async () => true, release: async () => undefined, publish: async () => undefined }) as unknown as Invoke,
    };
    const result = {} as Record<PeerId, Warm>;
    for (const provider of PEERS) {
      // The stand-in answers each peer's first fetch with that provider's value (one secret id, as deployed).
      sm.put(SECRET_ID, JSON.stringify(SECRET_VALUES[provider]));
      const now = () => BENCH_NOW_MS;
      const ours = createHandler(provider, { secrets: stubbedSecrets(SECRET_VALUES[provider], now), logger: createLogger(), env: process.env, now }) as unknown as Invoke;
      const oursEvent = eventOf(platformRequest(provider));
      const peerEvent = eventOf(platformRequest(provider, Date.now()));
      const peer = peers[provider];
      const statuses = await muted(async () => [(await ours(oursEvent, CONTEXT)).statusCode, (await peer(peerEvent, CONTEXT)).statusCode]);
      if (statuses.some((s) => s !== 200)) {
        result[provider] = { oursNs: NaN, peerNs: NaN, ratio: NaN, statuses };
        continue;
      }
      result[provider] = { ...(await warmPair(() => ours(oursEvent, CONTEXT), () => peer(peerEvent, CONTEXT), options)), statuses };
    }
    return result;
  } finally {
    for (const [k, v] of Object.entries(previous)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await sm.close();
  }
}

/** Run by warmFiguresOn: the warm figures of this file, printed as JSON on the last line. */
const WARM_SCRIPT = join(PROJECT_ROOT, 'bench', 'peer-warm.ts');

/**
 * The warm figures measured by another Node (Lambda's runtime, Node 22) in a child process that runs
 * the same TypeScript through tsx. NaN travels as null and comes back as NaN.
 */
async function warmFiguresOn(node: string, options: PeerOptions): Promise<Record<PeerId, Warm>> {
  const { stdout } = await promisify(execFile)(node, ['--import', 'tsx', WARM_SCRIPT, JSON.stringify(options)], { cwd: PROJECT_ROOT, maxBuffer: 1 << 20 });
  const parsed = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<PeerId, Record<keyof Warm, unknown>>;
  const number = (value: unknown) => (typeof value === 'number' ? value : NaN);
  return Object.fromEntries(
    PEERS.map((p) => [p, { oursNs: number(parsed[p].oursNs), peerNs: number(parsed[p].peerNs), ratio: number(parsed[p].ratio), statuses: parsed[p].statuses as Warm['statuses'] }]),
  ) as Record<PeerId, Warm>;
}

interface Cold {
  readonly oursSize: AssetSize;
  readonly peerSize: AssetSize;
  readonly figures?: { readonly importRatio: number; readonly answeredRatio: number; readonly oursImportMs: number; readonly peerImportMs: number; readonly oursAnsweredMs: number; readonly peerAnsweredMs: number; readonly statuses: readonly number[] };
}

/** Both bundled by bundleFunction (the stack's), started cold on Node 22 in the same rounds against the local stand-ins. */
async function coldPairs(options: PeerOptions): Promise<{ cold: Record<PeerId, Cold>; skipped?: string }> {
  const outdir = mkdtempSync(join(tmpdir(), 'bench-peer-'));
  try {
    const bundles = {} as Record<PeerId, { ours: string; peer: string; oursSize: AssetSize; peerSize: AssetSize }>;
    for (const provider of PEERS) {
      const ours = await benchBundle(handlerEntry(PROVIDERS[provider]), join(outdir, `ours-${provider}`));
      const peer = await benchBundle(peerEntry(provider), join(outdir, `peer-${provider}`));
      bundles[provider] = { ours: ours.file, peer: peer.file, oursSize: ours.size, peerSize: peer.size };
    }
    const sizesOnly = Object.fromEntries(PEERS.map((p) => [p, { oursSize: bundles[p].oursSize, peerSize: bundles[p].peerSize }])) as Record<PeerId, Cold>;
    const node22 = findNode22();
    if (!node22.ok) return { cold: sizesOnly, skipped: node22.reason };
    const rig = await startColdRig();
    try {
      const targets: ColdTarget[] = PEERS.flatMap((provider) => {
        const common = { nodeOptions: '', env: rig.providerEnv(provider), event: () => eventOfKind('function-url', signedRequest(provider)) };
        return [
          { label: `ours ${provider}`, file: bundles[provider].ours, ...common },
          { label: `peer ${provider}`, file: bundles[provider].peer, ...common },
        ];
      });
      const samples = await coldRounds(node22.path, targets, rig, options.coldRounds);
      const cold = {} as Record<PeerId, Cold>;
      PEERS.forEach((provider, i) => {
        const [ours, peer] = [samples[2 * i]!, samples[2 * i + 1]!];
        const f = coldFigures(ours, peer);
        const p = coldFigures(peer, peer);
        cold[provider] = {
          ...sizesOnly[provider],
          figures: {
            importRatio: f.importRatio,
            answeredRatio: f.answeredRatio,
            oursImportMs: f.importMs,
            peerImportMs: p.importMs,
            oursAnsweredMs: f.answeredMs,
            peerAnsweredMs: p.answeredMs,
            statuses: [...new Set([...f.statuses, ...p.statuses])],
          },
        };
      });
      return { cold };
    } finally {
      await rig.close();
    }
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

const us = (ns: number) => fixed(ns / 1000, 2);
const x = (value: number) => `${fixed(value)}×`;
const ok = (value: number) => verdict(Number.isFinite(value) && value <= TARGET_PEER_RATIO);

export interface PeerResult {
  readonly table: Table;
  readonly met: boolean;
  readonly method: readonly string[];
  readonly notes: readonly string[];
}

export async function peerComparison(options: PeerOptions): Promise<PeerResult> {
  // The target is judged where the functions run: Lambda's Node 22. The bench's own Node is shown beside it.
  const node22 = findNode22();
  const warmHere = await warmFigures(options);
  const warm = node22.ok ? await warmFiguresOn(node22.path, options) : warmHere;
  const warmNode = node22.ok ? `Node ${node22.version.slice(1)}` : `Node ${process.versions.node} (no Node 22: ${node22.reason})`;
  const { cold, skipped } = await coldPairs(options);
  let met = true;
  const rows = PEERS.map((provider) => {
    const w = warm[provider];
    const c = cold[provider];
    const initRatio = c.oursSize.initBytes / c.peerSize.initBytes;
    const assetRatio = c.oursSize.assetBytes / c.peerSize.assetBytes;
    const f = c.figures;
    const coldOk = f !== undefined && f.statuses.length === 1 && f.statuses[0] === 200;
    met &&= ok(w.ratio) === 'ok' && ok(initRatio) === 'ok' && ok(assetRatio) === 'ok' && coldOk && ok(f.importRatio) === 'ok' && ok(f.answeredRatio) === 'ok';
    return [
      provider,
      Number.isFinite(w.ratio) ? `${us(w.oursNs)} / ${us(w.peerNs)}` : `answered ${w.statuses.join(' / ')}`,
      x(w.ratio),
      ok(w.ratio),
      `${x(warmHere[provider].ratio)} (${us(warmHere[provider].oursNs)} / ${us(warmHere[provider].peerNs)})`,
      // Three decimals: the two bundles can be within a few hundred bytes of each other.
      `${kib(c.oursSize.initBytes)} / ${kib(c.peerSize.initBytes)}`,
      `${fixed(initRatio, 3)}×`,
      ok(initRatio),
      `${kib(c.oursSize.assetBytes)} / ${kib(c.peerSize.assetBytes)}`,
      `${fixed(assetRatio, 3)}×`,
      ok(assetRatio),
      f ? `${fixed(f.oursImportMs, 1)} / ${fixed(f.peerImportMs, 1)}` : 'skipped',
      f ? x(f.importRatio) : '—',
      f ? ok(f.importRatio) : 'MISSED',
      f ? `${fixed(f.oursAnsweredMs, 1)} / ${fixed(f.peerAnsweredMs, 1)}` : 'skipped',
      f ? x(f.answeredRatio) : '—',
      f ? (coldOk ? ok(f.answeredRatio) : `MISSED (answered ${f.statuses.join(',')})`) : 'MISSED',
    ];
  });
  const target = `≤ ${TARGET_PEER_RATIO.toFixed(1)}×`;
  return {
    table: {
      caption: 'Ours vs. the Powertools peer (bench/peer/), same contracts, one run (cells: ours / peer)',
      headers: ['provider', `warm µs, ${warmNode.split(' (')[0]}`, 'ratio', target, `warm on Node ${process.versions.node} (bench's Node), informational`, 'bundle at init KiB', 'ratio', target, 'whole asset KiB', 'ratio', target, 'cold import ms', 'ratio', target, 'cold first request ms', 'ratio', target],
      rows,
    },
    met,
    method: [
      'Peer: bench/peer/buddy.ts and bench/peer/bullseye.ts, the same contracts written as the Powertools docs show: SecretsProvider (maxAge 300, transform json) and Logger created once per container, node:crypto HMAC + timingSafeEqual, the DynamoDB document client (Buddy: session then user), a conditional PutItem then PutEvents (Bullseye).',
      `Warm: measured on ${warmNode}, Lambda's runtime, in a child process running the same TypeScript through tsx (bench/peer-warm.ts), and again in the bench's own process on Node ${process.versions.node} (informational column); the target is judged on the first. Both handlers in one process, both writing their real log line to a muted stdout; dependencies stubbed at their interfaces on both sides (ours: as in the floor table below; the peer: its lookup, claim and publish), the peer's secret read once from the Secrets Manager stand-in then served from its cache. ${options.rounds} interleaved rounds of ${options.iterations} awaited invocations after ${options.warmup} warm-up ones; the ratio is the median of each round's ours/peer ratio.`,
      `Bundle and cold: both bundled by bundleFunction (infra/constructs/function-bundle.ts); bundle at init = index.mjs and the chunks it imports, whole asset = every chunk (as in section 2, no source maps); cold as in section 2 (fresh Node 22 process per sample, one signed function-URL request against the local stand-ins), ${options.coldRounds} rounds, ours and the peer in the same rounds.`,
    ],
    notes: [
      ...(skipped ? [`Cold figures skipped: ${skipped}.`] : []),
      met ? `Ours is within ${TARGET_PEER_RATIO.toFixed(1)}× the peer on every figure.` : `Target ${TARGET_PEER_RATIO.toFixed(1)}× the peer: MISSED on at least one figure (see the rows).`,
    ],
  };
}
