import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../infra/constructs/function-bundle.js';
import { createLogger } from '../shared/log.js';
import type { ProviderId } from '../shared/providers.js';
import * as current from './fixtures.js';
import { errorText, fixed, interleavedRounds, verdict, type RoundOptions, type Table } from './support.js';

/**
 * Issue #12's bench promise: the claim check and parking cost nothing on the common path, so the
 * warm webhook cost grew by at most 10 % for bodies under the limit. Each webhook handler as it is
 * now, next to the same handler at REFERENCE_COMMIT, checked out into a temporary git worktree and
 * imported (with that tree's own bench fixtures) into this process through tsx, timed in the same
 * rounds with the same stubs and the same signed request.
 */

/** main just before #12's delivery changes landed (with #13; main then moved to the delivery branch's tip, 031657a). */
export const REFERENCE_COMMIT = '9931ede7d836e0ee380a54627ef5e98da2ecf763';
export const TARGET_REFERENCE_RATIO = 1.1;

const WEBHOOKS = ['bullseye', 'buddystat', 'standardwebhooks'] as const satisfies readonly ProviderId[];
/**
 * A lookup, whose path #12 did not touch: its ratio is what the shared pipeline's own changes since
 * the reference did, against which the webhooks' ratios show what #12 added. No target.
 */
const CONTROL: ProviderId = 'buddy';

/** What the section reads from bench/fixtures.ts and shared/log.ts, which both trees export alike. */
type Fixtures = Pick<typeof current, 'createHandler' | 'stubbedSecrets' | 'platformRequest' | 'eventOf' | 'SECRET_VALUES' | 'BENCH_NOW_MS' | 'silentLogger'>;
interface Tree {
  readonly fixtures: Fixtures;
  readonly createLogger: typeof createLogger;
}

type Checkout = { readonly ok: true; readonly dir: string; remove(): void } | { readonly ok: false; readonly reason: string };

const git = (...args: string[]) => execFileSync('git', ['-C', PROJECT_ROOT, ...args], { stdio: 'pipe', encoding: 'utf8' });

/** The commit in a temporary worktree beside this one, sharing its node_modules; removed by remove(). */
function checkout(commit: string): Checkout {
  try {
    git('rev-parse', '--verify', '--quiet', `${commit}^{commit}`);
  } catch {
    return { ok: false, reason: `commit ${commit.slice(0, 7)} is not in this clone (git missing, or a fork without that history)` };
  }
  const dir = mkdtempSync(join(tmpdir(), 'bench-reference-'));
  const remove = () => {
    try {
      git('worktree', 'remove', '--force', dir);
    } catch {
      // Never added, or already gone: the directory below is all that is left.
    }
    rmSync(dir, { recursive: true, force: true });
    git('worktree', 'prune');
  };
  try {
    git('worktree', 'add', '--detach', dir, commit);
    symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    return { ok: true, dir, remove };
  } catch (error) {
    remove();
    return { ok: false, reason: `git worktree add failed: ${errorText(error)}` };
  }
}

async function importTree(dir: string): Promise<Tree> {
  const fixtures = (await import(pathToFileURL(join(dir, 'bench', 'fixtures.ts')).href)) as Fixtures;
  const log = (await import(pathToFileURL(join(dir, 'shared', 'log.ts')).href)) as { createLogger: typeof createLogger };
  return { fixtures, createLogger: log.createLogger };
}

interface Pair {
  readonly bodyBytes: number;
  /** now / reference, no log line; then with the request log line built (not written). */
  readonly quiet: { readonly aNs: number; readonly bNs: number; readonly ratio: number };
  readonly logged: { readonly aNs: number; readonly bNs: number; readonly ratio: number };
}

/** One tree's handler for `provider`, as the floor table builds it: sink accepts at once, ledger answers new, secrets warm. */
async function handlerOf(tree: Tree, provider: ProviderId, logged: boolean): Promise<() => Promise<{ statusCode: number }>> {
  const f = tree.fixtures;
  const now = () => f.BENCH_NOW_MS;
  const logger = logged ? tree.createLogger(() => undefined, 'info') : f.silentLogger;
  const handler = f.createHandler(provider, { secrets: f.stubbedSecrets(f.SECRET_VALUES[provider], now), logger, env: process.env, now });
  const event = f.eventOf(f.platformRequest(provider));
  const first = await handler(event);
  if (first.statusCode !== 200) throw new Error(`${provider} answered ${first.statusCode}, not 200`);
  return () => handler(event);
}

