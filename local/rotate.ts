import { randomUUID } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createRotationHandler, rotationDepsFromEnv } from '../functions/bullseye-rotation/handler.js';
import { ROTATION_STEPS } from '../functions/bullseye-rotation/rotation.js';
import { ENV } from '../shared/config.js';
import { createLogger } from '../shared/log.js';
import { PROVIDER_IDS } from '../shared/providers.js';
import { readCommand, runCommand, usageError } from './cli.js';
import { LOCAL_BULLSEYE, LOCAL_FILES, localSecretId, parseRunningStack, readJsonFile } from './defaults.js';
import { LOCAL_AWS_ENV } from './stand-ins/dynamodb.js';

/**
 * npm run rotate -- bullseye: runs the rotation function's four steps, in order, with one new
 * version id, exactly as Secrets Manager invokes it, against the running `npm start` (its Secrets
 * Manager stand-in and its Bullseye stand-in). Prints each step's log lines.
 */
const USAGE = `usage: npm run rotate -- bullseye

  Rotates Bullseye's two webhook secrets against the running \`npm start\`: createSecret, setSecret,
  testSecret, finishSecret, as the deployed rotation function does (docs/deploy.md, "Automatic rotation").
  setSecret first waits the receivers' SECRETS_TTL_SECONDS (npm start's; 300 by default): start the
  server with SECRETS_TTL_SECONDS=5 npm start for a quick run.

  Only Bullseye's secret is set through an API; the other platforms (${PROVIDER_IDS.filter((id) => id !== 'bullseye').join(', ')}) issue theirs.`;

async function main(argv: string[]): Promise<number> {
  const command = readCommand(argv, { help: { type: 'boolean', short: 'h', default: false } }, USAGE);
  if (!command.ok) return command.exitCode;
  if (command.provider.id !== 'bullseye') {
    return usageError(`${command.provider.id}'s signing secret is issued by the platform: rotate it by hand (docs/deploy.md)`, USAGE);
  }
  const running = await readJsonFile(LOCAL_FILES.running, parseRunningStack);
  if (!running.ok) {
    console.error(`cannot find a running npm start (${running.error}).\nStart it in another terminal with \`npm start\`.`);
    return 1;
  }
  const stack = running.value;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...LOCAL_AWS_ENV,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: stack.secretsManagerEndpoint,
    [ENV.bullseyeApiUrl]: stack.bullseyeApiUrl,
    [ENV.bullseyeApiKeySecretId]: LOCAL_BULLSEYE.apiKeySecretId,
    [ENV.rotationReceiverTtlSeconds]: String(stack.receiverTtlSeconds),
  };
  Object.assign(process.env, env);

  const secretsManager = new SecretsManagerClient({});
  const printed = createLogger((line) => {
    const fields = JSON.parse(line) as { level: string; message?: string; detail?: string };
    console.log(`  ${fields.level === 'error' ? 'FAILED: ' : ''}${fields.message ?? ''}${fields.level === 'error' && fields.detail ? `\n  ${fields.detail}` : ''}`);
  });
  const handler = createRotationHandler(() => ({ ...rotationDepsFromEnv(env, secretsManager), logger: printed }));
  const secretId = localSecretId('bullseye');
  const token = randomUUID();
  console.log(`Rotating ${secretId} on ${stack.secretsManagerEndpoint}, Bullseye at ${stack.bullseyeApiUrl}; new version ${token}`);
  for (const step of ROTATION_STEPS) {
    console.log(`\n${step}`);
    try {
      await handler({ Step: step, SecretId: secretId, ClientRequestToken: token });
    } catch {
      console.error(`\nRotation stopped at ${step}: AWSCURRENT is unchanged and every secret Bullseye may hold still verifies.`);
      return 1;
    }
  }
  const current = await secretsManager.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }));
  console.log(`\nDone: AWSCURRENT is now version ${current.VersionId}, the secrets Bullseye signs with; the old version verifies as AWSPREVIOUS for the grace period.`);
  return current.VersionId === token ? 0 : 1;
}

runCommand(main);
