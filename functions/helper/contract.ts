import type { Parsed } from '../../shared/contract.js';
import type { CustomerProfile } from '../../shared/customers/profile.js';

/**
 * Helper metadata endpoint (shared/providers/helper-metadata-endpoint.txt): Helper GETs
 * `?email=&timestamp=` and validates the answer strictly: `success` literally `true`; `customer`
 * optional with `name` (string|null), `value` (number|null), `actions` (label -> URL string) and
 * `metadata` (object of any JSON values).
 */
export interface HelperCustomer {
  readonly name?: string | null;
  readonly value?: number | null;
  readonly actions?: Record<string, string>;
  readonly metadata?: Record<string, unknown>;
}

export interface HelperResponse {
  readonly success: true;
  readonly customer: HelperCustomer;
}

const MAX_EMAIL_LENGTH = 320;

export function parseHelperQuery(query: URLSearchParams): Parsed<{ readonly email: string }> {
  const email = query.get('email')?.trim();
  if (!email) return { ok: false, error: 'Missing email' };
  if (email.length > MAX_EMAIL_LENGTH) return { ok: false, error: 'email is too long' };
  return { ok: true, value: { email } };
}

/** An absolute http(s) URL, as Helper validates each action. */
export function isHttpUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    const { protocol } = new URL(value);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}

/** Profile -> Helper's customer. Actions that are not URLs are left out: Helper would reject the whole answer. */
export function toHelperResponse(profile: CustomerProfile | undefined): HelperResponse {
  if (!profile) return { success: true, customer: {} };
  const actions = Object.fromEntries(Object.entries(profile.actions ?? {}).filter(([, url]) => isHttpUrl(url)));
  const metadata = { Plan: profile.plan, Role: profile.role, ...profile.attributes };
  const anyMetadata = Object.values(metadata).some((value) => value !== undefined);
  // A field the profile lacks is undefined, which JSON leaves out.
  const customer: HelperCustomer = {
    name: profile.name,
    value: typeof profile.value === 'number' && Number.isFinite(profile.value) ? profile.value : undefined,
    actions: Object.keys(actions).length > 0 ? actions : undefined,
    metadata: anyMetadata ? metadata : undefined,
  };
  return { success: true, customer };
}
