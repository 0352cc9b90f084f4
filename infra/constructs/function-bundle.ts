import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Stage } from 'aws-cdk-lib';
import { Architecture, Code, Runtime, type FunctionProps } from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { build, type BuildOptions, type BuildResult, type Plugin } from 'esbuild';
import type { ProviderDefinition } from '../../shared/providers.js';

/** The repository root: where package-lock.json, tsconfig.json and functions/ live. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Every function runs on the same runtime and architecture; one place to move them. */
export const LAMBDA_RUNTIME = Runtime.NODEJS_22_X;
export const LAMBDA_ARCHITECTURE = Architecture.ARM_64;

/** The bundle's entry file inside the asset; the Lambda handler is `index.handler`. */
export const BUNDLE_FILE = 'index.mjs';
export const LAMBDA_HANDLER = 'index.handler';

/** Where code loaded only on demand goes inside the asset (code splitting; see bundleOptions). */
export const CHUNKS_DIR = 'chunks';

/**
 * A provider's handler file, which exports `handler`: `functions/<id>/handler.ts`, or for a webhook
 * sender without code of its own the generic `functions/webhook/handler.ts` (told its provider by PROVIDER_ID).
 */
export function handlerEntry(provider: ProviderDefinition): string {
  return join(PROJECT_ROOT, 'functions', provider.genericWebhook ? 'webhook' : provider.id, 'handler.ts');
}

/**
 * ESM bundles in a createRequire shim so a CommonJS dependency that requires a Node built-in still
 * loads (esbuild's ESM output has no `require` of its own).
 */
const ESM_REQUIRE_SHIM = "import{createRequire as __cjsRequire}from'node:module';const require=__cjsRequire(import.meta.url);";

/**
 * Built-ins the bundle loads through `require` instead of `import`. On Node 22 an ESM import of a
 * built-in reads every export to build the module namespace, and node:http's lazy `WebSocket` export
 * then loads undici, which the SDK never uses; `require` hands back the module object without
 * touching its lazy exports. (https is listed too: the SDK imports both, and neither needs a
 * namespace.) esbuild's `alias` cannot do this: it does not apply to built-ins.
 */
const REQUIRED_BUILTINS = /^node:https?$/;

/** Rewrites `import … from 'node:http'` (and https) to the bundle's `require`, through a CommonJS stub. */
export const requireBuiltins: Plugin = {
  name: 'require-builtins',
  setup(build) {
    // The stub's own require of the built-in stays external; every other import of it goes to the stub.
    build.onResolve({ filter: REQUIRED_BUILTINS }, (args) => (args.namespace === 'require-builtin' ? { path: args.path, external: true } : { path: args.path, namespace: 'require-builtin' }));
    build.onLoad({ filter: /.*/, namespace: 'require-builtin' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

/**
 * How every function is bundled, for `cdk synth` and for the benchmark alike: a minified ESM entry
 * (index.mjs) with its chunks under chunks/, each with a source map beside it, built by the esbuild
 * in node_modules (never Docker).
 *
 * - The AWS SDK clients are bundled rather than taken from the runtime: the code is tested against
 *   the SDK version in package-lock.json, and bundling pins that version in what runs (docs/deploy.md,
 *   "Bundling").
 * - The source map carries line mappings but not the sources. It ships in the asset for offline
 *   lookup; the functions load it only when deployed with `-c env.<id>.NODE_OPTIONS=--enable-source-maps`
 *   (docs/deploy.md, "Bundling"), as parsing it costs every cold start.
 * - ES module builds of dependencies are preferred (the SDK ships both): smaller, tree-shakeable.
 * - node:http and node:https are loaded with `require` (requireBuiltins, above).
 * - Code splitting: what the code loads with `import()` (the S3 client, which only a claim check or
 *   parking needs; the SDK's credential providers other than the environment's) goes to chunks that
 *   Node reads only when they are first needed, not on every cold start. Code shared by the entry and
 *   a chunk goes to chunks the entry imports. Chunk names carry a hash of their content, so the same
 *   source gives the same files (and the same asset hash).
 */
export function bundleOptions(entry: string, outdir: string): BuildOptions {
  return {
    entryPoints: [entry],
    outdir,
    // index.mjs (BUNDLE_FILE): the entry's name and the .mjs extension.
    entryNames: 'index',
    outExtension: { '.js': '.mjs' },
    splitting: true,
    chunkNames: `${CHUNKS_DIR}/[name]-[hash]`,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_SHIM },
    plugins: [requireBuiltins],
    logLevel: 'warning',
  };
}

/** Bundles `entry` into `outdir/index.mjs` and `outdir/chunks/` (+ `.map` each). The stack and the benchmark both call this. */
export function bundleFunction(entry: string, outdir: string, extra: Pick<BuildOptions, 'metafile' | 'write'> = {}): Promise<BuildResult> {
  return build({ ...bundleOptions(entry, outdir), ...extra });
}

/** The script each function's bundling runs: esbuild plugins need its asynchronous API, which CDK's synchronous bundling hooks cannot await. */
const BUNDLE_SCRIPT = join(PROJECT_ROOT, 'infra', 'bundle.ts');

/**
 * What every function shares: its code, `entry` bundled by `bundleFunction` in a child process (tsx
 * runs the TypeScript) into a fresh directory under the app's output directory (removed with it),
 * which CDK stages as the asset; or, in tests, `code` deployed as it is. Handler `index.handler` on
 * the common runtime and architecture.
 */
export function bundledCode(scope: IConstruct, entry: string, code?: Code): Pick<FunctionProps, 'code' | 'handler' | 'runtime' | 'architecture'> {
  return { code: code ?? functionCode(scope, entry), handler: LAMBDA_HANDLER, runtime: LAMBDA_RUNTIME, architecture: LAMBDA_ARCHITECTURE };
}

function functionCode(scope: IConstruct, entry: string): Code {
  const parent = Stage.of(scope)?.outdir ?? tmpdir();
  mkdirSync(parent, { recursive: true });
  const outdir = mkdtempSync(join(parent, 'bundle-'));
  return Code.fromCustomCommand(outdir, [process.execPath, '--import', 'tsx', BUNDLE_SCRIPT, entry, outdir], {
    commandOptions: { cwd: PROJECT_ROOT, stdio: 'inherit' },
  });
}
