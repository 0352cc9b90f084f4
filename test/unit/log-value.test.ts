import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loggable, MAX_LOGGED_CHARACTERS } from '../../shared/log-value.js';

/** Values from a request (body fields, headers, paths) as log lines may carry them: bounded and escaped. */
describe('loggable', () => {
  it('keeps a short printable value as it is, and undefined as undefined', () => {
    expect(loggable('goal.converted')).toBe('goal.converted');
    expect(loggable(undefined)).toBeUndefined();
  });

  it('cuts to 128 characters, then writes everything outside printable ASCII as \\uXXXX', () => {
    expect(loggable('x'.repeat(100_000))).toBe('x'.repeat(MAX_LOGGED_CHARACTERS));
    expect(loggable('a\nb\u0000é😀')).toBe('a\\u000ab\\u0000\\u00e9\\ud83d\\ude00');
    // A backslash is escaped too, so `\u000a` typed by the caller never reads as an escaped newline.
    expect(loggable('\\u000a')).toBe('\\u005cu000a');
  });

  it('for any string: at most 128 source characters, only printable ASCII, and the prefix it keeps is the value\'s', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 400 }), fc.stringMatching(/^[\\"nu0-9a]{0,200}$/)), (value) => {
        const logged = loggable(value)!;
        expect(logged).toMatch(/^[\x20-\x7e]*$/);
        const decoded = JSON.parse(`"${logged.replaceAll('"', '\\"')}"`) as string;
        expect(decoded).toBe(value.slice(0, MAX_LOGGED_CHARACTERS));
      }),
    );
  });
});
