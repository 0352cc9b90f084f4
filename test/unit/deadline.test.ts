import { describe, expect, it } from 'vitest';
import { withDeadline, type DeadlineScope } from '../../shared/deadline.js';

/** withDeadline: the result value at the deadline, and a signal made only for work that reads it. */

const later = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

describe('withDeadline', () => {
  it('returns the value of work that finishes in time', async () => {
    expect(await withDeadline(200, async () => 'done')).toEqual({ ok: true, value: 'done' });
  });

  it('returns failed with the error of work that throws in time', async () => {
    const error = new Error('table missing');
    expect(await withDeadline(200, async () => Promise.reject(error))).toEqual({ ok: false, reason: 'failed', error });
  });

  it('returns timeout at the deadline even when the work ignores its signal', async () => {
    const started = Date.now();
    expect(await withDeadline(30, () => later(500, 'too late'))).toEqual({ ok: false, reason: 'timeout' });
    expect(Date.now() - started).toBeLessThan(400);
  });

  it('aborts a signal read before the deadline when the deadline passes', async () => {
    let seen: AbortSignal | undefined;
    const result = await withDeadline(20, (scope) => {
      seen = scope.signal;
      return new Promise((_, reject) => scope.signal.addEventListener('abort', () => reject(scope.signal.reason)));
    });
    expect(result).toEqual({ ok: false, reason: 'timeout' });
    expect(seen?.aborted).toBe(true);
    expect(String(seen?.reason)).toContain('deadline of 20 ms passed');
  });

  it('a signal first read after the deadline is already aborted, and expired says so', async () => {
    let scope: DeadlineScope | undefined;
    await withDeadline(10, (s) => {
      scope = s;
      return later(60, undefined);
    });
    await later(70, undefined);
    expect(scope?.expired).toBe(true);
    expect(scope?.signal.aborted).toBe(true);
  });

  it('a throw after the deadline is a timeout, not a failure', async () => {
    const result = await withDeadline(10, async (scope) => {
      await later(40, undefined);
      scope.signal.throwIfAborted();
      return 'unreachable';
    });
    expect(result).toEqual({ ok: false, reason: 'timeout' });
  });
});

