import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { sdkClientConfig } from '../../shared/aws/client-config.js';
import { apiKeyFromSecret, PartnerApi, partnerApiSettingsFromEnv } from '../../shared/bullseye/partner-api.js';
import { ENV, lazy, numberFromEnv, settingFromEnv } from '../../shared/config.js';
import { describeError, logger as defaultLogger } from '../../shared/log.js';
import { PROVIDERS } from '../../shared/providers.js';
import { SECRETS_DEFAULTS } from '../../shared/secrets/cache.js';
import { RotationError, runRotationStep, type RotationDeps, type RotationEvent } from './rotation.js';

/**
 * The Secrets Manager rotation function for Bullseye's signing secret (rotation.ts has the steps).
 * Throws when a step fails, which is how Secrets Manager learns the rotation failed; the error and
 * the log line name the step and what went wrong, never a secret or the API key.
 *
 * Environment: BULLSEYE_API_KEY_SECRET_ID (required), BULLSEYE_API_URL, BULLSEYE_TEST_WEBHOOK_PATH,
 * BULLSEYE_WEBHOOK_LOGS_PATH (shared/bullseye/partner-api.ts), ROTATION_RECEIVER_TTL_SECONDS (the
 * receivers' SECRETS_TTL_SECONDS; default 300).
 */
export type RotationHandler = (event: RotationEvent) => Promise<void>;

export function createRotationHandler(deps: () => RotationDeps): RotationHandler {
  return async (event) => {
    const resolved = deps();
    try {
      await runRotationStep(event, resolved);
    } catch (error) {
      resolved.logger.error({
        message: 'rotation step failed; AWSCURRENT is unchanged and Secrets Manager will retry',
        provider: PROVIDERS.bullseye.id,
        outcome: error instanceof RotationError ? `rotation_${error.outcome}` : 'rotation_error',
        secretId: typeof event?.SecretId === 'string' ? event.SecretId : undefined,
        stage: typeof event?.Step === 'string' ? event.Step.slice(0, 40) : undefined,
        ...describeError(error),
      });
      throw error;
    }
  };
}

/** The dependencies a deployed (or `npm run rotate`) rotation uses, from the environment. */
export function rotationDepsFromEnv(env: NodeJS.ProcessEnv = process.env, secretsManager?: SecretsManagerClient): RotationDeps {
  const client = secretsManager ?? new SecretsManagerClient(sdkClientConfig(5_000));
  const apiKeySecretId = settingFromEnv(env, ENV.bullseyeApiKeySecretId);
  if (!apiKeySecretId) throw new Error(`${ENV.bullseyeApiKeySecretId} is not set`);
  return {
    secretsManager: client,
    partnerApi: new PartnerApi({ ...partnerApiSettingsFromEnv(env), apiKey: apiKeyFromSecret(client, apiKeySecretId) }),
    logger: defaultLogger,
    receiverTtlMs: numberFromEnv(env, ENV.rotationReceiverTtlSeconds, SECRETS_DEFAULTS.ttlMs / 1000) * 1000,
  };
}

export const handler: RotationHandler = createRotationHandler(lazy(() => rotationDepsFromEnv()));
