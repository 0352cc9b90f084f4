import { bundleFunction } from './constructs/function-bundle.js';

/**
 * `tsx infra/bundle.ts <entry> <outdir>`: bundles one function the way the stack deploys it. Run by
 * `functionCode` during `cdk synth`; exits non-zero (failing the synth) when esbuild reports an error.
 */
const [entry, outdir] = process.argv.slice(2);
if (!entry || !outdir) {
  console.error('usage: tsx infra/bundle.ts <entry.ts> <outdir>');
  process.exit(2);
}
await bundleFunction(entry, outdir).catch(() => process.exit(1));
