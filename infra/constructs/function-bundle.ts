import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Architecture, Runtime, type Code } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, OutputFormat, type BundlingOptions, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { ProviderDefinition } from '../../shared/providers.js';

/** The repository root: where package-lock.json, tsconfig.json and functions/ live. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Every function runs on the same runtime and architecture; one place to move them. */
export const LAMBDA_RUNTIME = Runtime.NODEJS_22_X;
export const LAMBDA_ARCHITECTURE = Architecture.ARM_64;

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
 * How every function is bundled: locally with the esbuild in node_modules (never Docker), one
 * minified ESM file with a source map (NODE_OPTIONS=--enable-source-maps maps stack traces back).
 *
 * The AWS SDK clients are bundled rather than taken from the runtime (`bundleAwsSDK`): the code is
 * tested against the SDK version in package-lock.json, and bundling pins that version in what runs.
 * The cold-start cost of doing so was measured; see docs/deploy.md ("Bundling").
 */
export const BUNDLING: BundlingOptions = {
  format: OutputFormat.ESM,
  target: 'node22',
  minify: true,
  sourceMap: true,
  // Stack traces need line mappings, not a second copy of the sources in every zip.
  sourcesContent: false,
  bundleAwsSDK: true,
  // Prefer the ES module builds of dependencies (the SDK ships both): smaller, tree-shakeable.
  mainFields: ['module', 'main'],
  banner: ESM_REQUIRE_SHIM,
  forceDockerBundling: false,
  logLevel: LogLevel.WARNING,
};

/**
 * What every function's NodejsFunction shares: `entry` bundled as above on the common runtime and
 * architecture, or, in tests, `code` deployed as it is (its handler must be `index.handler`).
 */
export function bundledCode(entry: string, code?: Code): NodejsFunctionProps {
  return {
    entry,
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
    ...(code ? { code, handler: 'index.handler' } : { handler: 'handler' }),
    bundling: BUNDLING,
    runtime: LAMBDA_RUNTIME,
    architecture: LAMBDA_ARCHITECTURE,
  };
}
