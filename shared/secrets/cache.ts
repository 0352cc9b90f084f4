import {
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  SecretsManagerClient,
  type GetSecretValueCommandOutput,
  type SecretVersionsListEntry,
} from '@aws-sdk/client-secrets-manager';
import { ENV, numberFromEnv, type EnvName } from '../config.js';
import { withDeadline } from '../deadline.js';
import { describeError, logger as defaultLogger, type Logger } from '../log.js';
import { sdkClientConfig } from '../aws/client-config.js';

export type SecretStage = 'AWSCURRENT' | 'AWSPENDING' | 'AWSPREVIOUS';

/** One version of a secret that may sign requests right now. */
export interface SecretVersion {
  readonly versionId: string;
  readonly stage: SecretStage;
  readonly secretString: string;
}

/**
 * What an operator can get wrong in a secret's value, each of which would otherwise turn every
 * request into a silent 401 (or, for a plain string on Bullseye, let one key verify both routes).
 */
export type SecretProblem = 'surrounding_whitespace' | 'invalid_json' | 'not_a_string' | 'plain_string_for_several_keys';

export const SECRET_PROBLEMS: Record<SecretProblem, string> = {
  surrounding_whitespace: 'the value has leading or trailing whitespace or a newline, which the platform does not sign with',
  invalid_json: 'the value looks like JSON but does not parse as a JSON object (truncated or mistyped)',
  not_a_string: "the key's value in the JSON object is not a string",
  plain_string_for_several_keys: 'the value is a plain string, but this provider signs with several keys: store a JSON object with each key',
};

export type CandidatesResult =
  | {
      readonly ok: true;
      /** Signing secrets for the key, in order: current, pending, previous. Empty when none is configured. */
      readonly secrets: readonly string[];
      readonly stages: readonly SecretStage[];
    }
  | { readonly ok: false; readonly reason: 'secrets_unavailable'; readonly retryAfterSeconds: number }
  | { readonly ok: false; readonly reason: 'secret_misconfigured'; readonly key: string; readonly problem: SecretProblem };

/** How one request asks for candidates. */
export interface CandidatesOptions {
  /**
   * Every key the provider's secret holds (the registry's `secretKeys`): a plain-string secret is
   * refused when there are several. Default: the requested key alone.
   */
  readonly keys?: readonly string[];
  /**
   * How long to wait for Secrets Manager when nothing usable is cached; past it the answer is
   * `secrets_unavailable` and the fetch carries on for the next request. Default: wait for the fetch,
   * which the client's own timeouts bound.
   */
  readonly waitMs?: number;
}

export interface SecretsCacheOptions {
  readonly client?: SecretsManagerClient;
  /** How long a fetched set of versions is served before it is checked again (in the background). */
  readonly ttlMs?: number;
  /** How long AWSPREVIOUS keeps verifying after AWSCURRENT was created. */
  readonly previousGraceMs?: number;
  /** The least time between two fetches of one secret, whatever asks (TTL, a mismatch, a retry after a failure). */
  readonly minRefreshIntervalMs?: number;
  /** How long after its last successful fetch a secret may still be served while Secrets Manager fails. */
  readonly maxStaleMs?: number;
  readonly now?: () => number;
  readonly logger?: Logger;
}

export const SECRETS_DEFAULTS = {
  ttlMs: 300_000,
  previousGraceMs: 3_600_000,
  minRefreshIntervalMs: 30_000,
  maxStaleMs: 86_400_000,
} as const;

/**
 * The Secrets Manager client's per-call timeout. Longer than the shorter providers' waits on purpose:
 * a Secrets Manager that answers in 2.5 s still fills the cache in the background for the next
 * request, where a timeout equal to the wait would never let it succeed.
 */
export const SECRETS_MANAGER_REQUEST_TIMEOUT_MS = 3_000;

/**
 * Values the CDK stack writes into a new secret so its keys are visible in the console.
 * A key still holding one is not configured, and verifies nothing.
 */
export const PLACEHOLDER_PREFIX = 'REPLACE_WITH_';

export type KeyValue =
  | { readonly kind: 'secret'; readonly value: string }
  /** Not set: no such key, an empty value, or the CDK stack's placeholder. */
  | { readonly kind: 'absent' }
  | { readonly kind: 'misconfigured'; readonly problem: SecretProblem };

