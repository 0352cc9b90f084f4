import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { BUNDLE_FILE, bundleOptions, handlerEntry, PROJECT_ROOT } from '../infra/constructs/function-bundle.js';
import { PROVIDERS } from '../shared/providers.js';
import { buildPlatformRequest } from '../local/platform-requests.js';
import { BASELINE_SECRET, benchBundle, benchBundleSource, coldFigures, coldRounds, eventOfKind, findNode22, signedRequest, startColdRig, type ColdTarget } from './cold-start.js';
import { fixed } from './support.js';

/**
 * `npx tsx bench/cold-path-cuts.ts [rounds]`: each cold-path cut of issue #14 measured one by one with
 * section 2's harness, all variants in the same rounds next to the baseline (a Markdown table on
 * stdout). For a lookup (Talki) and a webhook (Bullseye):
 *   before        the bundle without the require-builtins plugin, run with --enable-source-maps
 *   maps off      the same bundle without --enable-source-maps
 *   shipped       + node:http/node:https through require (what bundleFunction builds today)
 *   init fetch    shipped + the secret fetched during init by a top-level await (not shipped)
 */
const PROBED = { talki: 'signingSecret', bullseye: 'identification' } as const;

/** The provider's handler module plus a top-level await that warms its secrets cache. */
function initFetchEntry(provider: keyof typeof PROBED): string {
  const [deps, from] = PROVIDERS[provider].kind === 'lookup' ? ['defaultLookupDeps', 'deps'] : ['defaultWebhookDeps', 'webhook'];
  const factory = provider === 'talki' ? 'createTalkiHandler' : 'createBullseyeHandler';
  return [
    `import { signingSecretIdFromEnv } from './shared/config.js';`,
    `import { ${deps} } from './shared/${from}.js';`,
    `import { ${factory} } from './functions/${provider}/handler.js';`,
    `const deps = ${deps}();`,
    `export const handler = ${factory}(deps);`,
    `const id = signingSecretIdFromEnv('${provider}');`,
    `if (id) await deps.secrets.candidates(id, '${PROBED[provider]}').catch(() => undefined);`,
  ].join('\n');
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 15);
  const node22 = findNode22();
  if (!node22.ok) {
    console.log(`skipped: ${node22.reason}`);
    return;
  }
  const outdir = mkdtempSync(join(tmpdir(), 'bench-cuts-'));
  const rig = await startColdRig();
  try {
    let sent = 0;
    const baselineEvent = () => eventOfKind('function-url', buildPlatformRequest('talki', { secret: BASELINE_SECRET.value.signingSecret, now: Date.now() + sent++ }));
    const baseline = await benchBundle(join(PROJECT_ROOT, 'bench', 'baseline-handler.ts'), join(outdir, 'baseline'));
    const targets: ColdTarget[] = [{ label: 'baseline', file: baseline.file, nodeOptions: '', env: { SIGNING_SECRET_ID: BASELINE_SECRET.name }, event: baselineEvent }];
    for (const provider of Object.keys(PROBED) as (keyof typeof PROBED)[]) {
      const dir = (name: string) => join(outdir, `${provider}-${name}`);
      const withoutPlugin = { ...bundleOptions(handlerEntry(PROVIDERS[provider]), dir('import')), plugins: [] };
      await build(withoutPlugin);
      const shipped = await benchBundle(handlerEntry(PROVIDERS[provider]), dir('shipped'));
      const initFetch = await benchBundleSource(initFetchEntry(provider), dir('init'));
      const common = { env: rig.providerEnv(provider), event: () => eventOfKind('function-url', signedRequest(provider)) };
      targets.push(
        { label: `${provider}: before (source maps loaded, ESM import of node:http)`, file: join(dir('import'), BUNDLE_FILE), nodeOptions: '--enable-source-maps', ...common },
        { label: `${provider}: source maps not loaded`, file: join(dir('import'), BUNDLE_FILE), nodeOptions: '', ...common },
        { label: `${provider}: + node:http/https through require (shipped)`, file: shipped.file, nodeOptions: '', ...common },
        { label: `${provider}: shipped + secret fetched during init (not shipped)`, file: initFetch.file, nodeOptions: '', ...common },
      );
    }
    const samples = await coldRounds(node22.path, targets, rig, rounds);
    console.log(`Node ${node22.version}, ${rounds} rounds; ms: medians; ratios: median of each round's variant/baseline ratio.\n`);
    console.log('| variant | import ms | ratio | first request ms | ratio | of which invocation ms | status |');
    console.log('|---|---|---|---|---|---|---|');
    samples.forEach((own, i) => {
      const f = coldFigures(own, samples[0]!);
      console.log(`| ${targets[i]!.label} | ${fixed(f.importMs, 1)} | ${fixed(f.importRatio)}× | ${fixed(f.answeredMs, 1)} | ${fixed(f.answeredRatio)}× | ${fixed(f.invokeMs, 1)} | ${f.statuses.join(',')} |`);
    });
  } finally {
    await rig.close();
    rmSync(outdir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
