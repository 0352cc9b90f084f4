import {
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  SecretsManagerClient,
  type SecretVersionsListEntry,
} from '@aws-sdk/client-secrets-manager';
import { ENV, numberFromEnv, type EnvName } from '../config.js';
import { describeError, logger as defaultLogger, type Logger } from '../log.js';
import { sdkClientConfig } from '../aws/client-config.js';

export type SecretStage = 'AWSCURRENT' | 'AWSPENDING' | 'AWSPREVIOUS';

/** One version of a secret that may sign requests right now. */
export interface SecretVersion {
  readonly versionId: string;
  readonly stage: SecretStage;
  readonly secretString: string;
}

export type CandidatesResult =
  | {
      readonly ok: true;
      /** Signing secrets for the key, in order: current, pending, previous. Empty when none is configured. */
      readonly secrets: readonly string[];
      readonly stages: readonly SecretStage[];
    }
  | { readonly ok: false; readonly reason: 'secrets_unavailable' };

export interface SecretsCacheOptions {
  readonly client?: SecretsManagerClient;
  /** How long a fetched set of versions is served before it is checked again. */
  readonly ttlMs?: number;
  /** How long AWSPREVIOUS keeps verifying after AWSCURRENT was created. */
  readonly previousGraceMs?: number;
  /** The least time between two fetches forced by a mismatch or retried after a failure. */
  readonly minRefreshIntervalMs?: number;
  readonly now?: () => number;
  readonly logger?: Logger;
}

export const SECRETS_DEFAULTS = {
  ttlMs: 300_000,
  previousGraceMs: 3_600_000,
  minRefreshIntervalMs: 30_000,
} as const;

/**
 * Values the CDK stack writes into a new secret so its keys are visible in the console.
 * A key still holding one is not configured, and verifies nothing.
 */
export const PLACEHOLDER_PREFIX = 'REPLACE_WITH_';

/** The signing secret for `key` in one secret value: a plain string, or a JSON object of named keys. */
export function secretForKey(secretString: string, key: string): string | undefined {
  const text = secretString.trim();
  let value: unknown = secretString;
  if (text.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(text);
      value = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)[key] : undefined;
    } catch {
      // Not JSON after all: a plain-string secret that happens to start with a brace.
      value = secretString;
    }
  }
  if (typeof value !== 'string' || value.length === 0 || value.startsWith(PLACEHOLDER_PREFIX)) return undefined;
  return value;
}

interface CacheEntry {
  versions: readonly SecretVersion[];
  fetchedAt: number;
  /** When AWSPREVIOUS stops verifying: checked on every use, not only at the next fetch. */
  previousUntil: number;
  /**
   * Candidates per `key`, worked out once per fetch instead of parsing JSON per request: one map while
   * AWSPREVIOUS still verifies and one after, so the lookup key is the caller's own string, not one
   * concatenated (and hashed afresh) on every request.
   */
  withPrevious?: Map<string, CandidatesResult>;
  withoutPrevious?: Map<string, CandidatesResult>;
}

/** Default client: short timeouts so a slow Secrets Manager cannot eat a provider's whole time budget. */
export function defaultSecretsManagerClient(): SecretsManagerClient {
  return new SecretsManagerClient(sdkClientConfig(2_000));
}

function stageOf(entry: SecretVersionsListEntry): SecretStage | undefined {
  const stages = entry.VersionStages ?? [];
  if (stages.includes('AWSCURRENT')) return 'AWSCURRENT';
  if (stages.includes('AWSPENDING')) return 'AWSPENDING';
  if (stages.includes('AWSPREVIOUS')) return 'AWSPREVIOUS';
  return undefined;
}

const STAGE_ORDER: Record<SecretStage, number> = { AWSCURRENT: 0, AWSPENDING: 1, AWSPREVIOUS: 2 };

/**
 * Signing secrets from AWS Secrets Manager, cached in the container.
 *
 * One refresh costs one `ListSecretVersionIds` call, plus one `GetSecretValue` for each version it
 * has not seen before (a version's value never changes, so values are kept by version id).
 * Rotation is honoured both ways: AWSPENDING verifies as soon as it is staged, AWSPREVIOUS for a
 * grace period after AWSCURRENT was created.
 */
