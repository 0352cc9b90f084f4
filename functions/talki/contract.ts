import type { CustomerProfile } from '../../shared/customers/profile.js';
import { isJsonObject, type Parsed } from '../../shared/contract.js';

/**
 * Talki Backend Connect (shared/providers/talki-backend-connect.txt): Talki POSTs `{ userToken }`
 * (the field name is set in Admin → Backend Connect) and shows `{ name?, email?, plan?, fields? }`;
 * `fields` "accepts strings, numbers, and booleans".
 */
export const DEFAULT_USER_TOKEN_FIELD = 'userToken';

export type TalkiFieldValue = string | number | boolean;

export interface TalkiCustomerResponse {
  readonly name?: string;
  readonly email?: string;
  readonly plan?: string;
  readonly fields?: Record<string, TalkiFieldValue>;
}

export function parseTalkiRequest(body: unknown, tokenField: string): Parsed<{ readonly userToken: string }> {
  if (!isJsonObject(body)) return { ok: false, error: 'Body must be a JSON object' };
  const token = body[tokenField];
  // identity.userId in the widget may be a number; Talki sends it as it was set.
  if (typeof token === 'number' && Number.isFinite(token)) return { ok: true, value: { userToken: String(token) } };
  if (typeof token !== 'string' || token.trim().length === 0) return { ok: false, error: `Missing ${tokenField}` };
  return { ok: true, value: { userToken: token } };
}

/** A field value Talki can render, or undefined when it cannot (nested objects, arrays, null). */
export function toTalkiFieldValue(value: unknown): TalkiFieldValue | undefined {
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.toISOString();
  return undefined;
}

export function toTalkiResponse(profile: CustomerProfile): { response: TalkiCustomerResponse; droppedFields: string[] } {
  const attributes = Object.entries(profile.attributes ?? {}).map(([key, value]) => [key, toTalkiFieldValue(value)] as const);
  const fields: Record<string, TalkiFieldValue> = Object.fromEntries(
    attributes.filter((entry): entry is readonly [string, TalkiFieldValue] => entry[1] !== undefined),
  );
  const droppedFields = attributes.filter(([, value]) => value === undefined).map(([key]) => key);
  // A field the profile lacks is undefined, which JSON leaves out.
  const response: TalkiCustomerResponse = { name: profile.name, email: profile.email, plan: profile.plan, fields: droppedFields.length < attributes.length ? fields : undefined };
  return { response, droppedFields };
}
