export type DeadlineResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: 'timeout' }
  | { readonly ok: false; readonly reason: 'failed'; readonly error: unknown };

/**
 * What work under a deadline gets: `signal` for the SDK or fetch (the scope is itself an `{ signal }`
 * options object the directory, sink and ledger methods accept as is), and `expired` once the deadline passed.
 */
export interface DeadlineScope {
  readonly signal: AbortSignal;
  readonly expired: boolean;
}

const DEADLINE_PASSED = Symbol('deadline passed');
const TIMED_OUT = { ok: false, reason: 'timeout' } as const;

/**
 * Runs work that must finish within `ms`: the work gets a scope whose signal it passes to the SDK or
 * fetch, and the caller gets a result value at the deadline even if the work ignores the signal.
 */
export async function withDeadline<T>(ms: number, work: (scope: DeadlineScope) => Promise<T>): Promise<DeadlineResult<T>> {
  const controller = new AbortController();
  const scope: DeadlineScope = {
    signal: controller.signal,
    get expired() {
      return controller.signal.aborted;
    },
  };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<typeof DEADLINE_PASSED>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error(`deadline of ${ms} ms passed`));
      resolve(DEADLINE_PASSED);
    }, ms);
  });
  try {
    const value = await Promise.race([work(scope), deadline]);
    return value === DEADLINE_PASSED ? TIMED_OUT : { ok: true, value };
  } catch (error) {
    // Work that failed because the deadline aborted it timed out; anything else is its own failure.
    return scope.expired ? TIMED_OUT : { ok: false, reason: 'failed', error };
  } finally {
    clearTimeout(timer);
  }
}
