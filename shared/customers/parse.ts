import type { CustomerProfile } from './profile.js';

/**
 * One place that decides what a customer profile looks like when it arrives as untyped data: a
 * DynamoDB item, an internal user API's JSON, an entry of local/customers.json. Every adapter
 * answers the same shape, so a provider's contract never sees `value: "4200"` from one directory
 * and `value: 4200` from another.
 */
export type ProfileParse = { readonly ok: true; readonly profile: CustomerProfile } | { readonly ok: false; readonly error: string };

const TEXT_FIELDS = ['email', 'name', 'role', 'plan'] as const;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `null` is treated as absent: JSON APIs commonly send `"plan": null` for "no plan". */
function absent(value: unknown): value is null | undefined {
  return value === undefined || value === null;
}

/**
 * A CustomerProfile from untyped data, or the first rule it breaks (naming the field, never its value,
 * so the message can be logged). Fields the profile does not know (`pk`, `emailLower`, `expiresAt`,
 * anything else) are dropped.
 */
export function parseCustomerProfile(value: unknown): ProfileParse {
  if (!isPlainObject(value)) return { ok: false, error: 'a profile must be a JSON object' };
  const { userId } = value;
  if (typeof userId !== 'string' || userId.length === 0) return { ok: false, error: '`userId` must be a non-empty string' };
  const profile: { -readonly [K in keyof CustomerProfile]: CustomerProfile[K] } = { userId };

  for (const field of TEXT_FIELDS) {
    const text = value[field];
    if (absent(text)) continue;
    if (typeof text !== 'string') return { ok: false, error: `\`${field}\` must be a string` };
    profile[field] = text;
  }

  const number = value.value;
  if (!absent(number)) {
    if (typeof number !== 'number' || !Number.isFinite(number)) return { ok: false, error: '`value` must be a finite number' };
    profile.value = number;
  }

  const attributes = value.attributes;
  if (!absent(attributes)) {
    if (!isPlainObject(attributes)) return { ok: false, error: '`attributes` must be an object' };
    profile.attributes = attributes;
  }

  const actions = value.actions;
  if (!absent(actions)) {
    if (!isPlainObject(actions) || !Object.values(actions).every((url) => typeof url === 'string')) {
      return { ok: false, error: '`actions` must be an object of label -> URL strings' };
    }
    profile.actions = actions as Record<string, string>;
  }

  const sessionIds = value.sessionIds;
  if (!absent(sessionIds)) {
    if (!Array.isArray(sessionIds) || !sessionIds.every((id) => typeof id === 'string' && id.length > 0)) {
      return { ok: false, error: '`sessionIds` must be an array of non-empty strings' };
    }
    profile.sessionIds = sessionIds as string[];
  }

  return { ok: true, profile };
}

/** The key the email index and the in-memory directory match on: trimmed, lower-cased. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}
