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
  return { ok: true, value: { sessionId, timestamp: timestamp as number | string, ...(agentId !== undefined && { agentId }) } };
}

/** Profile -> Buddy's shape: plan and attributes travel as customAttributes, as the doc's example shows. */
export function toBuddyResponse(profile: CustomerProfile): BuddyIdentityResponse {
  const customAttributes = {
    ...(profile.plan !== undefined && { plan: profile.plan }),
    ...(profile.value !== undefined && { lifetimeValue: profile.value }),
    ...profile.attributes,
  };
  return {
    userId: profile.userId,
    ...(profile.email !== undefined && { email: profile.email }),
    ...(profile.role !== undefined && { role: profile.role }),
    ...(Object.keys(customAttributes).length > 0 && { customAttributes }),
  };
}
