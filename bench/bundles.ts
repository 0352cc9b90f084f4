import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build, type BuildOptions } from 'esbuild';
import { PROVIDER_IDS, type ProviderId } from '../shared/providers.js';
import { errorText, fixed, kib, median, verdict, type SectionResult, type Table } from './support.js';

/**
 * Section 2: each function's bundle as `cdk synth` makes it (NodejsFunction, local esbuild, the
 * options in infra/constructs/function-bundle.ts), its size, and how long importing it takes in a
 * fresh Node process next to importing only @aws-sdk/client-secrets-manager the same way.
 */
export interface BundleOptions {
  /** Fresh processes per import measured (median reported). */
  readonly runs: number;
}

export const TARGET_IMPORT_OVERHEAD = 0.15;

const execFileAsync = promisify(execFile);
const ROOT = process.cwd();

interface Bundle {
  readonly provider: ProviderId;
  readonly file: string;
  readonly bytes: number;
  readonly mapBytes: number;
  /** NODE_OPTIONS the function runs with (from the template), e.g. --enable-source-maps. */
  readonly nodeOptions: string;
}

interface Synthesised {
  readonly bundles: readonly Bundle[];
  readonly source: string;
}

/** Synthesises the CDK app into `outdir` the way `cdk synth` does (cdk.json context) and finds each function's asset. */
async function synthBundles(outdir: string): Promise<Synthesised> {
  const [{ App, CfnElement, Stack }, { Template }, { buildApp }] = await Promise.all([
    import('aws-cdk-lib'),
    import('aws-cdk-lib/assertions'),
    import('../infra/app.js'),
  ]);
  const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  // Every provider, whatever the developer's cdk.context.json selects.
  const app = new App({ outdir, context: { ...(cdkJson.context ?? {}), providers: PROVIDER_IDS.join(',') }, builtinCloudFormationValidation: false });
  const { stack } = buildApp(app);
  const template = Template.fromStack(stack);
  const functions = template.findResources('AWS::Lambda::Function') as Record<
    string,
    { Properties: { Code?: { S3Key?: string }; Environment?: { Variables?: Record<string, unknown> } } }
  >;
  const bundles: Bundle[] = [];
  for (const provider of PROVIDER_IDS) {
    const endpoint = stack.endpoints[provider];
    if (!endpoint) throw new Error(`the stack has no ${provider} function`);
    const child = endpoint.function.node.defaultChild;
    if (!(child instanceof CfnElement)) throw new Error(`${provider}: no CloudFormation function resource`);
    const resource = functions[Stack.of(child).getLogicalId(child)];
    const key = resource?.Properties.Code?.S3Key;
    if (typeof key !== 'string') throw new Error(`${provider}: the function's code is not an S3 asset`);
    const file = join(outdir, `asset.${key.replace(/\.zip$/, '')}`, 'index.mjs');
    const nodeOptions = resource?.Properties.Environment?.Variables?.NODE_OPTIONS;
    bundles.push({
      provider,
      file,
      bytes: statSync(file).size,
      mapBytes: existsSync(`${file}.map`) ? statSync(`${file}.map`).size : 0,
      nodeOptions: typeof nodeOptions === 'string' ? nodeOptions : '',
    });
  }
  return { bundles, source: '`cdk synth` (buildApp with the cdk.json context, NodejsFunction running the local esbuild)' };
}

/** The esbuild options NodejsFunction passes for BUNDLING (infra/constructs/function-bundle.ts). */
async function esbuildOptions(): Promise<{ banner: string; mainFields: string[]; target: string }> {
  const { BUNDLING } = await import('../infra/constructs/function-bundle.js');
  return { banner: BUNDLING.banner ?? '', mainFields: [...(BUNDLING.mainFields ?? ['module', 'main'])], target: BUNDLING.target ?? 'node22' };
}

/** The same bundle built directly with esbuild, when synthesis is not possible. */
/** One bundle with the stack's esbuild options (ESM, minified, source map without sources, the stack's banner). */
export async function buildLikeTheStack(input: Pick<BuildOptions, 'entryPoints' | 'stdin'>, outfile: string): Promise<void> {
  const opts = await esbuildOptions();
  await build({
    ...input,
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: opts.target,
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    mainFields: opts.mainFields,
    banner: { js: opts.banner },
    logLevel: 'silent',
  });
}

async function esbuildBundles(outdir: string, reason: string): Promise<Synthesised> {
  const bundles: Bundle[] = [];
  for (const provider of PROVIDER_IDS) {
    const dir = join(outdir, provider);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'index.mjs');
    await buildLikeTheStack({ entryPoints: [join(ROOT, 'functions', provider, 'handler.ts')] }, file);
    bundles.push({ provider, file, bytes: statSync(file).size, mapBytes: statSync(`${file}.map`).size, nodeOptions: '--enable-source-maps' });
  }
  return { bundles, source: `esbuild with the stack's options (cdk synth failed: ${reason})` };
}

/** Bytes of our own modules (not node_modules) in the minified bundle, from esbuild's metafile. */
async function ownBytes(provider: ProviderId): Promise<{ own: number; total: number }> {
  const opts = await esbuildOptions();
  const result = await build({
    entryPoints: [join(ROOT, 'functions', provider, 'handler.ts')],
    outfile: 'index.mjs',
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    target: opts.target,
    minify: true,
    mainFields: opts.mainFields,
    logLevel: 'silent',
  });
  const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint !== undefined);
  let own = 0;
  let total = 0;
  for (const [path, input] of Object.entries(output?.inputs ?? {})) {
    total += input.bytesInOutput;
    if (!path.includes('node_modules/')) own += input.bytesInOutput;
  }
  return { own, total };
}