async function measure(ours: Tree, reference: Tree, provider: ProviderId, options: RoundOptions): Promise<Pair> {
  const bodyBytes = Buffer.byteLength(current.platformRequest(provider).body ?? '');
  const quiet = await interleavedRounds(await handlerOf(ours, provider, false), await handlerOf(reference, provider, false), options);
  const logged = await interleavedRounds(await handlerOf(ours, provider, true), await handlerOf(reference, provider, true), options);
  return { bodyBytes, quiet, logged };
}

export interface ReferenceResult {
  readonly table?: Table;
  readonly method: readonly string[];
  readonly notes: readonly string[];
}

const us = (ns: number) => fixed(ns / 1000, 2);
const ok = (value: number) => verdict(Number.isFinite(value) && value <= TARGET_REFERENCE_RATIO);

export async function webhookReference(options: RoundOptions): Promise<ReferenceResult> {
  const short = REFERENCE_COMMIT.slice(0, 7);
  const method = [
    `Webhooks now vs. before #12 (${short}, main just before the delivery changes landed): that commit checked out into a temporary git worktree (node_modules linked, removed afterwards), its own bench fixtures and handler factories imported into this process through tsx. Both trees' handlers built the same way (sink accepts at once, ledger answers "new", secrets warmed once), each answering its platform's sample request (a body of a few hundred bytes, well under the limit) as an HTTP API event. The stub sink is conservative for now: the reference built its Detail (JSON.stringify of the parsed payload) inside its EventBridge sink, which the stub skips, while now builds the entry (the body embedded as sent) before the sink, so only now pays for it here. ${options.rounds} interleaved rounds of ${options.iterations} awaited invocations after ${options.warmup} warm-up ones, order reversed every other round, ratio the median of the rounds' own ratios. A lookup (${CONTROL}), whose path #12 did not touch, is timed the same way as a control: its ratio is what the shared pipeline's later changes did on their own. "no log": a logger that does nothing; "log line built": each tree's real logger writing to a no-op sink (the two trees build different lines).`,
  ];
  const tree = checkout(REFERENCE_COMMIT);
  if (!tree.ok) return { method, notes: [`Webhooks vs. before #12 skipped: ${tree.reason}.`] };
  try {
    let reference: Tree;
    try {
      reference = await importTree(tree.dir);
    } catch (error) {
      // A section-1 failure here would hide the peer and floor tables: this table alone is skipped.
      return { method, notes: [`Webhooks vs. before #12 skipped: ${short}'s bench fixtures did not load (${errorText(error)}).`] };
    }
    const ours: Tree = { fixtures: current, createLogger };
    const rows: string[][] = [];
    let met = true;
    for (const provider of [...WEBHOOKS, CONTROL]) {
      const control = provider === CONTROL;
      const judged = (value: number) => (control ? '—' : ok(value));
      try {
        const m = await measure(ours, reference, provider, options);
        if (!control) met &&= ok(m.logged.ratio) === 'ok' && ok(m.quiet.ratio) === 'ok';
        rows.push([
          control ? `${provider} (control: a lookup, no #12 code)` : provider,
          String(m.bodyBytes),
          `${us(m.logged.aNs)} / ${us(m.logged.bNs)}`,
          `${fixed(m.logged.ratio)}×`,
          judged(m.logged.ratio),
          `${us(m.quiet.aNs)} / ${us(m.quiet.bNs)}`,
          `${fixed(m.quiet.ratio)}×`,
          judged(m.quiet.ratio),
        ]);
      } catch (error) {
        if (!control) met = false;
        rows.push([provider, '—', `n/a (${errorText(error)})`, '—', judged(NaN), '—', '—', judged(NaN)]);
      }
    }
    const target = `≤ ${fixed(TARGET_REFERENCE_RATIO)}×`;
    return {
      table: {
        caption: `Webhooks now vs. before #12 (${short}), warm, small body (cells: now / before)`,
        headers: ['provider', 'body bytes', 'µs (log line built)', 'ratio', target, 'µs (no log)', 'ratio', target],
        rows,
      },
      method,
      notes: [met ? `The warm webhook cost is within ${fixed(TARGET_REFERENCE_RATIO)}× of ${short}'s on every row.` : `Target ${fixed(TARGET_REFERENCE_RATIO)}× ${short}'s warm webhook cost: MISSED on at least one row.`],
    };
  } finally {
    tree.remove();
  }
}
