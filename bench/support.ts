import { cpus, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';

/**
 * What every bench section shares: the result shape run.ts prints (and renders as Markdown), small
 * statistics, number formatting and a description of the machine the figures came from.
 */

export interface Table {
  readonly caption?: string;
  readonly headers: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

export interface SectionResult {
  readonly id: string;
  readonly title: string;
  /** How the figures were taken, in a sentence or two (printed above the tables). */
  readonly method: readonly string[];
  readonly tables: readonly Table[];
  /** Verdicts and observations, printed below the tables. */
  readonly notes: readonly string[];
  /** Set when the section could not run at all. */
  readonly skipped?: string;
}

export function skippedSection(id: string, title: string, reason: string): SectionResult {
  return { id, title, method: [], tables: [], notes: [], skipped: reason };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function fixed(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

export function ratio(value: number, base: number): string {
  return Number.isFinite(value) && Number.isFinite(base) && base > 0 ? `${(value / base).toFixed(2)}×` : 'n/a';
}

export function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)}`;
}

/** `ok` or `MISSED`, the word run.ts prints next to every target. */
export function verdict(met: boolean): string {
  return met ? 'ok' : 'MISSED';
}

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: string;
  readonly node: string;
  readonly platform: string;
}

export function describeMachine(): Machine {
  let cpu = cpus()[0]?.model?.trim() ?? 'unknown';
  try {
    // /proc/cpuinfo names the model even where os.cpus() reports a generic string.
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    if (line) cpu = line.split(':').slice(1).join(':').trim();
  } catch {
    // Not Linux: os.cpus() is all there is.
  }
  return {
    cpu,
    cores: cpus().length,
    memoryGiB: (totalmem() / 1024 ** 3).toFixed(1),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

/** Lets pending I/O and timers run between measured rounds. */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Nanoseconds per call of an async function, each call awaited before the next (one warm container). */
export async function timeAsync(fn: () => Promise<unknown>, iterations: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await fn();
  return Number(process.hrtime.bigint() - start) / iterations;
}

export interface RoundOptions {
  /** Awaited calls per measured round. */
  readonly iterations: number;
  readonly rounds: number;
  /** Calls of each before the first round. */
  readonly warmup: number;
}

/**
 * `a` and `b` timed in interleaved rounds, the order reversed every other round: this machine's speed
 * drifts within seconds, so the ratio is the median of each round's own a/b, taken where both ran
 * on the same machine state. Times are the median round's, in ns per call.
 */
export async function interleavedRounds(a: () => Promise<unknown>, b: () => Promise<unknown>, options: RoundOptions): Promise<{ aNs: number; bNs: number; ratio: number }> {
  await timeAsync(a, options.warmup);
  await timeAsync(b, options.warmup);
  const aNs: number[] = [];
  const bNs: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    if (round % 2 === 0) {
      aNs.push(await timeAsync(a, options.iterations));
      bNs.push(await timeAsync(b, options.iterations));
    } else {
      bNs.push(await timeAsync(b, options.iterations));
      aNs.push(await timeAsync(a, options.iterations));
    }
    await yieldToLoop();
  }
  return { aNs: median(aNs), bNs: median(bNs), ratio: median(aNs.map((ns, i) => ns / bNs[i]!)) };
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}