export class SecretsCache {
  private readonly client: SecretsManagerClient;
  private readonly ttlMs: number;
  private readonly previousGraceMs: number;
  private readonly minRefreshIntervalMs: number;
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly entries = new Map<string, CacheEntry>();
  private readonly valuesByVersion = new Map<string, string>();
  private readonly inFlight = new Map<string, Promise<CacheEntry | undefined>>();
  private readonly lastAttemptAt = new Map<string, number>();

  constructor(options: SecretsCacheOptions = {}) {
    this.client = options.client ?? defaultSecretsManagerClient();
    this.ttlMs = options.ttlMs ?? SECRETS_DEFAULTS.ttlMs;
    this.previousGraceMs = options.previousGraceMs ?? SECRETS_DEFAULTS.previousGraceMs;
    this.minRefreshIntervalMs = options.minRefreshIntervalMs ?? SECRETS_DEFAULTS.minRefreshIntervalMs;
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? defaultLogger;
  }

  /** The candidate signing secrets for one key of a secret; fetches only when the cache is stale. */
  async candidates(secretId: string, key: string): Promise<CandidatesResult> {
    const fresh = this.cachedCandidates(secretId, key);
    if (fresh) return fresh;
    let entry = this.entries.get(secretId);
    const mayRetry = this.now() - (this.lastAttemptAt.get(secretId) ?? -Infinity) >= this.minRefreshIntervalMs;
    // A failed refresh is not retried on every request: stale values keep serving until the interval passes.
    if (!entry || mayRetry) entry = (await this.refresh(secretId)) ?? entry;
    if (!entry) return { ok: false, reason: 'secrets_unavailable' };
    return this.forKey(entry, key, this.now());
  }

  /**
   * The candidates when a fresh entry is cached, as a value rather than a promise: the warm path every
   * request takes skips an await. Undefined means "ask `candidates`" (nothing cached yet, or stale).
   */
  cachedCandidates(secretId: string, key: string): CandidatesResult | undefined {
    const entry = this.entries.get(secretId);
    if (!entry) return undefined;
    const nowMs = this.now();
    return nowMs - entry.fetchedAt >= this.ttlMs ? undefined : this.forKey(entry, key, nowMs);
  }

  /**
   * Called when no candidate verified: fetches once more unless that was done within the minimum
   * interval, so a flood of bad signatures costs at most one call per interval. True when the
   * versions changed and verification is worth retrying.
   */
  async refreshAfterMismatch(secretId: string): Promise<boolean> {
    const last = this.lastAttemptAt.get(secretId) ?? -Infinity;
    if (this.now() - last < this.minRefreshIntervalMs) return false;
    const before = this.entries.get(secretId);
    const after = await this.refresh(secretId);
    if (!after) return false;
    return !before || versionKey(before) !== versionKey(after);
  }

  private forKey(entry: CacheEntry, key: string, nowMs: number): CandidatesResult {
    const previousExpired = nowMs >= entry.previousUntil;
    const memo = previousExpired ? (entry.withoutPrevious ??= new Map()) : (entry.withPrevious ??= new Map());
    let result = memo.get(key);
    if (!result) {
      result = candidatesFor(entry, key, previousExpired);
      memo.set(key, result);
    }
    return result;
  }

  /** One fetch per secret at a time: concurrent callers share the same promise. */
  private refresh(secretId: string): Promise<CacheEntry | undefined> {
    const running = this.inFlight.get(secretId);
    if (running) return running;
    this.lastAttemptAt.set(secretId, this.now());
    const promise = this.fetch(secretId)
      .then((entry) => {
        this.entries.set(secretId, entry);
        return entry;
      })
      .catch((error: unknown) => {
        const cached = this.entries.get(secretId);
        this.logger.warn({
          message: cached ? 'secrets manager failed; serving cached secret' : 'secrets manager failed; nothing cached',
          outcome: cached ? 'secret_stale_served' : 'secret_unavailable',
          secretId,
          ...describeError(error),
        });
        return undefined;
      })
      .finally(() => this.inFlight.delete(secretId));
    this.inFlight.set(secretId, promise);
    return promise;
  }

