import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { bundleOptions, BUNDLE_FILE, handlerEntry, PROJECT_ROOT } from '../infra/constructs/function-bundle.js';
import { PROVIDERS } from '../shared/providers.js';
import { buildPlatformRequest } from '../local/platform-requests.js';
import { assetSize, BASELINE_SECRET, benchBundle, coldFigures, coldRounds, eventOfKind, findNode22, signedRequest, startColdRig, type ColdTarget } from './cold-start.js';
import { fixed, kib } from './support.js';

/**
 * `npx tsx bench/cold-path-cuts.ts [rounds]`: the cold-path cuts of issue #14 measured one by one with
 * section 2's harness, all variants in the same rounds next to the baseline (a Markdown table on
 * stdout). Each variant is the one above it plus one cut, for a lookup (Talki) and a webhook (Bullseye):
 *   before            one file, run with --enable-source-maps, node:http/https imported as ES modules,
 *                     (Bullseye) the S3 client imported with the function
 *   maps off          without --enable-source-maps
 *   require           + node:http/node:https through require (requireBuiltins)
 *   split             + code splitting: the SDK's other credential providers in chunks read on demand
 *   lazy S3           + (Bullseye) the S3 client loaded on first use, in its own chunk: what bundleFunction ships
 *   init fetch        shipped + the secret fetched during init by a top-level await (not shipped)
 * "S3 at init" is reproduced by an entry that imports the S3 client beside the handler, as the store did.
 */
const PROBED = { talki: 'signingSecret', bullseye: 'identification' } as const;
type Probed = keyof typeof PROBED;

interface Variant {
  readonly splitting: boolean;
  readonly requireBuiltins: boolean;
  readonly s3AtInit: boolean;
  readonly initFetch?: boolean;
}

/** The provider's handler module, plus what a variant adds: the S3 client imported at init, a top-level await that warms its secrets cache. */
function entrySource(provider: Probed, variant: Variant): string {
  const handler = handlerEntry(PROVIDERS[provider]);
  const lines = [`export { handler } from ${JSON.stringify(handler)};`];
  if (variant.s3AtInit) lines.push(`import { S3Client } from '@aws-sdk/client-s3';`, 'export const s3Client = S3Client;');
  if (variant.initFetch) {
    const [deps, from] = PROVIDERS[provider].kind === 'lookup' ? ['defaultLookupDeps', 'deps'] : ['defaultWebhookDeps', 'webhook'];
    const factory = provider === 'talki' ? 'createTalkiHandler' : 'createBullseyeHandler';
    lines.length = 0;
    lines.push(
      `import { signingSecretIdFromEnv } from './shared/config.js';`,
      `import { ${deps} } from './shared/${from}.js';`,
      `import { ${factory} } from ${JSON.stringify(handler)};`,
      `const deps = ${deps}();`,
      `export const handler = ${factory}(deps);`,
      `const id = signingSecretIdFromEnv('${provider}');`,
      `if (id) await deps.secrets.candidates(id, '${PROBED[provider]}').catch(() => undefined);`,
    );
  }
  return lines.join('\n');
}

/** Bundles a variant with the stack's options, less the cuts it has not made yet. */
async function bundleVariant(provider: Probed, variant: Variant, outdir: string): Promise<string> {
  const { entryPoints: _, ...options } = bundleOptions('', outdir);
  await build({
    ...options,
    stdin: { contents: entrySource(provider, variant), resolveDir: PROJECT_ROOT, loader: 'ts', sourcefile: 'index.ts' },
    splitting: variant.splitting,
    ...(variant.splitting ? {} : { chunkNames: undefined }),
    plugins: variant.requireBuiltins ? options.plugins : [],
  });
  return join(outdir, BUNDLE_FILE);
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
    const targets: ColdTarget[] = [{ label: 'baseline (shipped bundling)', file: baseline.file, nodeOptions: '', env: { SIGNING_SECRET_ID: BASELINE_SECRET.name }, event: baselineEvent }];
    for (const provider of Object.keys(PROBED) as Probed[]) {
      const webhook = PROVIDERS[provider].kind === 'webhook';
      const steps: [string, Variant, string][] = [
        ['before', { splitting: false, requireBuiltins: false, s3AtInit: webhook }, '--enable-source-maps'],
        ['source maps not loaded', { splitting: false, requireBuiltins: false, s3AtInit: webhook }, ''],
        ['+ node:http/https through require', { splitting: false, requireBuiltins: true, s3AtInit: webhook }, ''],
        ['+ code splitting', { splitting: true, requireBuiltins: true, s3AtInit: webhook }, ''],
        ...(webhook ? [['+ S3 client loaded on first use', { splitting: true, requireBuiltins: true, s3AtInit: false }, ''] as [string, Variant, string]] : []),
        ['shipped + secret fetched during init (not shipped)', { splitting: true, requireBuiltins: true, s3AtInit: false, initFetch: true }, ''],
      ];
      const common = { env: rig.providerEnv(provider), event: () => eventOfKind('function-url', signedRequest(provider)) };
      for (const [i, [label, variant, nodeOptions]] of steps.entries()) {
        const file = await bundleVariant(provider, variant, join(outdir, `${provider}-${i}`));
        targets.push({ label: `${provider}: ${label}`, file, nodeOptions, ...common });
      }
    }
    const samples = await coldRounds(node22.path, targets, rig, rounds);
    console.log(`Node ${node22.version}, ${rounds} rounds; ms: medians; ratios: median of each round's variant/baseline ratio; KiB: read at init / whole asset.\n`);
    console.log('| variant | KiB | import ms | ratio | first request ms | ratio | of which invocation ms | status |');
    console.log('|---|---|---|---|---|---|---|---|');
    samples.forEach((own, i) => {
      const f = coldFigures(own, samples[0]!);
      const size = assetSize(targets[i]!.file);
      console.log(`| ${targets[i]!.label} | ${kib(size.initBytes)} / ${kib(size.assetBytes)} | ${fixed(f.importMs, 1)} | ${fixed(f.importRatio)}× | ${fixed(f.answeredMs, 1)} | ${fixed(f.answeredRatio)}× | ${fixed(f.invokeMs, 1)} | ${f.statuses.join(',')} |`);
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
