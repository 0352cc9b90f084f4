import { randomBytes } from 'node:crypto';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  UpdateSecretVersionStageCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { WEBHOOK_TYPES, type PartnerApi, type PartnerApiError, type WebhookLogEntry, type WebhookType } from '../../shared/bullseye/partner-api.js';
import type { Logger } from '../../shared/log.js';
import { PROVIDERS } from '../../shared/providers.js';

/**
 * Secrets Manager's four rotation steps for the Bullseye signing secret (`{"identification": "...",
 * "billing": "..."}`), driving Bullseye's partner API. Secrets Manager invokes the function once per
 * step with `{ Step, SecretId, ClientRequestToken }` (the token is the new version's id) and retries a
 * step that fails, so every step is safe to repeat. No secret value is ever logged.
 *
 * Why no delivery is rejected: the receivers verify with AWSCURRENT, AWSPENDING and (for the grace
 * period) AWSPREVIOUS. createSecret stages the new value as AWSPENDING; setSecret first waits until
 * every receiver's cache has been refreshed since then (the receivers' SECRETS_TTL_SECONDS after the
 * version was created), and only then switches Bullseye; from that moment both the old and the new
 * value verify everywhere. testSecret has Bullseye sign test deliveries with what it now holds and
 * checks in Bullseye's delivery logs that the receiver answered 2xx; finishSecret makes the new
 * version AWSCURRENT, and the old one keeps verifying as AWSPREVIOUS for the grace period.
 *
 * A failure at any step leaves AWSCURRENT where it was and AWSPENDING on the new version: whichever
 * value Bullseye holds for each webhook, old or new, still verifies, and Secrets Manager retries.
 */
export const ROTATION_STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

export interface RotationEvent {
  readonly Step: string;
  readonly SecretId: string;
  readonly ClientRequestToken: string;
  readonly RotationToken?: string;
}

export interface RotationDeps {
  readonly secretsManager: SecretsManagerClient;
  readonly partnerApi: PartnerApi;
  readonly logger: Logger;
  /** The receivers' SECRETS_TTL_SECONDS (in ms): how old AWSPENDING must be before Bullseye may sign with it. */
  readonly receiverTtlMs: number;
  /** Slack on top of the TTL for a refresh that was in flight when the version was created. */
  readonly receiverTtlSlackMs?: number;
  /** The longest setSecret may wait for that; longer (a bigger TTL than the function's timeout allows) fails the step. */
  readonly maxWaitMs?: number;
  /** How long testSecret waits for each test delivery to show in Bullseye's logs. */
  readonly testTimeoutMs?: number;
  readonly pollIntervalMs?: number;
  /** Clock difference allowed between us and Bullseye when a log entry is matched by time. */
  readonly clockSkewMs?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** A new webhook secret; default 32 random bytes in Bullseye's `whsec_` form. */
  readonly newWebhookSecret?: () => string;
}

export const ROTATION_DEFAULTS = {
  receiverTtlSlackMs: 5_000,
  maxWaitMs: 10 * 60_000,
  // Bullseye gives a receiver 30 seconds to answer; the log entry follows.
  testTimeoutMs: 45_000,
  pollIntervalMs: 1_000,
  clockSkewMs: 2_000,
} as const;

const CURRENT = 'AWSCURRENT';
const PENDING = 'AWSPENDING';

/** A step that did not complete: Lambda reports it as the invocation's error, and Secrets Manager retries. */
export class RotationError extends Error {
  override readonly name = 'RotationError';
  constructor(
    readonly step: RotationStep | 'unknown',
    readonly outcome: string,
    message: string,
  ) {
    super(`${step}: ${message}`);
  }
}

/** `whsec_` and 32 random bytes, base64: the form Bullseye's examples show. */
export function newWhsecSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** The step name, also as the snake_case spelling some AWS pages use. */
export function parseStep(step: string): RotationStep | undefined {
  const camel = step.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  return (ROTATION_STEPS as readonly string[]).includes(camel) ? (camel as RotationStep) : undefined;
}

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function describePartnerError(error: PartnerApiError): string {
  return `${error.call} failed: ${error.status ?? error.kind} ${error.code}: ${error.message}`;
}