/** A bundle of only what our secrets cache takes from the Secrets Manager client, built like the functions. */
async function sdkOnlyBundle(outdir: string): Promise<string> {
  const file = join(outdir, 'sdk-only', 'index.mjs');
  await buildLikeTheStack(
    {
      stdin: {
        contents: "export { SecretsManagerClient, ListSecretVersionIdsCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';",
        resolveDir: ROOT,
        loader: 'js',
      },
    },
    file,
  );
  return file;
}

// Runs in the fresh process: only the import is timed, not Node's own start-up.
const IMPORT_PROBE = 'const t=performance.now();await import(process.argv[1]);process.stdout.write(String(performance.now()-t));';

async function importMs(specifier: string, nodeOptions: string): Promise<number> {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: nodeOptions, AWS_REGION: 'eu-west-1' };
  const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', IMPORT_PROBE, specifier], { cwd: ROOT, env });
  return Number(stdout.trim());
}

interface Target {
  readonly label: string;
  readonly specifier: string;
  readonly nodeOptions: string;
}

/** Median import time per target, the targets taken round-robin so drift on the machine hits all alike. */
async function medianImports(targets: readonly Target[], runs: number): Promise<number[]> {
  const samples: number[][] = targets.map(() => []);
  for (const target of targets) await importMs(target.specifier, target.nodeOptions); // file cache warm for all
  for (let run = 0; run < runs; run++) {
    for (let i = 0; i < targets.length; i++) samples[i]!.push(await importMs(targets[i]!.specifier, targets[i]!.nodeOptions));
  }
  return samples.map(median);
}

export async function bundleSizes(options: BundleOptions): Promise<SectionResult> {
  const outdir = mkdtempSync(join(tmpdir(), 'bench-bundles-'));
  try {
    let synthesised: Synthesised;
    try {
      synthesised = await synthBundles(join(outdir, 'cdk.out'));
    } catch (error) {
      synthesised = await esbuildBundles(join(outdir, 'esbuild'), errorText(error));
    }
    const { bundles } = synthesised;
    const nodeOptions = bundles[0]?.nodeOptions ?? '';
    const sdkBundle = await sdkOnlyBundle(outdir);
    const targets: Target[] = [
      { label: '@aws-sdk/client-secrets-manager (node_modules)', specifier: '@aws-sdk/client-secrets-manager', nodeOptions },
      { label: 'Secrets Manager client only, bundled like the functions', specifier: pathToFileURL(sdkBundle).href, nodeOptions },
      ...bundles.map((b) => ({ label: b.provider, specifier: pathToFileURL(b.file).href, nodeOptions: b.nodeOptions })),
    ];
    const times = await medianImports(targets, options.runs);
    const sdkMs = times[0]!;
    const sdkBundledMs = times[1]!;

    const sizeRows: string[][] = [];
    const importRows: string[][] = [];
    let allMet = true;
    for (let i = 0; i < bundles.length; i++) {
      const bundle = bundles[i]!;
      const { own, total } = await ownBytes(bundle.provider);
      sizeRows.push([bundle.provider, kib(bundle.bytes), kib(bundle.mapBytes), kib(own), `${fixed((own / total) * 100, 1)}%`]);
      const ms = times[i + 2]!;
      const overhead = ms / sdkMs - 1;
      allMet &&= overhead <= TARGET_IMPORT_OVERHEAD;
      importRows.push([
        bundle.provider,
        fixed(ms, 1),
        fixed(sdkMs, 1),
        `${fixed(ms / sdkMs)}×`,
        `${overhead >= 0 ? '+' : ''}${fixed(overhead * 100, 0)}%`,
        verdict(overhead <= TARGET_IMPORT_OVERHEAD),
        `${fixed(ms / sdkBundledMs)}×`,
      ]);
    }
    const sizes: Table = {
      caption: 'Bundle size (index.mjs as deployed; own code = bytes from functions/ and shared/ in the minified output, per esbuild metafile)',
      headers: ['function', 'index.mjs KiB', 'index.mjs.map KiB', 'own code KiB', 'own share'],
      rows: sizeRows,
    };
    const imports: Table = {
      caption: `Cold import, median of ${options.runs} fresh processes (NODE_OPTIONS=${nodeOptions || '(none)'}, as the functions run)`,
      headers: ['function', 'import ms', 'SM client import ms', 'ratio', 'added', `≤ +${TARGET_IMPORT_OVERHEAD * 100}%`, `vs SM client bundled (${fixed(sdkBundledMs, 1)} ms)`],
      rows: importRows,
    };
    return {
      id: '2',
      title: 'Bundle size and cold import time',
      method: [
        `Bundles from ${synthesised.source}.`,
        `Import time: \`node --input-type=module -e\` timing \`await import(<bundle>)\` with performance.now() inside a fresh process (Node's own start-up excluded); the baseline imports only @aws-sdk/client-secrets-manager from node_modules the same way. Targets are measured round-robin after one unmeasured pass.`,
        'The bundles carry the whole AWS SDK they use (bundleAwsSDK: true; lookups add the DynamoDB client, webhooks the DynamoDB and EventBridge clients), so the last column also compares with the Secrets Manager client alone bundled with the same esbuild options.',
      ],
      tables: [sizes, imports],
      notes: [allMet ? `Every bundle imports within +${TARGET_IMPORT_OVERHEAD * 100}% of the Secrets Manager client alone.` : `Target +${TARGET_IMPORT_OVERHEAD * 100}%: MISSED for at least one bundle.`],
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
