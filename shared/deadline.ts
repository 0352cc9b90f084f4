export type DeadlineResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: 'timeout' }
  | { readonly ok: false; readonly reason: 'failed'; readonly error: unknown };

/**
 * Runs work that must finish within `ms`: the work gets an AbortSignal to pass to the SDK or fetch,
 * and the caller gets a result value at the deadline even if the work ignores the signal.
 */
export async function withDeadline<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<DeadlineResult<T>> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<DeadlineResult<T>>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error(`deadline of ${ms} ms passed`));
      resolve({ ok: false, reason: 'timeout' });
    }, ms);
  });
  const run = (async (): Promise<DeadlineResult<T>> => {
    try {
      return { ok: true, value: await work(controller.signal) };
    } catch (error) {
      return controller.signal.aborted ? { ok: false, reason: 'timeout' } : { ok: false, reason: 'failed', error };
    }
  })();
  try {
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
