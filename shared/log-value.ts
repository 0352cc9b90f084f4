/** The most characters of a caller's value (a body field, a header, a path) a log line carries. */
export const MAX_LOGGED_CHARACTERS = 128;

const NOT_PRINTABLE_ASCII = /[^\x20-\x7e]/g;
const HAS_NOT_PRINTABLE_ASCII = /[^\x20-\x7e]/;

/**
 * A value that came from a request (body or header), fit for a log line: cut to 128 characters, then
 * every character outside printable ASCII written as `\uXXXX`, so no caller can grow a line without
 * bound, break it, or put control characters in front of whoever reads it. Undefined stays undefined.
 */
export function loggable(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const cut = value.length > MAX_LOGGED_CHARACTERS ? value.slice(0, MAX_LOGGED_CHARACTERS) : value;
  if (!HAS_NOT_PRINTABLE_ASCII.test(cut)) return cut;
  return cut.replace(NOT_PRINTABLE_ASCII, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
