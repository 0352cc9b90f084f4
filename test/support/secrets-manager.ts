import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createSecretsManagerStandIn, type InProcessClientOptions, type InProcessSecretsManager } from '../../local/stand-ins/secrets-manager.js';

/** A settable clock in epoch milliseconds. */
export function manualClock(startMs: number): { now: () => number; advance: (ms: number) => void; set: (ms: number) => void } {
  let current = startMs;
  return {
    now: () => current,
    advance: (ms) => {
      current += ms;
    },
    set: (ms) => {
      current = ms;
    },
  };
}

export const DAY_MS = 86_400_000;

/**
 * One secret in the Secrets Manager stand-in (local/stand-ins/secrets-manager.ts, the one `npm start`
 * runs), reached by a real SecretsManagerClient answered in process: the service's version and
 * staging rules are the stand-in's, rotations are `sm.put(...)`, faults `sm.setFault(...)`, and
 * `sm.calls` counts what arrived. The secret's first AWSCURRENT version was created `currentAgeMs`
 * before `now()` (default a day).
 */
export function secretsManagerWith(
  secretId: string,
  value: string | Readonly<Record<string, string>>,
  options: { readonly now: () => number; readonly currentAgeMs?: number; readonly client?: InProcessClientOptions },
): { sm: InProcessSecretsManager; client: SecretsManagerClient } {
  let offset = options.currentAgeMs ?? DAY_MS;
  const sm = createSecretsManagerStandIn({ now: () => options.now() - offset });
  sm.put(secretId, typeof value === 'string' ? value : JSON.stringify(value));
  offset = 0;
  return { sm, client: sm.client(options.client) };
}

/**
 * One call through a throwaway client, with real timers: the SDK reads its shared config files on
 * the first call in a process (real I/O that fake timers would race). Call it before faking time.
 */
export async function warmUpSecretsManagerClient(): Promise<void> {
  const { client } = secretsManagerWith('warm-up', 'warm-up', { now: Date.now });
  await client.send(new GetSecretValueCommand({ SecretId: 'warm-up' }));
  client.destroy();
}
