import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_ROUTES } from '../../local/app.js';
import { loadLocalSecrets } from '../../local/defaults.js';
import { routeFor, signingSecretFor } from '../../local/platform-requests.js';
import { PROVIDERS } from '../../shared/providers.js';

/**
 * The commands a new user types: `npm start` (its banner and every signed curl it prints),
 * `npm run send`, `npm run verify` and `npm run smoke -- --local`, run as processes the way npm runs them (tsx).
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function run(script: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function finished(child: ChildProcess): Promise<{ code: number | null; out: string }> {
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out })));
}

/** Splits one printed curl line back into its arguments (single-quoted, `'\''` for a quote). */
function curlArgs(line: string): string[] {
  const args: string[] = [];
  const pattern = /'((?:[^']|'\\'')*)'|(\S+)/g;
  for (const match of line.matchAll(pattern)) args.push(match[1] !== undefined ? match[1].replace(/'\\''/g, "'") : match[2]!);
  return args;
}

async function runCurl(line: string): Promise<number> {
  const args = curlArgs(line);
  const method = args[args.indexOf('-X') + 1]!;
  const url = args.find((a) => a.startsWith('http'))!;
  const headers = args.flatMap((a, i) => (args[i - 1] === '-H' ? [a.split(/: (.*)/s).slice(0, 2) as [string, string]] : []));
  const bodyAt = args.indexOf('--data-raw');
  const response = await fetch(url, { method, headers, ...(bodyAt >= 0 ? { body: args[bodyAt + 1]! } : {}) });
  return response.status;
}

let server: ChildProcess;
let banner = '';
let baseUrl = '';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-cli-'));
  server = run('local/server.ts', [], { PORT: '0', LOCAL_EVENTS_FILE: join(dir, 'events.jsonl') });
  banner = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Ctrl-C stops')) resolve(out);
    });
    server.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    server.on('exit', (code) => reject(new Error(`npm start exited (${code}):\n${out}`)));
  });
  baseUrl = /running the real handlers locally on (http:\/\/\S+)/.exec(banner)![1]!;
});

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.on('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('npm start, npm run send, npm run verify, npm run smoke -- --local', () => {
  it('npm start prints every route and a signed curl for each, and each curl gets 200', async () => {
    for (const route of LOCAL_ROUTES) expect(banner).toContain(`${baseUrl}${route.path}`);
    const curls = banner.split('\n').filter((l) => l.startsWith('curl '));
    expect(curls).toHaveLength(LOCAL_ROUTES.length);
    for (const curl of curls) expect(await runCurl(curl)).toBe(200);
  });

  it('send: builds, signs and sends like the platform, printing status, latency and response', async () => {
    const [ok, stale] = await Promise.all([
      finished(run('local/send.ts', ['helper', '--url', baseUrl, '--email', 'grace@example.com'])),
      finished(run('local/send.ts', ['buddy', '--url', baseUrl, '--stale'])),
    ]);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/<- 200 OK in \d+(\.\d+)? ms/);
    expect(ok.out).toContain('Grace Hopper');
    expect(stale.code).toBe(1);
    expect(stale.out).toContain('<- 401');
  });

  it('verify: exit 0 when it verifies, 1 with the likely reason when not', async () => {
    const secrets = await loadLocalSecrets();
    const secret = secrets.ok ? signingSecretFor(secrets.value.talki!, routeFor('talki')) : undefined;
    const body = '{"userToken":"usr_ada"}';
    const signature = createHmac('sha256', secret!).update(body).digest('hex');
    const file = join(dir, 'captured.json');
    await writeFile(file, `${body}\n`);
    const [good, bad] = await Promise.all([
      finished(run('local/verify.ts', ['talki', '--signature', signature, '--body', body])),
      finished(run('local/verify.ts', ['talki', '--signature', signature, '--body-file', file])),
    ]);
    expect(good.code).toBe(0);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('trailing_newline_added');
  });

  it('npm run smoke -- --local: every route verifies, every mis-signed request gets 401, every webhook event reaches the local bus', async () => {
    const smoke = await finished(run('ops/smoke.ts', ['--local', '--url', baseUrl], { LOCAL_EVENTS_FILE: join(dir, 'events.jsonl') }));
    expect(smoke.out).toContain(`smoke test of the local server at ${baseUrl}`);
    const checks = 2 * LOCAL_ROUTES.length;
    expect(smoke.out).toContain(`${checks} checks: ${checks} passed, 0 failed`);
    expect(smoke.out.match(/ on the bus/g)).toHaveLength(LOCAL_ROUTES.filter((r) => PROVIDERS[r.provider].kind === 'webhook').length);
    expect(smoke.code).toBe(0);
  });

  it('npm start stops cleanly on SIGTERM', async () => {
    const exit = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
    server.kill('SIGTERM');
    expect(await exit).toBe(0);
  });
});
