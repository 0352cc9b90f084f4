/** The most characters of a caller's value (a body field, a header, a path) a log line carries. */
export const MAX_LOGGED_CHARACTERS = 128;

/** Outside printable ASCII, and the backslash itself, so an escape in the output is always one this wrote. */
const NEEDS_ESCAPE = /[^\x20-\x5b\x5d-\x7e]/g;
const HAS_NEEDS_ESCAPE = /[^\x20-\x5b\x5d-\x7e]/;

/**
 * A value that came from a request (body or header), fit for a log line: cut to 128 characters, then
 * every character outside printable ASCII (and `\`) written as `\uXXXX`, so no caller can grow a line
 * without bound, break it, or put control characters in front of whoever reads it; the value read
 * back as a JSON string gives the cut value exactly. Undefined stays undefined.
 */
export function loggable(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const cut = value.length > MAX_LOGGED_CHARACTERS ? value.slice(0, MAX_LOGGED_CHARACTERS) : value;
  if (!HAS_NEEDS_ESCAPE.test(cut)) return cut;
  return cut.replace(NEEDS_ESCAPE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
