import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ENV } from '../shared/config.js';
import { deliveryLedgerFromEnv, deliveryStoreFromEnv, eventSinkFromEnv } from '../shared/events/from-env.js';
import { redriveParked } from '../shared/events/redrive.js';
import { createLogger } from '../shared/log.js';
import { PROVIDER_IDS, providerById } from '../shared/providers.js';
import { stackFileFor, type LocalStackEndpoints } from './app.js';
import { usageError, runCommand } from './cli.js';
import { eventsFileFromEnv } from './defaults.js';
import { LOCAL_AWS_ENV } from './stand-ins/dynamodb.js';

/**
 * npm run redrive -- [--provider X] [--since T]: re-forwards parked webhook deliveries through the
 * same ledger as the functions (each still reaches the bus once) and deletes each from parked/ once
 * it is on the bus. The deployed stack runs the same code on a schedule.
 */
const WEBHOOK_IDS = PROVIDER_IDS.filter((id) => providerById(id)?.kind === 'webhook');

const USAGE = `usage: npm run redrive -- [--provider X] [--since T]

  --provider X   only X's parked deliveries (${WEBHOOK_IDS.join(' | ')})
  --since T      only deliveries parked at or after T: an ISO time (2026-12-03T10:00:00Z) or a time ago (30m, 2h, 7d)

Against a deployed stack: set ${ENV.deliveryBucket}, ${ENV.dedupeTable} and ${ENV.eventBusName} to the stack's outputs
(DeliveryBucketName, DedupeTableName, EventBusName) and have AWS credentials in the environment.
Without ${ENV.deliveryBucket}: the running \`npm start\` (its stand-ins' endpoints are in local/.local-stack.json).`;

const AGO = /^(\d+)([mhd])$/;
const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since` as a time: an ISO time, or `<n>m|h|d` before `now`. */
export function parseSince(value: string, now: number = Date.now()): Date | undefined {
  const ago = AGO.exec(value.trim());
  if (ago) return new Date(now - Number(ago[1]) * UNIT_MS[ago[2]!]!);
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

/**
 * The variables that reach a running `npm start`, from the file it writes while it runs. The SDK
 * reads endpoints and credentials from process.env, so they are set there.
 */
async function useLocalStack(): Promise<boolean> {
  let running: LocalStackEndpoints;
  try {
    running = JSON.parse(await readFile(stackFileFor(eventsFileFromEnv()), 'utf8')) as LocalStackEndpoints;
  } catch {
    return false;
  }
  Object.assign(process.env, {
    ...LOCAL_AWS_ENV,
    AWS_ENDPOINT_URL_S3: running.s3Endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: running.dynamoDbEndpoint,
    [ENV.deliveryBucket]: running.deliveryBucket,
    [ENV.dedupeTable]: running.dedupeTable,
    [ENV.eventSink]: 'file',
    [ENV.eventsFile]: running.eventsFile,
  });
  return true;
}

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { provider: { type: 'string' }, since: { type: 'string' }, help: { type: 'boolean' } } }));
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error), USAGE);
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.provider !== undefined && !(WEBHOOK_IDS as string[]).includes(values.provider)) {
    return usageError(`--provider must be one of ${WEBHOOK_IDS.join(', ')}`, USAGE);
  }
  const since = values.since === undefined ? undefined : parseSince(values.since);
  if (values.since !== undefined && !since) return usageError(`--since: "${values.since}" is neither an ISO time nor 30m/2h/7d`, USAGE);

  if (!process.env[ENV.deliveryBucket]?.trim() && !(await useLocalStack())) {
    return usageError(`${ENV.deliveryBucket} is not set and no \`npm start\` is running`, USAGE);
  }
  const env = process.env;
  // Progress lines on stderr, the summary on stdout.
  const logger = createLogger((line) => process.stderr.write(line + '\n'), 'info');
  const report = await redriveParked({
    store: deliveryStoreFromEnv(env),
    sink: eventSinkFromEnv(env),
    ledger: deliveryLedgerFromEnv(env, logger),
    logger,
    ...(values.provider ? { provider: values.provider } : {}),
    ...(since ? { since } : {}),
  });
  console.log(JSON.stringify(report));
  return report.kept + report.unreadable > 0 ? 1 : 0;
}

// Run only as the entry point, so tests can import main.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) runCommand(main);