const ABSENT: KeyValue = { kind: 'absent' };

/**
 * The signing secret for `key` in one stored secret value: a JSON object of named keys, or (for a
 * provider with one key) a plain string. A value the platform cannot be signing with is named as
 * misconfigured instead of being used: whitespace around it, JSON that does not parse, a plain string
 * where several keys are needed. `keys` is every key the provider's secret holds.
 */
export function readSecretKey(secretString: string, key: string, keys: readonly string[] = [key]): KeyValue {
  const text = secretString.trim();
  if (text.startsWith('{') || text.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { kind: 'misconfigured', problem: 'invalid_json' };
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { kind: 'misconfigured', problem: 'invalid_json' };
    return keyValue(Object.hasOwn(parsed, key) ? (parsed as Record<string, unknown>)[key] : undefined);
  }
  if (text.length > 0 && keys.length > 1) return { kind: 'misconfigured', problem: 'plain_string_for_several_keys' };
  return keyValue(secretString);
}

function keyValue(value: unknown): KeyValue {
  if (value === undefined || value === null || value === '') return ABSENT;
  if (typeof value !== 'string') return { kind: 'misconfigured', problem: 'not_a_string' };
  if (value.startsWith(PLACEHOLDER_PREFIX)) return ABSENT;
  if (value.trim() !== value) return { kind: 'misconfigured', problem: 'surrounding_whitespace' };
  return { kind: 'secret', value };
}

interface CacheEntry {
  versions: readonly SecretVersion[];
  fetchedAt: number;
  /** When AWSPREVIOUS stops verifying: checked on every use, not only at the next fetch. */
  previousUntil: number;
  /** Candidates per key, worked out once per fetch: one map while AWSPREVIOUS still verifies and one after. */
  withPrevious: Map<string, CandidatesResult>;
  withoutPrevious: Map<string, CandidatesResult>;
  /** A key's AWSCURRENT value is misconfigured: the entry is re-checked after the refresh interval, not the TTL, so a fix shows quickly. */
  misconfigured: boolean;
}

/** What the cache knows about one secret. */
interface SecretState {
  /** The last successful fetch. */
  entry?: CacheEntry;
  /** When the last fetch started or settled, whichever is later: the next may start one interval after. */
  lastActivityAt: number;
  /** The last fetch failed (a negative cache entry): while the interval runs, nothing is asked. */
  failed: boolean;
  inFlight?: Promise<CacheEntry | undefined>;
}

/** Node's codes for a connection that broke before any answer came back. */
const BROKEN_CONNECTION_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED']);

const retryToken = (count: number) => ({ getRetryCount: () => count, getRetryDelay: () => 0 });

/**
 * The Secrets Manager client's retries: one, and only for a connection that broke before any answer
 * (typically a kept-alive socket the service closed while the container was frozen), a call Secrets
 * Manager never answered. Throttling, 5xx, access denied and timeouts are not retried: the cache's
 * refresh interval is the retry, so a throttled Secrets Manager receives one call, not two.
 */
export const SECRETS_MANAGER_RETRY = {
  acquireInitialRetryToken: async () => retryToken(0),
  refreshRetryTokenForRetry: async (
    previous: { getRetryCount(): number },
    info: { readonly error?: { readonly code?: string; readonly $metadata?: { readonly httpStatusCode?: number } } },
  ) => {
    const { error } = info;
    const broken = error?.code !== undefined && BROKEN_CONNECTION_CODES.has(error.code) && error.$metadata?.httpStatusCode === undefined;
    if (!broken || previous.getRetryCount() >= 1) throw error;
    return retryToken(previous.getRetryCount() + 1);
  },
  recordSuccess: () => undefined,
};

/** Default client: the retry policy above and a short per-call timeout. */
export function defaultSecretsManagerClient(): SecretsManagerClient {
  return new SecretsManagerClient({ ...sdkClientConfig(SECRETS_MANAGER_REQUEST_TIMEOUT_MS), retryStrategy: SECRETS_MANAGER_RETRY });
}

