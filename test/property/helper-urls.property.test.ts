import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isHttpUrl } from '../../functions/helper/contract.js';
import { NUM_RUNS } from './arbitraries.js';

/**
 * Helper rejects an answer with an action that is not an absolute http(s) URL
 * (shared/providers/helper-metadata-endpoint.txt), so isHttpUrl must say what the URL parser says.
 * Its regular-expression shortcut may only ever accept what the parser accepts.
 */
function parserSays(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

const pick = <T>(...values: T[]) => fc.constantFrom(...values);
const label = fc.oneof(
  fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/),
  fc.stringMatching(/^[0-9]{1,4}$/),
  fc.stringMatching(/^0[xX][0-9a-fA-F]{0,4}$/),
  fc.stringMatching(/^[xX][nN]--[a-z0-9-]{0,8}$/),
  fc.stringMatching(/^-?[A-Za-z0-9-]{0,6}-?$/),
  fc.string({ maxLength: 4 }),
);
/** URL-shaped strings near the shortcut's edges: numeric and punycode labels, empty labels, ports, odd characters. */
const urlish = fc
  .record({
    scheme: pick('http', 'https', 'HTTP', 'HtTpS', 'ftp', 'javascript', 'http ', ' http'),
    slashes: pick('://', ':/', ':', ':\\\\', '://\t'),
    userinfo: pick('', 'user@', 'u:p@', '@'),
    host: fc.array(label, { minLength: 0, maxLength: 5 }).map((labels) => labels.join('.')),
    trailingDot: fc.boolean(),
    port: fc.option(fc.oneof(fc.integer({ min: 0, max: 99_999 }).map(String), pick('', '08', '65535', '65536')), { nil: undefined }),
    rest: fc.option(fc.tuple(pick('/', '?', '#', '\\', ' '), fc.string({ maxLength: 20 })).map(([lead, tail]) => lead + tail), { nil: undefined }),
  })
  .map(({ scheme, slashes, userinfo, host, trailingDot, port, rest }) =>
    `${scheme}${slashes}${userinfo}${host}${trailingDot ? '.' : ''}${port === undefined ? '' : `:${port}`}${rest ?? ''}`,
  );

describe('helper: isHttpUrl says what the URL parser says', () => {
  it('for URL-shaped strings near the edges of its shortcut, real web URLs and any string', () => {
    fc.assert(
      fc.property(fc.oneof(urlish, fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.string()), (value) => {
        expect(isHttpUrl(value)).toBe(parserSays(value));
      }),
      { numRuns: NUM_RUNS * 10 },
    );
  });

  it.each([
    ['https://admin.example.com/users/usr_ada', true],
    ['HTTP://EXAMPLE.COM:8080/a?b#c', true],
    ['http://1.2.3.256/', false],
    ['http://example.999/', false],
    ['http://xn--a.com/', false],
    ['http://example.com:65536/', false],
    ['javascript:alert(1)', false],
    ['  https://example.com', true],
  ])('%s -> %s', (value, expected) => {
    expect(isHttpUrl(value)).toBe(expected);
    expect(parserSays(value)).toBe(expected);
  });
});
