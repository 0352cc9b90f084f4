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

/**
 * http(s) URLs any WHATWG URL parser accepts without a look: a host of ASCII letters, digits and
 * hyphens whose last label starts with a letter (so it is never read as an IPv4 number) and no
 * `xn--` label (punycode, which the parser decodes and may refuse), a port below 10000, and a
 * path/query/fragment of printable ASCII (which the parser only ever escapes, never refuses).
 * The usual action link is one; anything else goes to the parser itself.
 */
const PLAIN_HTTP_URL = /^https?:\/\/(?:(?!xn--)[a-z0-9-]+\.)*(?!xn--)[a-z][a-z0-9-]*\.?(?::\d{1,4})?(?:[/?#][\x21-\x7e]*)?$/i;

/** An absolute http(s) URL, as Helper validates each action. */
export function isHttpUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  // A regular-expression test costs half of URL.canParse, which each action of each answer needs otherwise.
  if (PLAIN_HTTP_URL.test(value)) return true;
  // Starting with `http:` or `https:`: if it parses at all its scheme is that one, so URL.canParse
  // decides without building a URL object.
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
