// A small leveled logger per stage (server, dispatch, layer:memory, ...), writing to stderr.
// The level comes from setLogLevel() (the CLI's --log-level) or CANAL_LOG_LEVEL.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(message: string, ...rest: unknown[]): void;
  info(message: string, ...rest: unknown[]): void;
  warn(message: string, ...rest: unknown[]): void;
  error(message: string, ...rest: unknown[]): void;
  enabled(level: LogLevel): boolean;
}

function initialLevel(): LogLevel {
  const env = process.env.CANAL_LOG_LEVEL;
  return env && env in ORDER ? (env as LogLevel) : 'info';
}

let threshold = ORDER[initialLevel()];
let sink: (line: string) => void = (line) => process.stderr.write(line + '\n');

export function setLogLevel(level: LogLevel): void {
  if (!(level in ORDER)) throw new Error(`log level must be one of ${Object.keys(ORDER).join(', ')}, not ${String(level)}`);
  threshold = ORDER[level];
}

export function getLogLevel(): LogLevel {
  return (Object.keys(ORDER) as LogLevel[]).find((k) => ORDER[k] === threshold) ?? 'info';
}

/** Redirects log lines (tests capture them). Returns the previous sink. */
export function setLogSink(next: (line: string) => void): (line: string) => void {
  const prev = sink;
  sink = next;
  return prev;
}

function format(value: unknown): string {
  if (value instanceof Error) return value.stack ?? `${value.name}: ${value.message}`;
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

export function createLogger(stage: string): Logger {
  const write = (level: LogLevel, message: string, rest: unknown[]) => {
    if (ORDER[level] < threshold) return;
    const extra = rest.length ? ' ' + rest.map(format).join(' ') : '';
    sink(`${new Date().toISOString()} ${level.toUpperCase()} [${stage}] ${message}${extra}`);
  };
  return {
    debug: (m, ...r) => write('debug', m, r),
    info: (m, ...r) => write('info', m, r),
    warn: (m, ...r) => write('warn', m, r),
    error: (m, ...r) => write('error', m, r),
    enabled: (level) => ORDER[level] >= threshold,
  };
}
