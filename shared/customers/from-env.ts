import { ENV, settingFromEnv } from '../config.js';
import { DynamoDbDirectory } from './dynamodb.js';
import { bearerTokenFromSecret, HttpDirectory, type TokenProvider } from './http.js';
import { normaliseEmail, parseCustomerProfile } from './parse.js';
import type { CustomerDirectory, CustomerProfile } from './profile.js';

/** A directory that cannot work as configured: every lookup rejects with this, the handler answers 503. */
export class DirectoryConfigError extends Error {
  override readonly name = 'DirectoryConfigError';
}

/** Every method rejects with `reason`, so a misconfigured function logs why on each request instead of crashing at start. */
export function unavailableDirectory(reason: string): CustomerDirectory {
  const reject = () => Promise.reject(new DirectoryConfigError(reason));
  return { findBySessionId: reject, findByUserId: reject, findByEmail: reject };
}

export const DIRECTORY_KINDS = ['dynamodb', 'http'] as const;
export type DirectoryKind = (typeof DIRECTORY_KINDS)[number];

/**
 * The directory the environment asks for (names in shared/config.ts):
 *   CUSTOMER_DIRECTORY=dynamodb (default)  CUSTOMERS_TABLE
 *   CUSTOMER_DIRECTORY=http                CUSTOMER_API_URL, CUSTOMER_API_TOKEN_SECRET_ID (optional: no
 *                                          Authorization header without it)
 * Never throws: a missing or invalid setting gives a directory whose lookups reject with a message naming it.
 * No request is made here; the SDK clients connect on first use.
 */
export function directoryFromEnv(env: NodeJS.ProcessEnv = process.env): CustomerDirectory {
  const kind = (settingFromEnv(env, ENV.directory) ?? 'dynamodb').toLowerCase();
  if (kind === 'dynamodb') {
    const tableName = settingFromEnv(env, ENV.customersTable);
    if (!tableName) return unavailableDirectory(`${ENV.customersTable} is not set (needed by ${ENV.directory}=dynamodb)`);
    return new DynamoDbDirectory({ tableName });
  }
  if (kind === 'http') {
    const baseUrl = settingFromEnv(env, ENV.directoryUrl);
    if (!baseUrl) return unavailableDirectory(`${ENV.directoryUrl} is not set (needed by ${ENV.directory}=http)`);
    const secretId = settingFromEnv(env, ENV.directoryTokenSecretId);
    const token: TokenProvider = secretId ? bearerTokenFromSecret(secretId) : () => Promise.resolve(undefined);
    try {
      return new HttpDirectory({ baseUrl, token });
    } catch {
      return unavailableDirectory(`${ENV.directoryUrl} is not a valid http(s) URL`);
    }
  }
  return unavailableDirectory(`${ENV.directory} must be one of ${DIRECTORY_KINDS.join(', ')}`);
}

/**
 * Puts each profile into the table and records its `sessionIds` (default session TTL), for the
 * local server's seed data and for tests.
 */
export async function seedCustomers(directory: DynamoDbDirectory, profiles: readonly CustomerProfile[]): Promise<void> {
  for (const profile of profiles) {
    await directory.putCustomer(profile);
    for (const sessionId of profile.sessionIds ?? []) await directory.recordSession(sessionId, profile.userId);
  }
}

export type ProfilesParse =
  | { readonly ok: true; readonly value: CustomerProfile[] }
  | { readonly ok: false; readonly error: string };

/**
 * An array of profiles (local/customers.json), or the first problem, naming the entry by index and
 * userId. Duplicate user ids, session ids or emails (case-insensitively) are problems too: each
 * would make a lookup answer depend on seeding order.
 */
export function parseCustomerProfiles(json: unknown): ProfilesParse {
  if (!Array.isArray(json)) return { ok: false, error: 'customers must be a JSON array of profiles' };
  const profiles: CustomerProfile[] = [];
  const seen = { userId: new Map<string, number>(), sessionId: new Map<string, number>(), email: new Map<string, number>() };
  for (const [index, entry] of json.entries()) {
    const rawId: unknown = typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>).userId : undefined;
    const where = typeof rawId === 'string' && rawId.length > 0 ? `customers[${index}] (userId ${JSON.stringify(rawId)})` : `customers[${index}]`;
    const parsed = parseCustomerProfile(entry);
    if (!parsed.ok) return { ok: false, error: `${where}: ${parsed.error}` };
    const profile = parsed.profile;
    const duplicate = (kind: keyof typeof seen, key: string, label: string): string | undefined => {
      const earlier = seen[kind].get(key);
      if (earlier !== undefined) return `${where}: ${label} ${JSON.stringify(key)} is already used by customers[${earlier}]`;
      seen[kind].set(key, index);
      return undefined;
    };
    const problem =
      duplicate('userId', profile.userId, 'userId') ??
      (profile.sessionIds ?? []).reduce<string | undefined>((found, id) => found ?? duplicate('sessionId', id, 'session id'), undefined) ??
      (profile.email !== undefined && normaliseEmail(profile.email).length > 0
        ? duplicate('email', normaliseEmail(profile.email), 'email')
        : undefined);
    if (problem) return { ok: false, error: problem };
    profiles.push(profile);
  }
  return { ok: true, value: profiles };
}
