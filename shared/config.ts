/**
 * Every environment variable a function reads, named once. The CDK stack sets them, the local
 * server sets them, the handlers read them through here.
 */
export const ENV = {
  /** The registry id of the provider a function serves (read by the generic webhook handler). */
  providerId: 'PROVIDER_ID',
  /** Secrets Manager id or ARN of the provider's signing secret. */
  signingSecretId: 'SIGNING_SECRET_ID',
  /** Overrides the registry's signature header (BuddyStat's doc names none). */
  signatureHeader: 'SIGNATURE_HEADER',
  /** Talki's configurable visitor-id field name (default `userToken`). */
  talkiUserTokenField: 'TALKI_USER_TOKEN_FIELD',
  /** `dynamodb` (default) or `http`. */
  directory: 'CUSTOMER_DIRECTORY',
  customersTable: 'CUSTOMERS_TABLE',
  /** Base URL of the team's internal user API, for the `http` directory. */
  directoryUrl: 'CUSTOMER_API_URL',
  /** Secrets Manager id of the bearer token for the internal user API (plain string or `{ "token": ... }`). */
  directoryTokenSecretId: 'CUSTOMER_API_TOKEN_SECRET_ID',
  /** `eventbridge` (default) or `file`. */
  eventSink: 'EVENT_SINK',
  eventBusName: 'EVENT_BUS_NAME',
  /** JSON-lines file for the `file` sink. */
  eventsFile: 'EVENTS_FILE',
  /** DynamoDB table that remembers delivered webhook events (24 h). */
  dedupeTable: 'DEDUPE_TABLE',
  /** S3 bucket for claim-checked bodies (`claims/`) and parked deliveries (`parked/`). */
  deliveryBucket: 'DELIVERY_BUCKET',
  secretsTtlSeconds: 'SECRETS_TTL_SECONDS',
  secretsPreviousGraceSeconds: 'SECRETS_PREVIOUS_GRACE_SECONDS',
  secretsMinRefreshSeconds: 'SECRETS_MIN_REFRESH_SECONDS',
  /** How long after its last successful fetch a cached secret may verify while Secrets Manager fails. */
  secretsMaxStaleSeconds: 'SECRETS_MAX_STALE_SECONDS',
  replayWindowSeconds: 'REPLAY_WINDOW_SECONDS',
  /** Bullseye's partner API (shared/bullseye/partner-api.ts), for the rotation function. */
  bullseyeApiUrl: 'BULLSEYE_API_URL',
  /** Secrets Manager id of the partner API key secret (`{"apiKey": "..."}`). */
  bullseyeApiKeySecretId: 'BULLSEYE_API_KEY_SECRET_ID',
  /** Paths of the two partner API calls whose paths Bullseye's public docs leave out. */
  bullseyeTestWebhookPath: 'BULLSEYE_TEST_WEBHOOK_PATH',
  bullseyeWebhookLogsPath: 'BULLSEYE_WEBHOOK_LOGS_PATH',
  /** The rotation function: how long to let every receiver see AWSPENDING before Bullseye signs with it. */
  rotationReceiverTtlSeconds: 'ROTATION_RECEIVER_TTL_SECONDS',
} as const;

/**
 * The signing secret a provider's function reads: `SIGNING_SECRET_ID_<PROVIDER>` first (several providers
 * share one process in local runs), then `SIGNING_SECRET_ID` (one provider per Lambda function).
 */
export function signingSecretIdFromEnv(providerId: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const specific = env[`${ENV.signingSecretId}_${providerId.toUpperCase()}`];
  return specific && specific.length > 0 ? specific : env[ENV.signingSecretId] || undefined;
}

export type EnvName = (typeof ENV)[keyof typeof ENV];

/** A variable's trimmed value, or undefined when it is unset or blank. */
export function settingFromEnv(env: NodeJS.ProcessEnv, name: EnvName): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

/** A positive number from the environment, or the fallback when unset or not a number. */
export function numberFromEnv(env: NodeJS.ProcessEnv, name: EnvName, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  return Number.isFinite(value) && value >= 0 ? value : fallback;
}

/** Creates a value on first use: SDK clients are built once per container, never at import in tests. */
export function lazy<T>(create: () => T): () => T {
  let value: T | undefined;
  let made = false;
  return () => {
    if (!made) {
      value = create();
      made = true;
    }
    return value as T;
  };
}
