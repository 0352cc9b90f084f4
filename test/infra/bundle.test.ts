import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { builtinModules } from 'node:module';
import { buildSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../infra/app.js';
import { assetFiles, checkClaimCheck, checkShapes, initFiles, startColdRig, type ColdRig } from '../../bench/cold-start.js';
import type { SignedCallbacksStack } from '../../infra/stack.js';
import { dedupeKeyFor } from '../../shared/events/forward.js';
import type { RedriveReport } from '../../shared/events/redrive.js';
import { parkedDelivery, parkedKey } from '../../shared/events/store.js';
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

/** The asset's code files: index.mjs and its chunks. */
function modules(providerId: (typeof SELECTED)[number]): string[] {
  return assetFiles(join(assetDir(providerId), 'index.mjs')).filter((f) => f.endsWith('.mjs'));
}

/** A bundle file's real import / require / import() specifiers, as esbuild parses them (not text in strings). */
function imports(file: string): { path: string; kind: string }[] {
  const analysed = buildSync({ entryPoints: [file], bundle: true, write: false, metafile: true, platform: 'node', format: 'esm', external: ['*'], logLevel: 'silent' });
  return Object.values(analysed.metafile.outputs).flatMap((output) => output.imports.map((i) => ({ path: i.path, kind: i.kind })));
}

describe('function bundles (bundleFunction, local esbuild)', () => {
  it.each(SELECTED)('%s: a minified ESM entry and its chunks, each with a source map, deployed as one S3 asset, handler index.handler', (id) => {
    const fn = template.findResources('AWS::Lambda::Function')[logicalId(stack.endpoints[id]!.function)] as { Properties: { Handler: string; Code: Record<string, unknown> } };
    expect(fn.Properties.Handler).toBe('index.handler');
    expect(fn.Properties.Code).toHaveProperty('S3Key');
    const dir = assetDir(id);
    const code = modules(id);
    expect(code).toContain(join(dir, 'index.mjs'));
    expect(code.filter((f) => f.startsWith(join(dir, 'chunks/'))).length).toBeGreaterThan(0);
    for (const file of code) {
      expect(existsSync(`${file}.map`)).toBe(true);
      // The map carries mappings but not the sources (sourcesContent: false).
      expect(JSON.parse(readFileSync(`${file}.map`, 'utf8'))).not.toHaveProperty('sourcesContent');
    }
  });

  it.each(SELECTED)('%s: the AWS SDK is inside the asset (version pinned by package-lock.json): its files import only Node built-ins and each other', (id) => {
    const code = new Set(modules(id));
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    for (const file of code) {
      const outside = imports(file)
        .map((i) => i.path)
        .filter((path) => !builtins.has(path) && !(path.startsWith('./') && code.has(join(dirname(file), path))));
      expect(outside, file).toEqual([]);
    }
    expect(initFiles(join(assetDir(id), 'index.mjs')).some((f) => readFileSync(f, 'utf8').includes('ListSecretVersionIds'))).toBe(true);
  });

  it.each(SELECTED)('%s: node:http and node:https are loaded with require, never an ESM import (which makes Node 22 load undici)', (id) => {
    const code = modules(id);
    const imported = code.flatMap((file) => imports(file).map((i) => i.path));
    const text = code.map((file) => readFileSync(file, 'utf8')).join('\n');
    for (const builtin of ['node:http', 'node:https']) {
      expect(imported).not.toContain(builtin);
      // Through esbuild's require shim (a minified name), which calls the banner's createRequire.
      expect(text).toMatch(new RegExp(`exports=[\\w$]+\\("${builtin}"\\)`));
    }
  });

  it('bullseye: the S3 client (claim checks and parking only) is in a chunk loaded on first use, not at init; talki carries none', () => {
    // "AmazonS3" is the S3 client's service id: in its code, not in ours.
    const holds = (file: string) => readFileSync(file, 'utf8').includes('AmazonS3');
    const entry = join(assetDir('bullseye'), 'index.mjs');
    expect(initFiles(entry).filter(holds)).toEqual([]);
    const chunk = modules('bullseye').find(holds);
    expect(chunk).toBeDefined();
    expect(imports(entry)).toContainEqual(expect.objectContaining({ kind: 'dynamic-import', path: `./${relative(dirname(entry), chunk!)}` }));
    expect(modules('talki').filter(holds)).toEqual([]);
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

    it('bullseye: a delivery over the EventBridge entry limit is stored in the bucket (s3rver) through the S3 chunk and reaches the bus as a claim check (README, "Webhooks: the promise")', async () => {
      const check = await checkClaimCheck(process.execPath, { provider: 'bullseye', file: join(assetDir('bullseye'), 'index.mjs'), nodeOptions: '' }, rig);
      expect(check).toEqual({ provider: 'bullseye', status: 200, stored: true });
    });

    it('the redrive bundle lists, reads and deletes a parked delivery through its S3 chunk and forwards it once (docs/deploy.md, "Webhook delivery")', async () => {
      const body = JSON.stringify({ id: 'evt_bundle_redrive', type: 'visitor.identified' });
      const dedupeKey = dedupeKeyFor('bullseye', body);
      const delivery = { dedupeKey, eventType: 'visitor.identified', receivedAt: new Date().toISOString(), route: '/bullseye/identification', test: false, unknownType: false };
      const key = parkedKey('bullseye', dedupeKey);
      const parked = parkedDelivery({ provider: 'bullseye', body, delivery }, { outcome: 'sink_failed', message: 'bus unavailable' }, Date.now());
      await rig.s3.client.send(new PutObjectCommand({ Bucket: rig.s3.bucket, Key: key, Body: JSON.stringify(parked) }));
      const before = rig.events.entries().length;

      const fn = template.findResources('AWS::Lambda::Function')[logicalId(stack.redrive!.function)] as { Properties: { Code: { S3Key: string } } };
      const file = join(outdir, `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, '')}`, 'index.mjs');
      const { handler } = (await import(pathToFileURL(file).href)) as { handler: () => Promise<RedriveReport> };
      const saved = { ...process.env };
      Object.assign(process.env, rig.awsEnv, rig.providerEnv('bullseye'));
      try {
        expect(await handler()).toEqual({ forwarded: 1, duplicates: 0, kept: 0, unreadable: 0 });
      } finally {
        process.env = saved;
      }
      expect(rig.events.entries().slice(before).map((e) => JSON.parse(e.Detail!).delivery.dedupeKey)).toEqual([dedupeKey]);
      expect((await rig.s3.client.send(new ListObjectsV2Command({ Bucket: rig.s3.bucket, Prefix: key }))).KeyCount).toBe(0);
    });
  });
});
