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

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}