function stageOf(entry: SecretVersionsListEntry): SecretStage | undefined {
  const stages = entry.VersionStages ?? [];
  if (stages.includes('AWSCURRENT')) return 'AWSCURRENT';
  if (stages.includes('AWSPENDING')) return 'AWSPENDING';
  if (stages.includes('AWSPREVIOUS')) return 'AWSPREVIOUS';
  return undefined;
}

const STAGE_ORDER: Record<SecretStage, number> = { AWSCURRENT: 0, AWSPENDING: 1, AWSPREVIOUS: 2 };

function valueOfOutput(got: GetSecretValueCommandOutput): string {
  return got.SecretString ?? (got.SecretBinary ? Buffer.from(got.SecretBinary).toString('utf8') : '');
}

/**
 * Signing secrets from AWS Secrets Manager, cached in the container.
 *
 * Calls: a cold container asks for the versions (`ListSecretVersionIds`) and the AWSCURRENT value
 * (`GetSecretValue`) at once; a refresh asks for the versions, plus one `GetSecretValue` for each
 * version it has not seen before (a version's value never changes, so values are kept by version id).
 * Whatever asks for a fetch (the TTL, a mismatch, a retry after a failure), at most one starts per
 * `minRefreshIntervalMs` per secret, concurrent askers share it, and a failure is remembered for the
 * interval (a negative cache): a flood makes one fetch per interval, cold or warm.
 *
 * Time: a cached secret is answered at once, even past its TTL (it is refreshed in the background);
 * only a request with nothing usable cached waits, for at most its `waitMs`.
 *
 * Staleness: while Secrets Manager fails, a cached secret keeps verifying for `maxStaleMs` after its
 * last successful fetch, with a warning each time it is served; after that, requests are refused
 * (`secret_stale_expired` in the log, which the stack alarms on).
 *
 * Rotation is honoured both ways: AWSPENDING verifies as soon as it is staged, AWSPREVIOUS for a
 * grace period after AWSCURRENT was created.
 */
export class SecretsCache {
  private readonly client: SecretsManagerClient;
  private readonly ttlMs: number;
  private readonly previousGraceMs: number;
  private readonly minRefreshIntervalMs: number;
  private readonly maxStaleMs: number;
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly states = new Map<string, SecretState>();
  private readonly valuesByVersion = new Map<string, string>();

  constructor(options: SecretsCacheOptions = {}) {
    this.client = options.client ?? defaultSecretsManagerClient();
    this.ttlMs = options.ttlMs ?? SECRETS_DEFAULTS.ttlMs;
    this.previousGraceMs = options.previousGraceMs ?? SECRETS_DEFAULTS.previousGraceMs;
    this.minRefreshIntervalMs = options.minRefreshIntervalMs ?? SECRETS_DEFAULTS.minRefreshIntervalMs;
    this.maxStaleMs = options.maxStaleMs ?? SECRETS_DEFAULTS.maxStaleMs;
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? defaultLogger;
  }

  /** The candidate signing secrets for one key of a secret. */
  async candidates(secretId: string, key: string, options: CandidatesOptions = {}): Promise<CandidatesResult> {
    const keys = options.keys ?? [key];
    const state = this.stateOf(secretId);
    const nowMs = this.now();
    const entry = state.entry;
    if (entry) {
      const ageMs = nowMs - entry.fetchedAt;
      if (ageMs < (entry.misconfigured ? this.minRefreshIntervalMs : this.ttlMs)) return this.forKey(secretId, entry, key, keys, nowMs);
      if (ageMs < this.maxStaleMs) {
        // Past the TTL: answer from the cache now, and check for new versions in the background.
        void this.startFetch(secretId, state);
        // Every stale answer is logged; a warning once a refresh has failed (stale on error), else routine.
        this.logger.log(state.failed ? 'warn' : 'info', {
          message: state.failed ? 'Secrets Manager is failing: serving the cached signing secret' : 'serving the cached signing secret while it is refreshed',
          outcome: 'secret_stale_served',
          secretId,
          ageSeconds: Math.floor(ageMs / 1000),
        });
        return this.forKey(secretId, entry, key, keys, nowMs);
      }
      // Past the ceiling only matters when Secrets Manager is failing; after an idle day it is simply refetched.
      if (state.failed) {
        this.logger.error({
          message: 'the cached signing secret is past SECRETS_MAX_STALE_SECONDS and Secrets Manager is still failing: refusing it',
          outcome: 'secret_stale_expired',
          secretId,
          ageSeconds: Math.floor(ageMs / 1000),
        });
      }
    }
    // Nothing usable cached: wait for a fetch, for at most waitMs.
    const fetched = await this.waitForFetch(secretId, state, options.waitMs);
    if (fetched === 'timeout') return { ok: false, reason: 'secrets_unavailable', retryAfterSeconds: 1 };
    if (!fetched) return { ok: false, reason: 'secrets_unavailable', retryAfterSeconds: this.secondsUntilNextFetch(state) };
    return this.forKey(secretId, fetched, key, keys, this.now());
  }

