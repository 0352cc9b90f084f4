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

const TIMED_OUT: DeadlineResult<never> = { ok: false, reason: 'timeout' };

/** Reacting to it runs a callback one microtask later. */
const SETTLED = Promise.resolve();

/**
 * The AbortController is made on the first read of `signal`: building an AbortSignal costs about 2 µs,
 * more than the rest of a warm in-memory lookup, and work that never needs one (an in-memory
 * directory, a cache hit) should not pay for it. The timer bounds the wait either way.
 */
class Deadline implements DeadlineScope {
  private controller: AbortController | undefined;
  private passed = false;

  constructor(private readonly ms: number) {}

  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    // Read for the first time after the deadline: hand out a signal that is already aborted.
    if (this.passed && !this.controller.signal.aborted) this.controller.abort(this.reason());
    return this.controller.signal;
  }

  get expired(): boolean {
    return this.passed;
  }

  pass(): void {
    this.passed = true;
    this.controller?.abort(this.reason());
  }

  private reason(): Error {
    return new Error(`deadline of ${this.ms} ms passed`);
  }
}

/**
 * `signal.throwIfAborted()` for an `{ signal }` options object. A deadline scope answers from its
 * flag, so a synchronous check does not build the AbortSignal the work itself has no use for.
 */
export function throwIfAborted(options: { readonly signal?: AbortSignal | undefined }): void {
  if (options instanceof Deadline) {
    if (options.expired) options.signal.throwIfAborted();
    return;
  }
  options.signal?.throwIfAborted();
}

/** Deadline lengths with a keeper; lengths come from provider budgets, so this stays a handful (bounded all the same). */
const keptTimerLists = new Set<number>();
const MAX_KEPT_TIMER_LISTS = 16;
const doNothing = (): void => undefined;

/**
 * Node keeps one list of timers per duration and takes it down when its last timer is cleared, so a
 * lone deadline armed and cleared per request (one invocation at a time, as on Lambda) builds and
 * tears down that list every time: ~0.26 µs per setTimeout/clearTimeout pair, against ~0.09 µs
 * while the list stays. An unref'd interval of the same length keeps it: it never holds the process
 * open, and firing does nothing.
 */
function keepTimerList(ms: number): void {
  if (keptTimerLists.has(ms) || keptTimerLists.size >= MAX_KEPT_TIMER_LISTS) return;
  keptTimerLists.add(ms);
  setInterval(doNothing, ms).unref();
}

/**
 * Runs work that must finish within `ms`: the work gets a scope whose signal it passes to the SDK or
 * fetch, and the caller gets a result value at the deadline even if the work ignores the signal.
 *
 * One promise settled by whichever comes first, rather than `Promise.race` over a timeout promise and
 * an async wrapper: the same answer with fewer promises and ticks on every request.
 */
export function withDeadline<T>(ms: number, work: (scope: DeadlineScope) => Promise<T>): Promise<DeadlineResult<T>> {
  const deadline = new Deadline(ms);
  return new Promise<DeadlineResult<T>>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    let running: Promise<T>;
    try {
      running = Promise.resolve(work(deadline));
    } catch (error) {
      running = Promise.reject(error);
    }
    running.then(
      (value) => {
        settled = true;
        clearTimeout(timer);
        resolve({ ok: true, value });
      },
      (error: unknown) => {
        settled = true;
        clearTimeout(timer);
        resolve(deadline.expired ? TIMED_OUT : { ok: false, reason: 'failed', error });
      },
    );
    // The timer is armed in this same turn, before any I/O can answer, but after the reactions of a
    // promise the work returned already settled (an in-memory directory, a cache hit): those run
    // first, so work that finished at once costs no setTimeout/clearTimeout pair.
    // A reaction to a settled promise rather than queueMicrotask: Node wraps each queueMicrotask
    // callback in an AsyncResource, which costs more than the timer this check saves.
    SETTLED.then(() => {
      if (settled) return;
      keepTimerList(ms);
      timer = setTimeout(() => {
        deadline.pass();
        resolve(TIMED_OUT);
      }, ms);
    });
  });
}
