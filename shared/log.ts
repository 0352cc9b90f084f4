/**
 * Structured JSON logs, one object per line on stdout (bypassing console's text prefix so CloudWatch
 * Logs Insights and metric filters read every field). Field names are a closed set on purpose: there
 * is no field that could carry a secret, a signature or a raw body.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogFields {
  readonly message?: string;
  readonly provider?: string;
  readonly route?: string;
  readonly method?: string;
  readonly outcome?: string;
  readonly status?: number;
  readonly latencyMs?: number;
  readonly requestId?: string;
  readonly format?: string;
  readonly secretId?: string;
  readonly stage?: string;
  readonly versions?: number;
  readonly eventType?: string;
  readonly deliveryId?: string;
  readonly dedupeKey?: string;
  readonly errorName?: string;
  readonly detail?: string;
  readonly droppedFields?: readonly string[];
  readonly count?: number;
  /** A secret's key (`signingSecret`, `billing`): named when its value is misconfigured, never the value. */
  readonly key?: string;
  /** What is wrong with a secret's value, as a word (`surrounding_whitespace`, `invalid_json`, ...). */
  readonly problem?: string;
  /** How old a served secret is, since its last successful fetch. */
  readonly ageSeconds?: number;
}

export type LogSink = (line: string) => void;

const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function levelFromEnv(): LogLevel {
  const raw = (process.env.LOG_LEVEL ?? 'info').toLowerCase();
  return raw in LEVEL_ORDER ? (raw as LogLevel) : 'info';
}

/** The closed field set, checked at run time too: a field outside it is never written, whatever the caller passed. */
const FIELD_NAMES: ReadonlySet<string> = new Set<keyof LogFields>([
  'message', 'provider', 'route', 'method', 'outcome', 'status', 'latencyMs', 'requestId', 'format', 'secretId',
  'stage', 'versions', 'eventType', 'deliveryId', 'dedupeKey', 'errorName', 'detail', 'droppedFields', 'count',
  'key', 'problem', 'ageSeconds',
]);

/** The JSON line for one record: level, time, then the caller's own fields from the closed set, in its order. */
export function logLine(level: LogLevel, fields: LogFields): string {
  const record: Record<string, unknown> = { level, time: new Date().toISOString() };
  for (const name of Object.keys(fields)) if (FIELD_NAMES.has(name)) record[name] = fields[name as keyof LogFields];
  return JSON.stringify(record);
}

export interface Logger {
  log(level: LogLevel, fields: LogFields): void;
  info(fields: LogFields): void;
  warn(fields: LogFields): void;
  error(fields: LogFields): void;
}

export function createLogger(
  sink: LogSink = (line) => process.stdout.write(line + '\n'),
  minLevel: LogLevel = levelFromEnv(),
): Logger {
  const log = (level: LogLevel, fields: LogFields): void => {
    if (LEVEL_ORDER[level] >= LEVEL_ORDER[minLevel]) sink(logLine(level, fields));
  };
  return {
    log,
    info: (fields) => log('info', fields),
    warn: (fields) => log('warn', fields),
    error: (fields) => log('error', fields),
  };
}

/** A name and a short reason for an unknown error: never the error's own payload or stack. */
export function describeError(error: unknown): { errorName: string; detail: string } {
  if (error instanceof Error) return { errorName: error.name, detail: error.message.slice(0, 200) };
  return { errorName: typeof error, detail: 'non-Error value thrown' };
}

export const logger: Logger = createLogger();
