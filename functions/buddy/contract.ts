import { isJsonObject, type Parsed } from '../../shared/contract.js';
import type { CustomerProfile } from '../../shared/customers/profile.js';

/**
 * Buddy identity callback (shared/providers/buddy-identity-callback.txt):
 * Buddy POSTs `{ sessionId, agentId, timestamp }` and expects `{ userId, email?, role?, customAttributes? }`.
 * A response without `userId` is Buddy's AUTH_CALLBACK_BAD_RESPONSE, so one is never sent.
 */
export interface BuddyIdentityRequest {
  readonly sessionId: string;
  readonly agentId?: string;
  readonly timestamp: number | string;
}

export interface BuddyIdentityResponse {
  readonly userId: string;
  readonly email?: string;
  readonly role?: string;
  readonly customAttributes?: Record<string, unknown>;
}

const MAX_ID_LENGTH = 512;

export function parseBuddyRequest(body: unknown): Parsed<BuddyIdentityRequest> {
  if (!isJsonObject(body)) return { ok: false, error: 'Body must be a JSON object' };
  const { sessionId, agentId, timestamp } = body;
  if (typeof sessionId !== 'string' || sessionId.length === 0 || sessionId.length > MAX_ID_LENGTH) {
    return { ok: false, error: 'sessionId must be a non-empty string' };
  }
  if (agentId !== undefined && typeof agentId !== 'string') return { ok: false, error: 'agentId must be a string' };
  return { ok: true, value: { sessionId, timestamp: timestamp as number | string, agentId } };
}

/**
 * Profile -> Buddy's shape: plan and attributes travel as customAttributes, as the doc's example shows.
 * A field the profile lacks is undefined, which JSON leaves out.
 */
export function toBuddyResponse(profile: CustomerProfile): BuddyIdentityResponse {
  const customAttributes = { plan: profile.plan, lifetimeValue: profile.value, ...profile.attributes };
  const anyAttribute = Object.values(customAttributes).some((value) => value !== undefined);
  return { userId: profile.userId, email: profile.email, role: profile.role, customAttributes: anyAttribute ? customAttributes : undefined };
}
