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

let repeatWindowMs = 5000;

/** Sets how long a RepeatedLog gathers repeats of a kind into one count line (tests shorten it). */
export function setLogRepeatWindow(ms: number): number {
  const prev = repeatWindowMs;
  repeatWindowMs = ms;
  return prev;
}

interface Pending {
  count: number;
}

/**
 * Lines that may come once per request (a refused Host, a 404, a client that left mid-send):
 * the first of a kind is written at once, the repeats within the window that follows become
 * one line with their count, so a flood of bad requests writes a few lines, not a flood.
 */
export class RepeatedLog {
  private readonly log: Logger;
  private readonly level: Exclude<LogLevel, 'silent'>;
  private readonly kinds = new Map<string, Pending>();
  constructor(log: Logger, level: Exclude<LogLevel, 'silent'>) {
    this.log = log;
    this.level = level;
  }

  /**
   * Logs `message` now, or counts it when `kind` was logged within the window. `kind` is one of
   * a few fixed labels, never a path or a header: each kind holds a timer while it repeats.
   */
  note(kind: string, message: string): void {
    if (!this.log.enabled(this.level)) return;
    const pending = this.kinds.get(kind);
    if (pending) {
      pending.count++;
      return;
    }
    this.log[this.level](message);
    this.open(kind);
  }

  private open(kind: string): void {
    const windowMs = repeatWindowMs;
    setTimeout(() => {
      const p = this.kinds.get(kind)!;
      this.kinds.delete(kind);
      if (p.count === 0) return;
      this.log[this.level](`${kind}: ${p.count} more in the last ${formatWindow(windowMs)}`);
      this.open(kind); // a flood that goes on gets one count line per window
    }, windowMs).unref();
    this.kinds.set(kind, { count: 0 });
  }
}

function formatWindow(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
