import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { PROVIDER_IDS, PROVIDERS, type ProviderId, type RouteDefinition } from '../shared/providers.js';
import { loadLocalSecrets } from '../local/defaults.js';
import { buildPlatformRequest, requestUrl, signingSecretFor, type PlatformRequest } from '../local/platform-requests.js';
import { errorText, fixed, verdict, type SectionResult, type Table } from './support.js';

/**
 * Section 4: `npm start` (the local server running the real handlers on the stand-ins) in its own
 * process, loaded by autocannon from this one at fixed concurrency with requests each platform
 * would send: pre-signed for lookups, signed afresh per request for webhooks so every event is new.
 */
export interface LoadOptions {
  readonly connections: number;
  readonly durationSeconds: number;
}

const ROOT = process.cwd();
const START_TIMEOUT_MS = 60_000;

interface Server {
  readonly baseUrl: string;
  stop(): Promise<void>;
}

/** Starts `npm start` on an ephemeral port and waits for the banner that names it. */
async function startServer(eventsFile: string): Promise<Server> {
  const child: ChildProcess = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    // Its own process group, so stopping it stops npm, tsx and node together (and nothing else).
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOCAL_EVENTS_FILE: eventsFile },
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
      const killer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }, 5_000);
      await exited;
      clearTimeout(killer);
    }
  };
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start printed no URL within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      if (output.length < 100_000) output += chunk.toString('utf8');
      const match = /locally on http:\/\/[^:\s]+:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (${code}) before listening: ${output.trim().split('\n').slice(-3).join(' | ')}`));
    });
  }).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  // Keep draining the handlers' log lines, as a terminal would.
  child.stdout?.resume();
  child.stderr?.resume();
  return { baseUrl: `http://127.0.0.1:${port}`, stop };
}

function headersOf(request: PlatformRequest): Record<string, string> {
  return Object.fromEntries(request.headers.map(([name, value]) => [name, value]));
}

function pathOf(baseUrl: string, request: PlatformRequest): string {
  const url = requestUrl(baseUrl, request);
  return url.slice(baseUrl.length);
}

interface Plan {
  readonly provider: ProviderId;
  readonly route: RouteDefinition;
  /** A correctly signed request; for webhooks, a new one (new event id and time) per call. */
  next(): PlatformRequest;
  readonly fresh: boolean;
}

function plans(secretValues: Partial<Record<ProviderId, string>>): Plan[] {
  return PROVIDER_IDS.flatMap((provider): Plan[] => {
    const route: RouteDefinition = PROVIDERS[provider].routes[0]!;
    const value = secretValues[provider];
    const secret = value === undefined ? undefined : signingSecretFor(value, route);
    if (secret === undefined) return [];
    const eventType = route.eventFamily;
    const options = { secret, ...(eventType !== undefined ? { eventType } : {}) };
    if (PROVIDERS[provider].kind === 'lookup') {
      // Timestamps are good for ±300 s: one request signed now serves the whole run.
      const request = buildPlatformRequest(provider, { ...options, now: Date.now() });
      return [{ provider, route, next: () => request, fresh: false }];
    }
    let tick = Date.now();
    // Each call one millisecond later: a new event id and time, so the ledger sees a new event every time.
    return [{ provider, route, next: () => buildPlatformRequest(provider, { ...options, now: ++tick }), fresh: true }];
  });
}

async function warmUp(baseUrl: string, plan: Plan): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < 20; i++) {
    const request = plan.next();
    const response = await fetch(requestUrl(baseUrl, request), {
      method: request.method,
      headers: headersOf(request),
      ...(request.body !== undefined ? { body: request.body } : {}),
    });
    await response.arrayBuffer();
    statuses.push(response.status);
  }
  return statuses;
}

async function load(baseUrl: string, plan: Plan, options: LoadOptions): Promise<autocannon.Result> {
  const first = plan.next();
  return autocannon({
    url: baseUrl,
    connections: options.connections,
    duration: options.durationSeconds,
    timeout: 10,
    title: plan.provider,
    requests: [
      {
        method: first.method,
        path: pathOf(baseUrl, first),
        headers: headersOf(first),
        ...(first.body !== undefined ? { body: first.body } : {}),
        ...(plan.fresh
          ? {
              setupRequest: (request: autocannon.RawRequest) => {
                const next = plan.next();
                return { ...request, headers: headersOf(next), ...(next.body !== undefined ? { body: next.body } : {}) };
              },
            }
          : {}),
      },
    ],
  });
}

export async function localLoad(options: LoadOptions): Promise<SectionResult> {
  const secrets = await loadLocalSecrets();
  if (!secrets.ok) throw new Error(secrets.error);
  const dir = mkdtempSync(join(tmpdir(), 'bench-load-'));
  const server = await startServer(join(dir, 'events.jsonl'));
  const rows: string[][] = [];
  let allMet = true;
  try {
    for (const plan of plans(secrets.value)) {
      const warm = await warmUp(server.baseUrl, plan);
      const bad = warm.filter((s) => s !== 200);
      if (bad.length > 0) {
        rows.push([plan.provider, `${plan.route.method} ${plan.route.path}`, 'n/a', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a', `MISSED (warm-up answered ${[...new Set(bad)].join(', ')})`]);
        allMet = false;
        continue;
      }
      const result = await load(server.baseUrl, plan, options);
      const errors = result.errors + result.timeouts;
      const met = errors === 0 && result.non2xx === 0;
      allMet &&= met;
      rows.push([
        plan.provider,
        `${plan.route.method} ${plan.route.path}`,
        fixed(result.requests.average, 0),
        fixed(result.latency.p50, 1),
        fixed(result.latency.p99, 1),
        String(result['2xx'] + result.non2xx),
        String(errors),
        String(result.non2xx),
        verdict(met),
      ]);
    }
  } catch (error) {
    rows.push(['(aborted)', errorText(error), '', '', '', '', '', '', 'MISSED']);
    allMet = false;
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const table: Table = {
    headers: ['provider', 'route', 'req/s', 'p50 ms', 'p99 ms', 'responses', 'errors', 'non-2xx', '0 errors'],
    rows,
  };
  return {
    id: '4',
    title: 'Local server throughput and latency (`npm start`)',
    method: [
      `\`npm start\` spawned in its own process (PORT=0, its usual info-level JSON log to a pipe, webhook events to a temporary file), loaded with autocannon from the bench process: ${options.connections} connections, ${options.durationSeconds} s per provider, after 20 warm-up requests each.`,
      'Lookups send one request signed at the start (timestamps valid for ±300 s); webhooks are signed afresh per request with a new event id, so every one is a new event (DynamoDB de-duplication ledger on dynalite, file sink).',
      'The local stack is a development stand-in (dynalite is an in-process DynamoDB emulator): these figures measure the whole local path, not Lambda.',
    ],
    tables: [table],
    notes: [allMet ? 'Every provider answered every request 2xx with 0 errors.' : 'MISSED: errors or non-2xx answers (see the rows).'],
  };
}
