import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { ENV, type EnvName } from '../shared/config.js';
import { PROVIDER_IDS, PROVIDERS, providerById, reservedConcurrencyOf, type ProviderId } from '../shared/providers.js';

/**
 * Deployment choices read from CDK context (`cdk.json` or `-c key=value`), parsed into one typed
 * value. Parsing is pure and returns every problem at once, so a typo in `-c` fails synth with a
 * message instead of deploying something else.
 *
 *   providers=buddy,talki                 deploy a subset (default: every provider in the registry)
 *   secretArn.<id>=arn:...                use an existing secret (full ARN) instead of creating one
 *   secretArns={"talki":"arn:..."}        the same, several at once (JSON object)
 *   env.<id>.<NAME>=value                 a tunable environment variable for one provider's function
 *   logRetentionDays=90                   CloudWatch Logs retention (a value CloudWatch accepts)
 *   apiRateLimit=100 apiBurstLimit=200    HTTP API stage throttling (requests/second, burst)
 *   routeRateLimit=50 routeBurstLimit=100 per-route throttling on the same stage: one platform's flood cannot starve another's route
 *   concurrency.<id>=N | none             the function's reserved concurrency (default from the registry; `none` leaves it unreserved)
 *   secretsMaxStaleSeconds=86400          SECRETS_MAX_STALE_SECONDS for every function (env.<id>.SECRETS_MAX_STALE_SECONDS wins)
 *   alarmEmail=ops@example.com            subscribe an address to the alarm topic
 *   customerApiUrl=https://users...       lookup providers read your own user API instead of the customers table
 *   customerApiTokenSecretArn=arn:...     the bearer token for that API (full secret ARN; optional)
 *   deliveryRetentionDays=30              days the delivery bucket keeps claim-checked bodies and parked deliveries
 *   archiveRetentionDays=30               how long the webhook bus's archive keeps events for replay
 *   exampleConsumer=true                  deploy the example consumer: per webhook provider a rule -> SQS queue with a DLQ
 *   bullseyeRotationDays=30               rotate Bullseye's webhook secrets automatically every N days
 *   bullseyeApiUrl=https://...            Bullseye's partner API base URL (default the documented one)
 *   bullseyeTestWebhookPath=/...          the two partner API paths Bullseye does not state (defaults
 *   bullseyeWebhookLogsPath=/...          in shared/bullseye/partner-api.ts)
 */
export interface DeploymentSettings {
  readonly providers: readonly ProviderId[];
  readonly secretArns: Partial<Record<ProviderId, string>>;
  readonly providerEnvironment: Partial<Record<ProviderId, Partial<Record<TunableEnvName, string>>>>;
  readonly logRetention: RetentionDays;
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number };
  /** Each route's own limit on the same stage, at most the stage's. */
  readonly routeThrottle: { readonly rateLimit: number; readonly burstLimit: number };
  /** Reserved concurrency per function: the registry's default unless overridden; `none` leaves it unreserved. */
  readonly reservedConcurrency: Readonly<Record<ProviderId, number | 'none'>>;
  readonly alarmEmail?: string;
  /** Where the lookup providers read customers (shared/customers/from-env.ts). */
  readonly customerDirectory: CustomerDirectorySetting;
  /** Days the delivery bucket keeps claim-checked bodies and parked deliveries before they expire. */
  readonly deliveryRetentionDays: number;
  /** Days the webhook bus's archive keeps events (`npm run replay` serves windows inside them). */
  readonly archiveRetentionDays: number;
  /** Deploy the example consumer (infra/constructs/example-consumer.ts). */
  readonly exampleConsumer: boolean;
  /** Automatic rotation of Bullseye's signing secret; absent: operator-driven, as for the others. */
  readonly bullseyeRotation?: BullseyeRotationSetting;
}

/** Where the rotation function reaches Bullseye; each field defaults to PARTNER_API_DEFAULTS. */
export interface BullseyeApiSetting {
  readonly url?: string;
  readonly testWebhookPath?: string;
  readonly webhookLogsPath?: string;
}

export interface BullseyeRotationSetting {
  readonly days: number;
  readonly api: BullseyeApiSetting;
}

/** The team's own user API (the contract is in shared/customers/http.ts). */
export interface CustomerApiSetting {
  readonly kind: 'http';
  /** Base URL; the functions call `<url>/users/{id}`, `<url>/sessions/{id}`, `<url>/users?email=`. */
  readonly url: string;
  /** A complete Secrets Manager ARN holding the bearer token; without it no Authorization header is sent. */
  readonly tokenSecretArn?: string;
}

/** `dynamodb`: the stack creates the customers table. `http`: no table, the functions call your API. */
export type CustomerDirectorySetting = { readonly kind: 'dynamodb' } | CustomerApiSetting;

