import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROVIDER_IDS, providerById, type ProviderId } from '../shared/providers.js';

/**
 * The embedded defaults `npm start`, `send` and `verify` run on: sample secrets and customers
 * committed under local/, each path overridable by environment.
 */
const LOCAL_DIR = dirname(fileURLToPath(import.meta.url));

export const LOCAL_FILES = {
  secrets: join(LOCAL_DIR, 'secrets.json'),
  customers: join(LOCAL_DIR, 'customers.json'),
  events: join(LOCAL_DIR, 'events.jsonl'),
  /** Written by `npm start` while it runs: where its stand-ins listen, for `npm run rotate`. */
  running: join(LOCAL_DIR, '.running.json'),
} as const;

export const LOCAL_ENV = {
  secretsFile: 'LOCAL_SECRETS_FILE',
  customersFile: 'LOCAL_CUSTOMERS_FILE',
  eventsFile: 'LOCAL_EVENTS_FILE',
  port: 'PORT',
} as const;

export const DEFAULT_PORT = 3000;

export function secretsFileFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env[LOCAL_ENV.secretsFile]?.trim() || LOCAL_FILES.secrets;
}

export function customersFileFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env[LOCAL_ENV.customersFile]?.trim() || LOCAL_FILES.customers;
}

export function eventsFileFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env[LOCAL_ENV.eventsFile]?.trim() || LOCAL_FILES.events;
}

export function portFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const port = Number(env[LOCAL_ENV.port]);
  return Number.isInteger(port) && port >= 0 && port < 65536 && env[LOCAL_ENV.port]?.trim() ? port : DEFAULT_PORT;
}

/** The Secrets Manager secret id each provider's secret has in the local stand-in. */
export function localSecretId(provider: ProviderId): string {
  return `local/${provider}`;
}

/**
 * Bullseye's partner API locally: the stand-in's key, kept (as in AWS) in a secret of its own. Not a
 * credential: it opens only the local stand-in.
 */
export const LOCAL_BULLSEYE = {
  apiKey: 'dev-bullseye-partner-api-key-not-for-production',
  apiKeySecretId: 'local/bullseye-partner-api',
} as const;

/** Each provider's secret value as Secrets Manager would hold it: JSON text of named keys, or a plain string. */
export type LocalSecrets = Partial<Record<ProviderId, string>>;

export type Loaded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** `{ "<provider>": <the secret's JSON, or a string> }` -> the secret values, per provider. */
export function parseLocalSecrets(json: unknown): Loaded<LocalSecrets> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { ok: false, error: 'expected an object of { "<provider>": { "<key>": "<secret>" } }' };
  }
  const secrets: LocalSecrets = {};
  for (const [name, value] of Object.entries(json)) {
    const provider = providerById(name);
    if (!provider) return { ok: false, error: `unknown provider "${name}"; known: ${PROVIDER_IDS.join(', ')}` };
    if (typeof value === 'string') secrets[provider.id] = value;
    else if (typeof value === 'object' && value !== null && !Array.isArray(value)) secrets[provider.id] = JSON.stringify(value);
    else return { ok: false, error: `"${name}" must be an object of named secrets or a string` };
  }
  return { ok: true, value: secrets };
}

/** A JSON file read and checked by `parse`; every failure names the file. */
export async function readJsonFile<T>(path: string, parse: (json: unknown) => Loaded<T>): Promise<Loaded<T>> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    return { ok: false, error: `${path}: cannot read it as JSON (${error instanceof Error ? error.message : 'unknown error'})` };
  }
  const parsed = parse(json);
  return parsed.ok ? parsed : { ok: false, error: `${path}: ${parsed.error}` };
}

export function loadLocalSecrets(path: string = secretsFileFromEnv()): Promise<Loaded<LocalSecrets>> {
  return readJsonFile(path, parseLocalSecrets);
}

/** What `npm start` tells other local commands about itself while it runs (LOCAL_FILES.running). */
export interface RunningStack {
  readonly secretsManagerEndpoint: string;
  readonly bullseyeApiUrl: string;
  /** The receivers' SECRETS_TTL_SECONDS: how long a rotation waits before Bullseye switches secrets. */
  readonly receiverTtlSeconds: number;
}

export function parseRunningStack(json: unknown): Loaded<RunningStack> {
  const o = json as Partial<Record<keyof RunningStack, unknown>> | null;
  if (
    typeof o !== 'object' || o === null ||
    typeof o.secretsManagerEndpoint !== 'string' ||
    typeof o.bullseyeApiUrl !== 'string' || typeof o.receiverTtlSeconds !== 'number'
  ) {
    return { ok: false, error: 'not what npm start writes; restart npm start' };
  }
  return { ok: true, value: { secretsManagerEndpoint: o.secretsManagerEndpoint, bullseyeApiUrl: o.bullseyeApiUrl, receiverTtlSeconds: o.receiverTtlSeconds } };
}
