export const DEFAULT_REPLAY_WINDOW_SECONDS = 300;

export type TimestampCheck =
  | { readonly ok: true; readonly skewSeconds: number }
  | { readonly ok: false; readonly reason: 'missing_timestamp' | 'malformed_timestamp' | 'stale_timestamp' };

// Anything above this is taken as milliseconds: 1e11 seconds is the year 5138.
const MILLISECONDS_THRESHOLD = 1e11;

/**
 * Checks a signed timestamp (seconds since the epoch, as a number or a numeric string)
 * against a ±window around now, so a captured request cannot be replayed later.
 */
export function checkTimestamp(
  value: unknown,
  nowMs: number,
  windowSeconds: number = DEFAULT_REPLAY_WINDOW_SECONDS,
): TimestampCheck {
  if (value === undefined || value === null || value === '') return { ok: false, reason: 'missing_timestamp' };
  const numeric =
    typeof value === 'number' ? value : typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isFinite(numeric) || numeric <= 0) return { ok: false, reason: 'malformed_timestamp' };
  const seconds = numeric > MILLISECONDS_THRESHOLD ? numeric / 1000 : numeric;
  const skewSeconds = seconds - nowMs / 1000;
  if (Math.abs(skewSeconds) > windowSeconds) return { ok: false, reason: 'stale_timestamp' };
  return { ok: true, skewSeconds };
}
