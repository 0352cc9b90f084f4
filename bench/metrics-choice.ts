import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { logLine, type LogFields } from '../shared/log.js';
import { buildLikeTheStack } from './bundles.js';
import { fixed, median } from './support.js';

/**
 * `npx tsx bench/metrics-choice.ts [runs]`: what the dashboard's counts would cost in the function
 * if they came from CloudWatch Embedded Metric Format instead of metric filters (the choice is in
 * infra/constructs/operations-dashboard.ts; docs/deploy.md, "Why metric filters"). Metric filters
 * run in CloudWatch Logs on the line the handler already writes, so their cost in the function is
 * zero by construction; EMF needs an `_aws` block on the request line. Measured here: the bundle
 * with a minimal hand-written EMF writer (Powertools Metrics is not a dependency) next to the bundle
 * as deployed, their cold import in fresh processes, the request line's size with and without the
 * block, and the time to write the block.
 */
const execFileAsync = promisify(execFile);

/** The smallest EMF a request line could carry: one count for its outcome class, and its latency. */
export const EMF_WRITER = `
export function emfBlock(namespace, provider, outcomeMetric, latencyMs, nowMs) {
  return JSON.stringify({
    _aws: {
      Timestamp: nowMs,
      CloudWatchMetrics: [{ Namespace: namespace, Dimensions: [['provider']], Metrics: [{ Name: outcomeMetric, Unit: 'Count' }, { Name: 'LatencyMs', Unit: 'Milliseconds' }] }],
    },
    [outcomeMetric]: 1,
    LatencyMs: latencyMs,
  });
}`;

const SAMPLE: LogFields = {
  provider: 'buddystat',
  route: '/buddystat/events',
  method: 'POST',
  format: 'function-url',
  outcome: 'forwarded',
  status: 200,
  latencyMs: 12.34,
  requestId: 'c0ffee00-1234-4567-89ab-0123456789ab',
  eventType: 'goal.converted',
  dedupeKey: `buddystat#sha256#${'a'.repeat(64)}`,
};

async function importMs(file: string): Promise<number> {
  const script = `const t=performance.now();await import(${JSON.stringify(pathToFileURL(file).href)});process.stdout.write(String(performance.now()-t));`;
  const { stdout } = await execFileAsync(process.execPath, ['--enable-source-maps', '--input-type=module', '-e', script], {
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  return Number(stdout);
}

async function main(runs: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'metrics-choice-'));
  try {
    const handler = join(process.cwd(), 'functions', 'buddystat', 'handler.ts');
    const plain = join(dir, 'plain', 'index.mjs');
    const withEmf = join(dir, 'emf', 'index.mjs');
    await buildLikeTheStack({ entryPoints: [handler] }, plain);
    await buildLikeTheStack(
      { stdin: { contents: `export { handler } from ${JSON.stringify(handler)};${EMF_WRITER}`, resolveDir: process.cwd(), loader: 'ts' } },
      withEmf,
    );
    const plainMs: number[] = [];
    const emfMs: number[] = [];
    // Alternated, so a slow patch of a shared machine lands on both.
    for (let i = 0; i < runs; i++) {
      plainMs.push(await importMs(plain));
      emfMs.push(await importMs(withEmf));
    }
    const line = logLine('info', SAMPLE);
    const { emfBlock } = (await import(`data:text/javascript,${encodeURIComponent(EMF_WRITER)}`)) as {
      emfBlock: (ns: string, provider: string, metric: string, latency: number, now: number) => string;
    };
    const block = emfBlock('SignedCallbacks/SignedCallbackReceivers', 'buddystat', 'Forwarded', 12.34, Date.now());
    const iterations = 200_000;
    let sink = 0;
    const started = performance.now();
    for (let i = 0; i < iterations; i++) sink += emfBlock('SignedCallbacks/SignedCallbackReceivers', 'buddystat', 'Forwarded', i / 100, 1_700_000_000_000 + i).length;
    const perCallUs = ((performance.now() - started) * 1000) / iterations;

    console.log(`BuddyStat handler, ${runs} fresh processes each, Node ${process.versions.node}`);
    console.log(`  bundle as deployed      ${statSync(plain).size} bytes, cold import median ${fixed(median(plainMs), 1)} ms`);
    console.log(`  bundle + EMF writer     ${statSync(withEmf).size} bytes (+${statSync(withEmf).size - statSync(plain).size}), cold import median ${fixed(median(emfMs), 1)} ms`);
    console.log(`  request line            ${Buffer.byteLength(line)} bytes; with the EMF block ${Buffer.byteLength(line) + Buffer.byteLength(block) - 1} bytes (+${Buffer.byteLength(block) - 1})`);
    // The lengths are summed so the loop's work is used and cannot be optimised away.
    if (sink === 0) throw new Error('the EMF writer wrote nothing');
    console.log(`  writing the EMF block   ${fixed(perCallUs, 2)} µs per request`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const runs = Number(process.argv[2] ?? 15);
main(Number.isInteger(runs) && runs > 0 ? runs : 15).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