export type SettingsResult = { readonly ok: true; readonly settings: DeploymentSettings } | { readonly ok: false; readonly errors: readonly string[] };

export const DEFAULT_SETTINGS: DeploymentSettings = {
  providers: PROVIDER_IDS,
  secretArns: {},
  providerEnvironment: {},
  // A quarter of request logs: long enough to investigate a rotation or an incident after the fact.
  logRetention: RetentionDays.THREE_MONTHS,
  // Far above any platform's delivery rate, far below the account's 10,000 rps: a flood of forged
  // requests is cut off at the gateway before it reaches the functions and the tables.
  throttle: { rateLimit: 100, burstLimit: 200 },
  // Half the stage each: a flood on one route leaves the other half to the other platforms.
  routeThrottle: { rateLimit: 50, burstLimit: 100 },
  reservedConcurrency: Object.fromEntries(PROVIDER_IDS.map((id) => [id, reservedConcurrencyOf(PROVIDERS[id])])) as Record<ProviderId, number>,
  customerDirectory: { kind: 'dynamodb' },
  // Long enough for a consumer to fetch a claim-checked body and for an operator to see a parked one through.
  deliveryRetentionDays: 30,
  // A month: long enough to notice a consumer's outage after a weekend or a holiday and replay it.
  archiveRetentionDays: 30,
  exampleConsumer: false,
};

/** Environment variables an operator may tune per function; the stack sets every other one itself. */
export const TUNABLE_ENV = [
  ENV.signatureHeader,
  ENV.talkiUserTokenField,
  ENV.secretsTtlSeconds,
  ENV.secretsPreviousGraceSeconds,
  ENV.secretsMinRefreshSeconds,
  ENV.secretsMaxStaleSeconds,
  ENV.replayWindowSeconds,
  // Node's own: `--enable-source-maps` maps stack traces through the index.mjs.map shipped beside each
  // bundle. Off by default, as loading the map costs every cold start (docs/deploy.md, "Bundling").
  'NODE_OPTIONS',
] as const satisfies readonly (EnvName | 'NODE_OPTIONS')[];

export type TunableEnvName = (typeof TUNABLE_ENV)[number];

/** A complete Secrets Manager secret ARN: the name ends in the six characters Secrets Manager adds. */
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;

const RETENTION_VALUES = new Set<number>(Object.values(RetentionDays).filter((v): v is number => typeof v === 'number'));

function parseList(value: unknown): string[] | undefined {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'string') return value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  return undefined;
}

