import { describe, expect, it } from 'vitest';
import { checkTimestamp, DEFAULT_REPLAY_WINDOW_SECONDS } from '../../shared/signing/replay.js';
import { PROVIDERS } from '../../shared/providers.js';

// Buddy's doc sample: { "timestamp": 1717000000 }.
const NOW_SECONDS = 1_717_000_000;
const NOW_MS = NOW_SECONDS * 1000;

describe('checkTimestamp', () => {
  it('the default window is ±300 s, as the registry uses for buddy and helper', () => {
    expect(DEFAULT_REPLAY_WINDOW_SECONDS).toBe(300);
    expect(PROVIDERS.buddy.replay.windowSeconds).toBe(DEFAULT_REPLAY_WINDOW_SECONDS);
    expect(PROVIDERS.helper.replay.windowSeconds).toBe(DEFAULT_REPLAY_WINDOW_SECONDS);
  });

  it('buddy: "timestamp": 1717000000 (seconds, a JSON number) is fresh', () => {
    expect(checkTimestamp(NOW_SECONDS, NOW_MS)).toEqual({ ok: true, skewSeconds: 0 });
  });

  it('helper: timestamp=1717000000 (a numeric query string) is fresh', () => {
    expect(checkTimestamp(String(NOW_SECONDS), NOW_MS)).toEqual({ ok: true, skewSeconds: 0 });
    expect(checkTimestamp(` ${NOW_SECONDS} `, NOW_MS)).toEqual({ ok: true, skewSeconds: 0 });
    expect(checkTimestamp(`${NOW_SECONDS}.5`, NOW_MS)).toEqual({ ok: true, skewSeconds: 0.5 });
  });

  it('milliseconds are recognised, as a number or a string', () => {
    expect(checkTimestamp(NOW_MS, NOW_MS)).toEqual({ ok: true, skewSeconds: 0 });
    expect(checkTimestamp(String(NOW_MS - 2_000), NOW_MS)).toEqual({ ok: true, skewSeconds: -2 });
  });

  it('±300 s is inside the window, one second more is stale, both ways', () => {
    expect(checkTimestamp(NOW_SECONDS + 300, NOW_MS)).toEqual({ ok: true, skewSeconds: 300 });
    expect(checkTimestamp(NOW_SECONDS - 300, NOW_MS)).toEqual({ ok: true, skewSeconds: -300 });
    expect(checkTimestamp(NOW_SECONDS + 301, NOW_MS)).toEqual({ ok: false, reason: 'stale_timestamp' });
    expect(checkTimestamp(NOW_SECONDS - 301, NOW_MS)).toEqual({ ok: false, reason: 'stale_timestamp' });
    expect(checkTimestamp((NOW_SECONDS - 301) * 1000, NOW_MS)).toEqual({ ok: false, reason: 'stale_timestamp' });
  });

  it('the window is configurable', () => {
    expect(checkTimestamp(NOW_SECONDS - 60, NOW_MS, 60).ok).toBe(true);
    expect(checkTimestamp(NOW_SECONDS - 61, NOW_MS, 60)).toEqual({ ok: false, reason: 'stale_timestamp' });
    expect(checkTimestamp(NOW_SECONDS - 3_000, NOW_MS, 3_600).ok).toBe(true);
  });

  it('helper: the doc’s sample timestamp=1684234567 is long stale today', () => {
    expect(checkTimestamp('1684234567', NOW_MS)).toEqual({ ok: false, reason: 'stale_timestamp' });
  });

  it.each([undefined, null, ''])('missing: %s', (value) => {
    expect(checkTimestamp(value, NOW_MS)).toEqual({ ok: false, reason: 'missing_timestamp' });
  });

  it.each(['abc', '-5', '1e9', '0x10', '17170000OO', 0, -1, Number.NaN, Number.POSITIVE_INFINITY, true, {}, []])(
    'malformed: %s',
    (value) => {
      expect(checkTimestamp(value, NOW_MS)).toEqual({ ok: false, reason: 'malformed_timestamp' });
    },
  );
});