  /**
   * Called when no candidate verified: fetches once more unless a fetch started or ended within the
   * minimum interval (a fetch already running is joined), so a flood of bad signatures costs at most
   * one fetch per interval. Waits at most `waitMs`. True when the versions changed and verification
   * is worth retrying.
   */
  async refreshAfterMismatch(secretId: string, options: Pick<CandidatesOptions, 'waitMs'> = {}): Promise<boolean> {
    const state = this.stateOf(secretId);
    const before = state.entry;
    const after = await this.waitForFetch(secretId, state, options.waitMs);
    if (after === 'timeout' || !after) return false;
    return !before || versionKey(before) !== versionKey(after);
  }

  private stateOf(secretId: string): SecretState {
    let state = this.states.get(secretId);
    if (!state) this.states.set(secretId, (state = { lastActivityAt: -Infinity, failed: false }));
    return state;
  }

  private secondsUntilNextFetch(state: SecretState): number {
    return Math.max(1, Math.ceil((state.lastActivityAt + this.minRefreshIntervalMs - this.now()) / 1000));
  }

  /** The running fetch, or a new one when the interval allows; undefined when it does not. */
  private startFetch(secretId: string, state: SecretState): Promise<CacheEntry | undefined> | undefined {
    if (state.inFlight) return state.inFlight;
    if (this.now() - state.lastActivityAt < this.minRefreshIntervalMs) return undefined;
    state.lastActivityAt = this.now();
    // The AWSCURRENT value alongside the version list when nothing is cached (one round trip instead of
    // two on a cold start), but not after a failure: retries stay at one call per interval.
    const askCurrentAtOnce = !state.entry && !state.failed;
    const running = this.fetch(secretId, askCurrentAtOnce).then(
      (entry) => {
        state.entry = entry;
        state.failed = false;
        return entry;
      },
      (error: unknown) => {
        state.failed = true;
        this.logger.warn({
          message: state.entry ? 'secrets manager failed; the cached secret is served until it recovers or goes past SECRETS_MAX_STALE_SECONDS' : 'secrets manager failed; nothing cached',
          outcome: state.entry ? 'secret_refresh_failed' : 'secret_unavailable',
          secretId,
          ...describeError(error),
        });
        return undefined;
      },
    );
    state.inFlight = running.finally(() => {
      state.inFlight = undefined;
      state.lastActivityAt = this.now();
    });
    return state.inFlight;
  }

  private async waitForFetch(secretId: string, state: SecretState, waitMs: number | undefined): Promise<CacheEntry | undefined | 'timeout'> {
    const fetching = this.startFetch(secretId, state);
    if (!fetching) return undefined;
    if (waitMs === undefined) return fetching;
    const waited = await withDeadline(waitMs, () => fetching);
    return waited.ok ? waited.value : 'timeout';
  }

  private forKey(secretId: string, entry: CacheEntry, key: string, keys: readonly string[], nowMs: number): CandidatesResult {
    const previousExpired = nowMs >= entry.previousUntil;
    const memo = previousExpired ? entry.withoutPrevious : entry.withPrevious;
    const memoKey = keys.length === 1 ? key : `${key}\u0000${keys.length}`;
    let result = memo.get(memoKey);
    if (!result) {
      result = this.candidatesFor(secretId, entry, key, keys, previousExpired);
      memo.set(memoKey, result);
    }
    return result;
  }

