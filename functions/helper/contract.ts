import { assignFields, hasKeys, setField, type Mutable, type Parsed } from '../../shared/contract.js';
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

const HTTP_SCHEME = /^https?:/i;

/** An absolute http(s) URL, as Helper validates each action. */
function isHttpUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  // The usual value starts with `http:` or `https:`: if it parses at all its scheme is that one, so
  // URL.canParse decides without building a URL object.
  if (HTTP_SCHEME.test(value)) return URL.canParse(value);
  // Anything else may still parse as http(s) (the parser drops leading spaces and tabs in the scheme).
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

/**
 * Profile -> Helper's customer. Actions that are not URLs are left out: Helper would reject the whole answer.
 * Built by assignment, not spread chains: this runs on every request, and each spread allocates.
 */
export function toHelperResponse(profile: CustomerProfile | undefined): HelperResponse {
  if (!profile) return { success: true, customer: {} };
  const actions: Record<string, string> = {};
  const links = profile.actions;
  // for...in rather than Object.entries: no [label, url] array per action.
  if (links) for (const label in links) if (Object.hasOwn(links, label) && isHttpUrl(links[label])) setField(actions, label, links[label]);
  const metadata: Record<string, unknown> = {};
  if (profile.plan !== undefined) metadata.Plan = profile.plan;
  if (profile.role !== undefined) metadata.Role = profile.role;
  if (profile.attributes) assignFields(metadata, profile.attributes);
  const customer: Mutable<HelperCustomer> = {};
  if (profile.name !== undefined) customer.name = profile.name;
  if (typeof profile.value === 'number' && Number.isFinite(profile.value)) customer.value = profile.value;
  if (hasKeys(actions)) customer.actions = actions;
  if (hasKeys(metadata)) customer.metadata = metadata;
  return { success: true, customer };
}