  private async fetch(secretId: string): Promise<CacheEntry> {
    const listed = await this.client.send(new ListSecretVersionIdsCommand({ SecretId: secretId, IncludeDeprecated: false, MaxResults: 100 }));
    const staged = (listed.Versions ?? [])
      .map((v) => ({ entry: v, stage: stageOf(v) }))
      .filter((v): v is { entry: SecretVersionsListEntry; stage: SecretStage } => v.stage !== undefined && !!v.entry.VersionId);
    const current = staged.find((v) => v.stage === 'AWSCURRENT');
    if (!current) throw new Error(`secret has no AWSCURRENT version`);
    const currentCreated = current.entry.CreatedDate?.getTime() ?? 0;
    const previousUntil = currentCreated + this.previousGraceMs;
    const inGrace = this.now() < previousUntil;
    const wanted = staged
      .filter((v) => v.stage !== 'AWSPREVIOUS' || inGrace)
      .sort((a, b) => STAGE_ORDER[a.stage] - STAGE_ORDER[b.stage]);

    const versions: SecretVersion[] = [];
    for (const { entry, stage } of wanted) {
      const versionId = entry.VersionId!;
      const secretString = await this.valueOf(secretId, versionId, stage === 'AWSCURRENT');
      if (secretString !== undefined) versions.push({ versionId, stage, secretString });
    }
    this.logger.info({ message: 'signing secret loaded', outcome: 'secret_loaded', secretId, versions: versions.length });
    return { versions, fetchedAt: this.now(), previousUntil };
  }

  /** A version's value, fetched once. Only AWSCURRENT is required; another that fails is skipped. */
  private async valueOf(secretId: string, versionId: string, required: boolean): Promise<string | undefined> {
    const cacheKey = `${secretId}\u0000${versionId}`;
    const known = this.valuesByVersion.get(cacheKey);
    if (known !== undefined) return known;
    try {
      const got = await this.client.send(new GetSecretValueCommand({ SecretId: secretId, VersionId: versionId }));
      const value = got.SecretString ?? (got.SecretBinary ? Buffer.from(got.SecretBinary).toString('utf8') : '');
      this.valuesByVersion.set(cacheKey, value);
      return value;
    } catch (error) {
      if (required) throw error;
      this.logger.warn({ message: 'skipping a secret version that could not be read', secretId, ...describeError(error) });
      return undefined;
    }
  }
}

function versionKey(entry: CacheEntry): string {
  return entry.versions.map((v) => `${v.stage}:${v.versionId}`).join(',');
}

/** The cache a function builds once per container, tuned by SECRETS_* environment variables. */
export function secretsCacheFromEnv(env: NodeJS.ProcessEnv = process.env, client?: SecretsManagerClient): SecretsCache {
  const seconds = (name: EnvName, fallbackMs: number) => numberFromEnv(env, name, fallbackMs / 1000) * 1000;
  return new SecretsCache({
    ...(client ? { client } : {}),
    ttlMs: seconds(ENV.secretsTtlSeconds, SECRETS_DEFAULTS.ttlMs),
    previousGraceMs: seconds(ENV.secretsPreviousGraceSeconds, SECRETS_DEFAULTS.previousGraceMs),
    minRefreshIntervalMs: seconds(ENV.secretsMinRefreshSeconds, SECRETS_DEFAULTS.minRefreshIntervalMs),
  });
}

function candidatesFor(entry: CacheEntry, key: string, previousExpired: boolean): CandidatesResult {
  const secrets: string[] = [];
  const stages: SecretStage[] = [];
  for (const version of entry.versions) {
    if (version.stage === 'AWSPREVIOUS' && previousExpired) continue;
    const secret = secretForKey(version.secretString, key);
    if (secret !== undefined && !secrets.includes(secret)) {
      secrets.push(secret);
      stages.push(version.stage);
    }
  }
  return { ok: true, secrets, stages };
}