interface Context {
  readonly event: RotationEvent;
  readonly step: RotationStep;
  readonly deps: RotationDeps;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  log(outcome: string, message: string, extra?: { stage?: string; detail?: string }): void;
}

/** Runs one step. Resolves when it is done (or had been done); rejects with a RotationError otherwise. */
export async function runRotationStep(event: RotationEvent, deps: RotationDeps): Promise<void> {
  const step = parseStep(event.Step ?? '');
  if (!step) throw new RotationError('unknown', 'invalid_step', `unknown step "${String(event.Step).slice(0, 40)}"`);
  if (!event.SecretId || !event.ClientRequestToken) throw new RotationError(step, 'invalid_event', 'SecretId and ClientRequestToken are required');
  const context: Context = {
    event,
    step,
    deps,
    now: deps.now ?? Date.now,
    sleep: deps.sleep ?? sleepFor,
    log: (outcome, message, extra = {}) =>
      deps.logger.info({ message: `${step}: ${message}`, provider: PROVIDERS.bullseye.id, outcome, secretId: event.SecretId, ...extra }),
  };

  const stages = await versionStages(context);
  const tokenStages = stages.get(event.ClientRequestToken) ?? [];
  if (tokenStages.includes(CURRENT)) {
    context.log('rotation_already_current', 'the version is already AWSCURRENT; nothing to do', { detail: event.ClientRequestToken });
    return;
  }
  // Secrets Manager's RotateSecret stages the token as AWSPENDING before createSecret; `npm run rotate` does not.
  if (step !== 'createSecret' && !tokenStages.includes(PENDING)) {
    throw new RotationError(step, 'version_not_pending', `version ${event.ClientRequestToken} is not AWSPENDING`);
  }
  switch (step) {
    case 'createSecret':
      return createSecret(context, stages);
    case 'setSecret':
      return setSecret(context);
    case 'testSecret':
      return testSecret(context);
    case 'finishSecret':
      return finishSecret(context, stages);
  }
}

async function versionStages(context: Context): Promise<Map<string, readonly string[]>> {
  const described = await context.deps.secretsManager.send(new DescribeSecretCommand({ SecretId: context.event.SecretId }));
  return new Map(Object.entries(described.VersionIdsToStages ?? {}));
}