  /**
   * The well-formed values for `key`, current first. A misconfigured AWSCURRENT refuses the key (503,
   * logged once per fetch with the key and the problem, never the value); a misconfigured pending or
   * previous version is left out and logged.
   */
  private candidatesFor(secretId: string, entry: CacheEntry, key: string, keys: readonly string[], previousExpired: boolean): CandidatesResult {
    const secrets: string[] = [];
    const stages: SecretStage[] = [];
    for (const version of entry.versions) {
      if (version.stage === 'AWSPREVIOUS' && previousExpired) continue;
      const read = readSecretKey(version.secretString, key, keys);
      if (read.kind === 'misconfigured') {
        this.logger.error({ message: `signing secret misconfigured: ${SECRET_PROBLEMS[read.problem]}`, outcome: 'secret_misconfigured', secretId, key, stage: version.stage, problem: read.problem });
        if (version.stage === 'AWSCURRENT') {
          entry.misconfigured = true;
          return { ok: false, reason: 'secret_misconfigured', key, problem: read.problem };
        }
        continue;
      }
      if (read.kind === 'secret' && !secrets.includes(read.value)) {
        secrets.push(read.value);
        stages.push(version.stage);
      }
    }
    return { ok: true, secrets, stages };
  }

  private async fetch(secretId: string, askCurrentAtOnce: boolean): Promise<CacheEntry> {
    const listing = this.client.send(new ListSecretVersionIdsCommand({ SecretId: secretId, IncludeDeprecated: false, MaxResults: 100 }));
    const current = askCurrentAtOnce ? this.client.send(new GetSecretValueCommand({ SecretId: secretId })) : undefined;
    // Its failure is read below, or not at all when the listing fails first: never an unhandled rejection.
    current?.catch(() => undefined);
    const listed = await listing;
    if (current) {
      const got = await current;
      if (got.VersionId) this.valuesByVersion.set(`${secretId}\u0000${got.VersionId}`, valueOfOutput(got));
    }
    const staged = (listed.Versions ?? [])
      .map((v) => ({ entry: v, stage: stageOf(v) }))
      .filter((v): v is { entry: SecretVersionsListEntry; stage: SecretStage } => v.stage !== undefined && !!v.entry.VersionId);
    const currentVersion = staged.find((v) => v.stage === 'AWSCURRENT');
    if (!currentVersion) throw new Error(`secret has no AWSCURRENT version`);
    const currentCreated = currentVersion.entry.CreatedDate?.getTime() ?? 0;
    const previousUntil = currentCreated + this.previousGraceMs;
    const inGrace = this.now() < previousUntil;
    const wanted = staged
      .filter((v) => v.stage !== 'AWSPREVIOUS' || inGrace)
      .sort((a, b) => STAGE_ORDER[a.stage] - STAGE_ORDER[b.stage]);

    // Values not seen before, all at once: during a rotation, pending and previous in one round trip.
    const values = await Promise.all(wanted.map(({ entry, stage }) => this.valueOf(secretId, entry.VersionId!, stage === 'AWSCURRENT')));
    const versions: SecretVersion[] = [];
    wanted.forEach(({ entry, stage }, i) => {
      const secretString = values[i];
      if (secretString !== undefined) versions.push({ versionId: entry.VersionId!, stage, secretString });
    });
    this.logger.info({ message: 'signing secret loaded', outcome: 'secret_loaded', secretId, versions: versions.length });
    return { versions, fetchedAt: this.now(), previousUntil, withPrevious: new Map(), withoutPrevious: new Map(), misconfigured: false };
  }

  /** A version's value, fetched once. Only AWSCURRENT is required; another that fails is skipped. */
  private async valueOf(secretId: string, versionId: string, required: boolean): Promise<string | undefined> {
    const cacheKey = `${secretId}\u0000${versionId}`;
    const known = this.valuesByVersion.get(cacheKey);
    if (known !== undefined) return known;
    try {
      const value = valueOfOutput(await this.client.send(new GetSecretValueCommand({ SecretId: secretId, VersionId: versionId })));
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
    maxStaleMs: seconds(ENV.secretsMaxStaleSeconds, SECRETS_DEFAULTS.maxStaleMs),
  });
}
