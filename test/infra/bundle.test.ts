import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { builtinModules } from 'node:module';
import { buildSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../infra/app.js';
import { checkShapes, startColdRig, type ColdRig } from '../../bench/cold-start.js';
import type { SignedCallbacksStack } from '../../infra/stack.js';
import { functionUrlEvent } from '../support/events.js';
import { logicalId, testApp } from './support.js';

/**
 * The one place the functions are bundled for real: bundleFunction running the local esbuild (no
 * Docker, no network), as `cdk synth` does. Two providers (a lookup and a webhook) keep it fast.
 */
const SELECTED = ['talki', 'bullseye'] as const;

let outdir: string;
let stack: SignedCallbacksStack;
let template: Template;
beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'cdk-bundle-test-'));
  ({ stack } = buildApp(testApp({ providers: SELECTED.join(',') }, outdir)));
  template = Template.fromStack(stack);
});
afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

function assetDir(providerId: (typeof SELECTED)[number]): string {
  const fn = template.findResources('AWS::Lambda::Function')[logicalId(stack.endpoints[providerId]!.function)] as { Properties: { Code: { S3Key: string } } };
  return join(outdir, `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, '')}`);
}

describe('function bundles (bundleFunction, local esbuild)', () => {
  it.each(SELECTED)('%s: one minified ESM file with a source map, deployed as an S3 asset, handler index.handler', (id) => {
    const fn = template.findResources('AWS::Lambda::Function')[logicalId(stack.endpoints[id]!.function)] as { Properties: { Handler: string; Code: Record<string, unknown> } };
    expect(fn.Properties.Handler).toBe('index.handler');
    expect(fn.Properties.Code).toHaveProperty('S3Key');
    const dir = assetDir(id);
    expect(existsSync(join(dir, 'index.mjs'))).toBe(true);
    expect(existsSync(join(dir, 'index.mjs.map'))).toBe(true);
    // The map carries mappings but not the sources (sourcesContent: false).
    expect(JSON.parse(readFileSync(join(dir, 'index.mjs.map'), 'utf8'))).not.toHaveProperty('sourcesContent');
  });

  it.each(SELECTED)('%s: the AWS SDK is inside the bundle (version pinned by package-lock.json): it imports only Node built-ins', (id) => {
    // esbuild parses the bundle and lists its real import / require / import() specifiers (not text in strings).
    const file = join(assetDir(id), 'index.mjs');
    const analysed = buildSync({ entryPoints: [file], bundle: true, write: false, metafile: true, platform: 'node', format: 'esm', external: ['*'], logLevel: 'silent' });
    const specifiers = Object.values(analysed.metafile.outputs).flatMap((output) => output.imports.map((i) => i.path));
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    expect(specifiers.length).toBeGreaterThan(0);
    expect([...new Set(specifiers.filter((s) => !builtins.has(s)))]).toEqual([]);
    expect(readFileSync(file, 'utf8')).toContain('ListSecretVersionIds');
  });

  it.each(SELECTED)('%s: node:http and node:https are loaded with require, never an ESM import (which makes Node 22 load undici)', (id) => {
    const file = join(assetDir(id), 'index.mjs');
    const analysed = buildSync({ entryPoints: [file], bundle: true, write: false, metafile: true, platform: 'node', format: 'esm', external: ['*'], logLevel: 'silent' });
    const imported = Object.values(analysed.metafile.outputs).flatMap((output) => output.imports.map((i) => i.path));
    const text = readFileSync(file, 'utf8');
    for (const builtin of ['node:http', 'node:https']) {
      expect(imported).not.toContain(builtin);
      // Through esbuild's require shim (a minified name), which calls the banner's createRequire.
      expect(text).toMatch(new RegExp(`exports=[\\w$]+\\("${builtin}"\\)`));
    }
  });

  it('the bundled talki handler loads and answers a real function URL event without AWS (no secret configured -> 503)', async () => {
    const bundle = (await import(pathToFileURL(join(assetDir('talki'), 'index.mjs')).href)) as { handler: (event: unknown) => Promise<{ statusCode: number; body?: string }> };
    const previous = process.env.SIGNING_SECRET_ID;
    delete process.env.SIGNING_SECRET_ID;
    try {
      const response = await bundle.handler(
        functionUrlEvent({ method: 'POST', path: '/talki/customer', headers: [['content-type', 'application/json'], ['x-talki-signature', 'ab'.repeat(32)]], body: '{"userToken":"usr_1"}' }),
      );
      expect(response.statusCode).toBe(503);
    } finally {
      if (previous !== undefined) process.env.SIGNING_SECRET_ID = previous;
    }
  });

  describe('the cold-start bench harness (bench/cold-start.ts) against the local stand-ins', () => {
    let rig: ColdRig;
    beforeAll(async () => {
      rig = await startColdRig();
    });
    afterAll(async () => {
      await rig?.close();
    });

    it.each(SELECTED)('%s: the bundle answers a function URL, an HTTP API v2 and a REST v1 event as the TypeScript source does', async (id) => {
      // A fresh Node process (this one's binary) per bundle, as the harness runs it on Node 22.
      const check = await checkShapes(process.execPath, { provider: id, file: join(assetDir(id), 'index.mjs'), nodeOptions: '' }, rig);
      expect(check.kinds).toEqual(expect.arrayContaining(['function-url', 'http-v2', 'rest-v1']));
      expect(check.bundle.map((a) => a.statusCode)).toEqual([200, 200, 200]);
      expect(check.bundle).toEqual(check.source);
      expect(check.same).toBe(true);
    });
  });
});