/** The value of the token's version, when it has one and is AWSPENDING. */
async function pendingVersion(context: Context): Promise<{ value: string; createdMs: number } | undefined> {
  try {
    const got = await context.deps.secretsManager.send(
      new GetSecretValueCommand({ SecretId: context.event.SecretId, VersionId: context.event.ClientRequestToken, VersionStage: PENDING }),
    );
    if (got.SecretString === undefined) return undefined;
    return { value: got.SecretString, createdMs: got.CreatedDate?.getTime() ?? 0 };
  } catch (error) {
    // RotateSecret's stub version has the label but no value yet: also "not created".
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

function parseSecretObject(step: RotationStep, text: string, which: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // Falls through to the error below, which names no value.
  }
  throw new RotationError(step, 'invalid_secret', `the ${which} version is not a JSON object of webhook secrets`);
}

function webhookSecret(step: RotationStep, value: Record<string, unknown>, type: WebhookType): string {
  const secret = value[type];
  if (typeof secret !== 'string' || secret.length === 0) throw new RotationError(step, 'invalid_secret', `the AWSPENDING version has no "${type}" key`);
  return secret;
}

async function createSecret(context: Context, stages: Map<string, readonly string[]>): Promise<void> {
  const { deps, event } = context;
  const current = await deps.secretsManager.send(new GetSecretValueCommand({ SecretId: event.SecretId, VersionStage: CURRENT }));
  if (await pendingVersion(context)) {
    context.log('rotation_pending_exists', 'AWSPENDING already holds this version; keeping it', { stage: PENDING, detail: event.ClientRequestToken });
    return;
  }
  // An earlier rotation that failed after setSecret may have left Bullseye signing with its AWSPENDING
  // value: moving the label to fresh values would strand those deliveries, so its values carry over.
  const earlierPending = [...stages].find(([id, labels]) => id !== event.ClientRequestToken && labels.includes(PENDING) && !labels.includes(CURRENT));
  let value: Record<string, unknown>;
  if (earlierPending) {
    const earlier = await deps.secretsManager.send(new GetSecretValueCommand({ SecretId: event.SecretId, VersionId: earlierPending[0], VersionStage: PENDING }));
    value = parseSecretObject('createSecret', earlier.SecretString ?? '', 'earlier AWSPENDING');
    context.log('rotation_pending_carried_over', 'an earlier rotation left AWSPENDING on another version; its values carry over', { detail: earlierPending[0] });
  } else {
    value = parseSecretObject('createSecret', current.SecretString ?? '', 'AWSCURRENT');
    const generate = deps.newWebhookSecret ?? newWhsecSecret;
    for (const type of WEBHOOK_TYPES) value[type] = generate();
  }
  await deps.secretsManager.send(
    new PutSecretValueCommand({ SecretId: event.SecretId, ClientRequestToken: event.ClientRequestToken, SecretString: JSON.stringify(value), VersionStages: [PENDING] }),
  );
  context.log('rotation_pending_created', 'new webhook secrets staged as AWSPENDING', { stage: PENDING, detail: event.ClientRequestToken });
}

async function setSecret(context: Context): Promise<void> {
  const { deps } = context;
  const pending = await pendingVersion(context);
  if (!pending) throw new RotationError('setSecret', 'pending_missing', 'the AWSPENDING version has no value');
  const value = parseSecretObject('setSecret', pending.value, 'AWSPENDING');

  // Every receiver must know AWSPENDING before Bullseye signs with it: wait out their cache TTL.
  const readyAt = pending.createdMs + deps.receiverTtlMs + (deps.receiverTtlSlackMs ?? ROTATION_DEFAULTS.receiverTtlSlackMs);
  const waitMs = readyAt - context.now();
  if (waitMs > (deps.maxWaitMs ?? ROTATION_DEFAULTS.maxWaitMs)) {
    throw new RotationError('setSecret', 'receivers_not_ready', `receivers may not see AWSPENDING for another ${Math.ceil(waitMs / 1000)} s; retry later`);
  }
  if (waitMs > 0) {
    context.log('rotation_waiting_for_receivers', `waiting ${Math.ceil(waitMs / 1000)} s so every receiver has read AWSPENDING`, { stage: PENDING });
    await context.sleep(waitMs);
  }

  // A read first: a key Bullseye refuses fails the step before either webhook has changed.
  const configuration = await deps.partnerApi.getWebhooks();
  if (!configuration.ok) throw new RotationError('setSecret', 'bullseye_rejected', describePartnerError(configuration.error));
  for (const type of WEBHOOK_TYPES) {
    // Only the secret is sent: url and enabled stay exactly as the operator set them.
    const updated = await deps.partnerApi.updateWebhook(type, { secret: webhookSecret('setSecret', value, type) });
    if (!updated.ok) throw new RotationError('setSecret', 'bullseye_rejected', describePartnerError(updated.error));
    if (!updated.value.hasSecret) throw new RotationError('setSecret', 'bullseye_rejected', `Bullseye reports no secret on the ${type} webhook after the update`);
    context.log('rotation_webhook_updated', `Bullseye now signs ${type} deliveries with the AWSPENDING value`, { stage: PENDING, detail: type });
  }
}

async function testSecret(context: Context): Promise<void> {
  const { deps } = context;
  const configuration = await deps.partnerApi.getWebhooks();
  if (!configuration.ok) throw new RotationError('testSecret', 'bullseye_rejected', describePartnerError(configuration.error));
  const testable = WEBHOOK_TYPES.filter((type) => configuration.value[type].url !== null && configuration.value[type].enabled);
  if (testable.length === 0) {
    throw new RotationError('testSecret', 'nothing_to_test', 'neither webhook has a URL and is enabled in Bullseye, so no delivery can prove the new secret');
  }
  for (const type of testable) {
    const delivery = await testDelivery(context, type);
    const answered = delivery.statusCode ?? delivery.status ?? 'no status';
    if (!deliveredOk(delivery)) {
      throw new RotationError('testSecret', 'test_delivery_rejected', `the receiver answered Bullseye's ${type} test delivery with ${answered}`);
    }
    context.log('rotation_test_delivered', `the receiver verified Bullseye's ${type} test delivery (${answered})`, { stage: PENDING, detail: type });
  }
}

const DELIVERED = /^(success|succeeded|successful|delivered|ok)$/i;
const NOT_DELIVERED = /^(fail|failed|failure|error|rejected)$/i;

function deliveredOk(entry: WebhookLogEntry): boolean {
  if (entry.statusCode !== undefined) return entry.statusCode >= 200 && entry.statusCode < 300;
  return entry.status !== undefined && DELIVERED.test(entry.status);
}

/** The delivery has an outcome (not `pending`, `queued`, `retrying`...). */
function settled(entry: WebhookLogEntry): boolean {
  return entry.statusCode !== undefined || (entry.status !== undefined && (DELIVERED.test(entry.status) || NOT_DELIVERED.test(entry.status)));
}

/** Asks for a test delivery and waits for its entry in Bullseye's delivery logs. */
async function testDelivery(context: Context, type: WebhookType): Promise<WebhookLogEntry> {
  const { deps } = context;
  const askedAt = context.now();
  const receipt = await deps.partnerApi.sendTestWebhook(type);
  if (!receipt.ok) throw new RotationError('testSecret', 'bullseye_rejected', describePartnerError(receipt.error));
  const skew = deps.clockSkewMs ?? ROTATION_DEFAULTS.clockSkewMs;
  const giveUpAt = askedAt + (deps.testTimeoutMs ?? ROTATION_DEFAULTS.testTimeoutMs);
  const isOurs = (entry: WebhookLogEntry): boolean =>
    receipt.value.id !== undefined
      ? entry.id === receipt.value.id
      : entry.test !== false && (entry.type === undefined || entry.type === type) && entry.atMs !== undefined && entry.atMs >= askedAt - skew;
  for (;;) {
    const logs = await deps.partnerApi.getWebhookLogs({ type, page: 1, pageSize: 20 });
    if (!logs.ok) throw new RotationError('testSecret', 'bullseye_rejected', describePartnerError(logs.error));
    const found = logs.value.entries.find(isOurs);
    if (found && settled(found)) return found;
    if (context.now() >= giveUpAt) {
      throw new RotationError('testSecret', 'test_delivery_missing', `no ${type} test delivery in Bullseye's logs within ${Math.round((giveUpAt - askedAt) / 1000)} s`);
    }
    await context.sleep(deps.pollIntervalMs ?? ROTATION_DEFAULTS.pollIntervalMs);
  }
}

async function finishSecret(context: Context, stages: Map<string, readonly string[]>): Promise<void> {
  const { deps, event } = context;
  const current = [...stages].find(([, labels]) => labels.includes(CURRENT))?.[0];
  await deps.secretsManager.send(
    new UpdateSecretVersionStageCommand({
      SecretId: event.SecretId,
      VersionStage: CURRENT,
      MoveToVersionId: event.ClientRequestToken,
      ...(current ? { RemoveFromVersionId: current } : {}),
    }),
  );
  // Secrets Manager starts the next rotation only once AWSPENDING is gone or on AWSCURRENT's version.
  await deps.secretsManager.send(new UpdateSecretVersionStageCommand({ SecretId: event.SecretId, VersionStage: PENDING, RemoveFromVersionId: event.ClientRequestToken }));
  context.log('rotation_finished', 'the new version is AWSCURRENT; the old one verifies as AWSPREVIOUS for the grace period', {
    stage: CURRENT,
    detail: event.ClientRequestToken,
  });
}
