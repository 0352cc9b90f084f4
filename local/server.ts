import { rm, writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { ENV, numberFromEnv } from '../shared/config.js';
import { SECRETS_DEFAULTS } from '../shared/secrets/cache.js';
import { PROVIDER_IDS, PROVIDERS, type RouteDefinition } from '../shared/providers.js';
import { startLocalStack, type LocalStack } from './app.js';
import { LOCAL_FILES, portFromEnv, type RunningStack } from './defaults.js';
import { buildPlatformRequest, defaultEventType, signingSecretFor, toCurl, type PlatformRequest } from './platform-requests.js';

/**
 * npm start: every registry route on http://localhost:$PORT (default 3000), running the real
 * handlers on embedded defaults. Prints each route and a signed curl per provider.
 */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? path : rel;
}

/** One signed request per route: both Bullseye families, BuddyStat's goal.converted. */
function sampleRequests(stack: LocalStack, now: number): { title: string; request: PlatformRequest }[] {
  return PROVIDER_IDS.flatMap((provider) =>
    PROVIDERS[provider].routes.flatMap((route: RouteDefinition) => {
      const eventType = route.eventFamily ?? defaultEventType(provider);
      const secretValue = stack.secrets[provider];
      const secret = secretValue === undefined ? undefined : signingSecretFor(secretValue, route);
      if (secret === undefined) return [];
      const request = buildPlatformRequest(provider, { secret, now, ...(eventType !== undefined ? { eventType } : {}) });
      return [{ title: `${PROVIDERS[provider].title}${eventType ? ` (${eventType})` : ''}`, request }];
    }),
  );
}

function banner(stack: LocalStack): string {
  const base = `http://localhost:${stack.port}`;
  const lines = [
    '',
    `Signed-callback receivers, running the real handlers locally on ${base}`,
    `  signing secrets  ${shown(stack.secretsFile)} -> local Secrets Manager, one secret per provider (local/<provider>)`,
    `  customers        ${shown(stack.customersFile)} -> DynamoDB (dynalite, in-process): ${stack.customers.length} profiles`,
    `  webhook events   ${shown(stack.eventsFile)} (appended, and printed here)`,
    `  delivery bucket  s3://${stack.s3.bucket} on s3rver at ${stack.s3.endpoint}: claims/ (large bodies), parked/ (npm run redrive)`,
    `  Bullseye         partner API stand-in on ${stack.bullseye.apiUrl}, delivering to this server: \`npm run rotate -- bullseye\` rotates its secrets`,
    '',
    'Sample customers:',
    ...stack.customers.map((c) => `  ${c.userId.padEnd(12)} ${(c.email ?? '').padEnd(22)} ${c.sessionIds?.length ? `sessions ${c.sessionIds.join(', ')}` : ''}`.trimEnd()),
    '',
    'Routes:',
    ...stack.routes.map((r) => `  ${r.method.padEnd(5)} ${base}${r.path.padEnd(26)} ${PROVIDERS[r.provider].title}`),
    '',
    'Signed requests to paste (Buddy and Helper timestamps expire in 5 minutes: `npm run send -- <provider>` signs afresh):',
  ];
  for (const { title, request } of sampleRequests(stack, Date.now())) {
    lines.push('', `# ${title}`, toCurl(base, request));
  }
  lines.push('', 'Logs below are the handlers\' own JSON lines. Ctrl-C stops.', '');
  return lines.join('\n');
}

async function main(): Promise<void> {
  const stack = await startLocalStack({ port: portFromEnv(), host: process.env.HOST?.trim() || '127.0.0.1' });
  console.log(banner(stack));
  const running: RunningStack = {
    secretsManagerEndpoint: stack.secretsManager.endpoint,
    bullseyeApiUrl: stack.bullseye.apiUrl,
    receiverTtlSeconds: numberFromEnv(process.env, ENV.secretsTtlSeconds, SECRETS_DEFAULTS.ttlMs / 1000),
  };
  await writeFile(LOCAL_FILES.running, JSON.stringify(running, null, 2) + '\n');
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1); // a second Ctrl-C: do not wait
    stopping = true;
    console.log(`\n${signal}: stopping`);
    Promise.all([stack.close(), rm(LOCAL_FILES.running, { force: true })]).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE') console.error(`port ${portFromEnv()} is in use: set PORT to another one (PORT=3001 npm start)`);
  else console.error(`npm start failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
