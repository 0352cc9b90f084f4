import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CustomerDirectory, CustomerProfile, LookupOptions } from '../../shared/customers/profile.js';
import type { EventSink } from '../../shared/events/event.js';
import type { HttpResponse } from '../../shared/http/response.js';
import { PROVIDERS, type ProviderId } from '../../shared/providers.js';
import { PARK_RESERVE_MS } from '../../shared/webhook.js';
import { harness } from '../support/handler-harness.js';
import { handlerFor, PROFILE, SECRETS, validEvent } from './support.js';

/**
 * A directory (or bus) slower than the provider's dependency deadline (shared/providers.ts, `budget`):
 * the handler answers 503 with Retry-After at the deadline, inside the platform's own timeout, instead
 * of waiting for the dependency. With fake timers the answer is shown to come exactly at the deadline;
 * one real-time run checks the same with a generous margin (no tight timing).
 */

const LOOKUPS = ['buddy', 'talki', 'helper'] as const satisfies readonly ProviderId[];
const WEBHOOKS = ['bullseye', 'buddystat'] as const satisfies readonly ProviderId[];

/** A directory that would answer, but only `delayMs` after it is asked; `honourSignal` makes it stop when aborted. */
function slowDirectory(delayMs: number, honourSignal: boolean): { directory: CustomerDirectory; entered: Promise<void> } {
  let enter: () => void = () => undefined;
  const entered = new Promise<void>((resolve) => (enter = resolve));
  const slow = (options: LookupOptions = {}) =>
    new Promise<CustomerProfile | undefined>((resolve, reject) => {
      enter();
      const timer = setTimeout(() => resolve(PROFILE), delayMs);
      if (honourSignal) {
        options.signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(options.signal?.reason);
        });
      }
    });
  return {
    directory: { findBySessionId: (_id, o) => slow(o), findByUserId: (_id, o) => slow(o), findByEmail: (_email, o) => slow(o) },
    entered,
  };
}

/** A bus whose PutEvents would succeed, `delayMs` after it is called. */
function slowSink(delayMs: number): { sink: EventSink; entered: Promise<void> } {
  let enter: () => void = () => undefined;
  const entered = new Promise<void>((resolve) => (enter = resolve));
  return {
    sink: {
      publish: () =>
        new Promise<void>((resolve) => {
          enter();
          setTimeout(resolve, delayMs);
        }),
    },
    entered,
  };
}

function expectUnavailable(response: HttpResponse | undefined): void {
  expect(response?.statusCode).toBe(503);
  expect(Number(response?.headers['retry-after'])).toBeGreaterThan(0);
}

afterEach(() => {
  vi.useRealTimers();
});

/** Starts the request, waits until the slow dependency was asked, and reports when the answer arrives in fake time. */
async function answerTimeline(handler: (event: unknown) => Promise<HttpResponse>, event: unknown, entered: Promise<void>, deadlineMs: number) {
  let answer: HttpResponse | undefined;
  const pending = handler(event).then((r) => (answer = r));
  await entered; // the deadline's timer is running from here
  await vi.advanceTimersByTimeAsync(deadlineMs - 1);
  const beforeDeadline = answer;
  await vi.advanceTimersByTimeAsync(1);
  await pending;
  return { beforeDeadline, atDeadline: answer };
}

describe.each(LOOKUPS)('%s: directory slower than the deadline', (provider) => {
  const { dependencyDeadlineMs: deadline, platformTimeoutMs } = PROVIDERS[provider].budget;

  it.each([
    ['ignores the abort signal', false],
    ['stops when aborted', true],
  ] as const)(`${provider}: a directory that %s -> 503 with Retry-After at ${deadline} ms, inside the platform's ${platformTimeoutMs} ms`, async (_name, honour) => {
    expect(deadline).toBeLessThan(platformTimeoutMs);
    const h = harness(SECRETS[provider]);
    const event = validEvent(provider, h.now());
    // Warm the secrets cache first, with real timers: only the directory is slow.
    const warm = handlerFor(provider, { secrets: h.secrets, logger: h.logger, env: h.env, now: h.now });
    expect((await warm(event)).statusCode).toBe(200);

    vi.useFakeTimers();
    const { directory, entered } = slowDirectory(deadline + 10_000, honour);
    const handler = handlerFor(provider, { secrets: h.secrets, logger: h.logger, env: h.env, now: h.now, directory });
    const { beforeDeadline, atDeadline } = await answerTimeline(handler, event, entered, deadline);
    expect(beforeDeadline).toBeUndefined();
    expectUnavailable(atDeadline);
    expect(h.logs.requests().at(-1)).toMatchObject({ provider, outcome: 'lookup_timeout', status: 503 });
  });
});

describe.each(WEBHOOKS)('%s: event bus slower than the deadline', (provider) => {
  const { dependencyDeadlineMs, platformTimeoutMs } = PROVIDERS[provider].budget;
  // The forward keeps PARK_RESERVE_MS of the bus deadline back for parking; with no bucket (as here) the 503 comes then.
  const deadline = dependencyDeadlineMs - PARK_RESERVE_MS;

  it(`${provider}: PutEvents not answered within ${deadline} ms -> 503 with Retry-After at the deadline, inside the platform's ${platformTimeoutMs} ms`, async () => {
    expect(deadline).toBeLessThan(platformTimeoutMs);
    const h = harness(SECRETS[provider]);
    const event = validEvent(provider, h.now());
    await h.secrets.candidates(h.env.SIGNING_SECRET_ID!, PROVIDERS[provider].routes[0]!.secretKey); // warm

    vi.useFakeTimers();
    const { sink, entered } = slowSink(deadline + 10_000);
    const handler = handlerFor(provider, { secrets: h.secrets, logger: h.logger, env: h.env, now: h.now, sink });
    const { beforeDeadline, atDeadline } = await answerTimeline(handler, event, entered, deadline);
    expect(beforeDeadline).toBeUndefined();
    expectUnavailable(atDeadline);
  });
});

describe('real time, generous margin', () => {
  it('buddy: a directory that never answers -> 503 within the 1.5 s deadline plus a second, well inside Buddy’s 3 s', async () => {
    const provider = 'buddy';
    const { dependencyDeadlineMs: deadline } = PROVIDERS[provider].budget;
    const h = harness(SECRETS[provider]);
    const event = validEvent(provider, h.now());
    expect((await handlerFor(provider, { secrets: h.secrets, logger: h.logger, env: h.env, now: h.now })(event)).statusCode).toBe(200);

    const never: CustomerDirectory = { findBySessionId: () => new Promise(() => undefined), findByUserId: () => new Promise(() => undefined), findByEmail: () => new Promise(() => undefined) };
    const handler = handlerFor(provider, { secrets: h.secrets, logger: h.logger, env: h.env, now: h.now, directory: never });
    const started = performance.now();
    const response = await handler(event);
    const elapsed = performance.now() - started;
    expectUnavailable(response);
    expect(elapsed).toBeLessThan(deadline + 1_000);
  });
});
