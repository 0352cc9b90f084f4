/**
 * `new Date(ms).toISOString()`, reused while the millisecond is the same: a Date and its ISO string
 * cost ~0.4 µs, and every request writes at least one. One memo per caller (the log line, a
 * webhook's receivedAt), so two clocks never evict each other's value.
 */
export function memoisedIsoTime(): (ms: number) => string {
  let lastMs = NaN;
  let lastIso = '';
  return (ms) => {
    if (ms !== lastMs) {
      lastMs = ms;
      lastIso = new Date(ms).toISOString();
    }
    return lastIso;
  };
}