function parseObject(value: unknown): Record<string, unknown> | undefined {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  if (typeof value !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function positiveInteger(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/**
 * The user API's base URL as the functions will receive it, or why it cannot be one. Credentials in
 * the URL would sit in plain text in the function's configuration (use the token secret instead), and
 * a query or fragment would end up in the middle of the paths the directory appends.
 */
export function customerApiUrlProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') return 'expected an http(s) URL';
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return 'expected an http(s) URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `expected an http(s) URL, not ${url.protocol}`;
  if (url.username !== '' || url.password !== '') return 'must not carry credentials; put a bearer token in customerApiTokenSecretArn';
  if (url.search !== '' || url.hash !== '') return 'must not carry a query or fragment (the functions append /users/..., /sessions/...)';
  return undefined;
}

function knownProvider(id: string, where: string, errors: string[]): id is ProviderId {
  if (providerById(id)) return true;
  errors.push(`${where}: unknown provider "${id}" (known: ${PROVIDER_IDS.join(', ')})`);
  return false;
}

/** Reads the settings from a CDK context object (`app.node.getAllContext()`). */
export function settingsFromContext(context: Readonly<Record<string, unknown>>): SettingsResult {
  const errors: string[] = [];

  let providers: readonly ProviderId[] = DEFAULT_SETTINGS.providers;
  if (context.providers !== undefined) {
    const listed = parseList(context.providers);
    if (!listed || listed.length === 0) errors.push('providers: expected a comma-separated list of provider ids');
    else {
      const valid = listed.filter((id): id is ProviderId => knownProvider(id, 'providers', errors));
      // Registry order, no duplicates: the same selection always synthesises the same template.
      providers = PROVIDER_IDS.filter((id) => valid.includes(id));
    }
  }

  const secretArns: Partial<Record<ProviderId, string>> = {};
  const addArn = (id: string, arn: unknown, where: string) => {
    if (!knownProvider(id, where, errors)) return;
    if (typeof arn !== 'string' || !SECRET_ARN.test(arn)) {
      errors.push(`${where}: expected the secret's complete ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>)`);
      return;
    }
    secretArns[id] = arn;
  };
  if (context.secretArns !== undefined) {
    const object = parseObject(context.secretArns);
    if (!object) errors.push('secretArns: expected a JSON object of provider id to secret ARN');
    else for (const [id, arn] of Object.entries(object)) addArn(id, arn, `secretArns.${id}`);
  }

  const providerEnvironment: Partial<Record<ProviderId, Partial<Record<TunableEnvName, string>>>> = {};
  for (const [key, value] of Object.entries(context)) {
    const arnKey = /^secretArn\.(.+)$/.exec(key);
    if (arnKey) addArn(arnKey[1]!, value, key);
    const envKey = /^env\.([^.]+)\.(.+)$/.exec(key);
    if (envKey) {
      const [, id, name] = envKey as unknown as [string, string, string];
      if (!knownProvider(id, key, errors)) continue;
      if (!(TUNABLE_ENV as readonly string[]).includes(name)) {
        errors.push(`${key}: ${name} is not tunable (tunable: ${TUNABLE_ENV.join(', ')})`);
        continue;
      }
      if (typeof value !== 'string' && typeof value !== 'number') {
        errors.push(`${key}: expected a string value`);
        continue;
      }
      providerEnvironment[id] = { ...providerEnvironment[id], [name as TunableEnvName]: String(value) };
    }
  }
  const reservedConcurrency: Record<ProviderId, number | 'none'> = { ...DEFAULT_SETTINGS.reservedConcurrency };
  for (const [key, value] of Object.entries(context)) {
    const concurrencyKey = /^concurrency\.(.+)$/.exec(key);
    if (!concurrencyKey || !knownProvider(concurrencyKey[1]!, key, errors)) continue;
    const n = value === 'none' ? 'none' : positiveInteger(value);
    if (n === undefined) errors.push(`${key}: expected a positive integer (reserved concurrency) or none`);
    else reservedConcurrency[concurrencyKey[1] as ProviderId] = n;
  }
  if (context.secretsMaxStaleSeconds !== undefined) {
    const n = positiveInteger(context.secretsMaxStaleSeconds);
    if (n === undefined) errors.push('secretsMaxStaleSeconds: expected a positive integer (seconds)');
    else {
      for (const id of providers) {
        providerEnvironment[id] = { [ENV.secretsMaxStaleSeconds]: String(n), ...providerEnvironment[id] };
      }
    }
  }
  for (const id of Object.keys(secretArns) as ProviderId[]) {
    if (!providers.includes(id)) errors.push(`secretArn.${id}: ${id} is not among the deployed providers (${providers.join(', ')})`);
  }

  let logRetention = DEFAULT_SETTINGS.logRetention;
  if (context.logRetentionDays !== undefined) {
    const days = positiveInteger(context.logRetentionDays);
    if (days === undefined || !RETENTION_VALUES.has(days)) {
      errors.push(`logRetentionDays: expected one of ${[...RETENTION_VALUES].join(', ')}`);
    } else logRetention = days as RetentionDays;
  }

  const limit = (key: string, fallback: number): number => {
    if (context[key] === undefined) return fallback;
    const n = positiveInteger(context[key]);
    if (n === undefined) errors.push(`${key}: expected a positive integer`);
    return n ?? fallback;
  };
  const throttle = { rateLimit: limit('apiRateLimit', DEFAULT_SETTINGS.throttle.rateLimit), burstLimit: limit('apiBurstLimit', DEFAULT_SETTINGS.throttle.burstLimit) };
  // Unset, a route's limit follows the stage's down (never above it).
  const routeThrottle = {
    rateLimit: limit('routeRateLimit', Math.min(DEFAULT_SETTINGS.routeThrottle.rateLimit, throttle.rateLimit)),
    burstLimit: limit('routeBurstLimit', Math.min(DEFAULT_SETTINGS.routeThrottle.burstLimit, throttle.burstLimit)),
  };
  if (routeThrottle.rateLimit > throttle.rateLimit) errors.push(`routeRateLimit: ${routeThrottle.rateLimit} is above the stage's apiRateLimit (${throttle.rateLimit})`);
  if (routeThrottle.burstLimit > throttle.burstLimit) errors.push(`routeBurstLimit: ${routeThrottle.burstLimit} is above the stage's apiBurstLimit (${throttle.burstLimit})`);

  let alarmEmail: string | undefined;
  if (context.alarmEmail !== undefined) {
    if (typeof context.alarmEmail === 'string' && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(context.alarmEmail)) alarmEmail = context.alarmEmail;
    else errors.push('alarmEmail: expected an email address');
  }

  const customerDirectory = parseCustomerDirectory(context, providers, errors);
  const deliveryRetentionDays = limit('deliveryRetentionDays', DEFAULT_SETTINGS.deliveryRetentionDays);
  const archiveRetentionDays = limit('archiveRetentionDays', DEFAULT_SETTINGS.archiveRetentionDays);
  const exampleConsumer = parseFlag(context, 'exampleConsumer', DEFAULT_SETTINGS.exampleConsumer, errors);
  const bullseyeRotation = parseBullseyeRotation(context, providers, errors);

  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    settings: {
      providers,
      secretArns,
      providerEnvironment,
      logRetention,
      throttle,
      routeThrottle,
      reservedConcurrency,
      customerDirectory,
      archiveRetentionDays,
      deliveryRetentionDays,
      exampleConsumer,
      ...(alarmEmail ? { alarmEmail } : {}),
      ...(bullseyeRotation ? { bullseyeRotation } : {}),
    },
  };
}

/** A true/false switch: `-c name=true` arrives as a string, cdk.json may hold a boolean. */
function parseFlag(context: Readonly<Record<string, unknown>>, key: string, fallback: boolean, errors: string[]): boolean {
  const value = context[key];
  if (value === undefined) return fallback;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  errors.push(`${key}: expected true or false`);
  return fallback;
}

/** `customerApiUrl` (and its optional token secret) switches every lookup provider to the HTTP directory. */
function parseCustomerDirectory(context: Readonly<Record<string, unknown>>, providers: readonly ProviderId[], errors: string[]): CustomerDirectorySetting {
  const { customerApiUrl, customerApiTokenSecretArn } = context;
  let tokenSecretArn: string | undefined;
  if (customerApiTokenSecretArn !== undefined) {
    if (typeof customerApiTokenSecretArn === 'string' && SECRET_ARN.test(customerApiTokenSecretArn)) tokenSecretArn = customerApiTokenSecretArn;
    else errors.push(`customerApiTokenSecretArn: expected the secret's complete ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>)`);
    // A token with nowhere to send it means the URL was forgotten, not that the table is wanted.
    if (customerApiUrl === undefined) errors.push('customerApiTokenSecretArn: only used with customerApiUrl, which is not set');
  }
  if (customerApiUrl === undefined) return DEFAULT_SETTINGS.customerDirectory;

  const problem = customerApiUrlProblem(customerApiUrl);
  if (problem) errors.push(`customerApiUrl: ${problem}`);
  if (!providers.some((id) => PROVIDERS[id].kind === 'lookup')) {
    errors.push(`customerApiUrl: no lookup provider is deployed (${providers.join(', ')}), so nothing would read it`);
  }
  if (problem) return DEFAULT_SETTINGS.customerDirectory;
  return { kind: 'http', url: (customerApiUrl as string).trim(), ...(tokenSecretArn ? { tokenSecretArn } : {}) };
}

/** `bullseyeRotationDays` (1 to 1000, Secrets Manager's range) and the partner API settings that go with it. */
function parseBullseyeRotation(context: Readonly<Record<string, unknown>>, providers: readonly ProviderId[], errors: string[]): BullseyeRotationSetting | undefined {
  const apiKeys = ['bullseyeApiUrl', 'bullseyeTestWebhookPath', 'bullseyeWebhookLogsPath'] as const;
  if (context.bullseyeRotationDays === undefined) {
    for (const key of apiKeys) if (context[key] !== undefined) errors.push(`${key}: only used with bullseyeRotationDays, which is not set`);
    return undefined;
  }
  const days = positiveInteger(context.bullseyeRotationDays);
  if (days === undefined || days > 1000) errors.push('bullseyeRotationDays: expected a whole number of days from 1 to 1000');
  if (!providers.includes('bullseye')) errors.push(`bullseyeRotationDays: bullseye is not among the deployed providers (${providers.join(', ')})`);
  const api: { url?: string; testWebhookPath?: string; webhookLogsPath?: string } = {};
  if (context.bullseyeApiUrl !== undefined) {
    const url = typeof context.bullseyeApiUrl === 'string' ? context.bullseyeApiUrl.trim() : '';
    if (!/^https:\/\/[^\s/?#]+[^\s?#]*$/.test(url)) errors.push('bullseyeApiUrl: expected an https URL without query or fragment');
    else api.url = url;
  }
  for (const [key, field] of [['bullseyeTestWebhookPath', 'testWebhookPath'], ['bullseyeWebhookLogsPath', 'webhookLogsPath']] as const) {
    const value = context[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !/^\/[A-Za-z0-9/_.-]*$/.test(value)) errors.push(`${key}: expected a path such as /partner/webhooks/test`);
    else api[field] = value;
  }
  return days === undefined || days > 1000 ? undefined : { days, api };
}
