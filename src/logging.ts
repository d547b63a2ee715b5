// A small leveled logger per stage (server, dispatch, layer:memory, ...), writing to stderr.
// The level comes from setLogLevel() (the CLI's --log-level) or CANAL_LOG_LEVEL.
//
// One entry is one line: control characters in a message (a decoded %0A in a path, an ESC in
// a header) are written escaped, so what a client sends can never start a line of its own.
// Only an error's stack spans lines, and each of its lines after the first is indented.
//
// setLogFormat('json') (the CLI's --log-format json, or CANAL_LOG_FORMAT) writes one JSON object
// a line instead; setLogger() hands every entry to the app's own logger (pino and the like).

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(message: string, ...rest: unknown[]): void;
  info(message: string, ...rest: unknown[]): void;
  warn(message: string, ...rest: unknown[]): void;
  error(message: string, ...rest: unknown[]): void;
  enabled(level: LogLevel): boolean;
}

export type LogFormat = 'text' | 'json';

/**
 * A logger of the app's own, as pino's (and bunyan's, winston's child loggers) are called:
 * `logger.warn({ stage: 'server', err }, 'message')`.
 */
export interface LogTarget {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

function initialLevel(): LogLevel {
  const env = process.env.CANAL_LOG_LEVEL;
  return env && env in ORDER ? (env as LogLevel) : 'info';
}

let threshold = ORDER[initialLevel()];
let sink: (line: string) => void = (line) => process.stderr.write(line + '\n');
let json = process.env.CANAL_LOG_FORMAT === 'json';
let target: LogTarget | null = null;

export function setLogLevel(level: LogLevel): void {
  if (!(level in ORDER))
    throw new Error(`log level must be one of ${Object.keys(ORDER).join(', ')}, not ${String(level)}`);
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

/** 'json': one JSON object per line ({ time, level, stage, message, error?, details? }); 'text' the default. */
export function setLogFormat(format: LogFormat): void {
  if (format !== 'text' && format !== 'json')
    throw new Error(`log format must be 'text' or 'json', not ${String(format)}`);
  json = format === 'json';
}

export function getLogFormat(): LogFormat {
  return json ? 'json' : 'text';
}

/**
 * Hands every log entry (at or above the level of setLogLevel) to `logger` instead of writing
 * lines: `logger[level]({ stage, err?, details? }, message)`. null goes back to lines. Returns
 * the previous one.
 */
export function setLogger(logger: LogTarget | null): LogTarget | null {
  if (logger !== null) {
    for (const level of ['debug', 'info', 'warn', 'error'] as const) {
      if (typeof logger?.[level] !== 'function')
        throw new Error(`setLogger() needs an object with debug, info, warn and error methods; ${level} is missing`);
    }
  }
  const prev = target;
  target = logger;
  return prev;
}

// C0 and C1 controls (CR, LF, ESC, NEL…), DEL, and the Unicode line and paragraph separators.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const UNSAFE_ONE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  const named = NAMED[c];
  if (named !== undefined) return named;
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `text` with every character that could end or rewrite a log line written as an escape (`\n`, `\x1b`). */
export function escapeLogText(text: string): string {
  return UNSAFE_ONE.test(text) ? text.replace(UNSAFE, escapeChar) : text;
}

/**
 * A value a client sent (a path, a header, an origin), quoted for a log line: JSON string
 * syntax, so quotes and backslashes are escaped too and the value's ends are plain to see.
 */
export function quoteForLog(value: string | null | undefined): string {
  if (value === null || value === undefined) return '(none)';
  return escapeLogText(JSON.stringify(value.length > 500 ? value.slice(0, 500) + '…' : value));
}

/** Escaped lines; each after the first indented when it does not start with white space. */
function indentedLines(text: string): string {
  return text
    .split('\n')
    .map((l, i) => (i === 0 ? escapeLogText(l) : escapeLogText(l).replace(/^(?=\S)/, '    ')))
    .join('\n');
}

function formatError(err: Error): string {
  const stack = err.stack;
  const head = err.message ? `${err.name}: ${err.message}` : String(err.name);
  if (typeof stack !== 'string') return escapeLogText(head);
  // The message, which may hold what a client sent, stays on its line; the frames keep theirs.
  return stack.startsWith(head) ? escapeLogText(head) + indentedLines(stack.slice(head.length)) : indentedLines(stack);
}

function format(value: unknown): string {
  if (value instanceof Error) return formatError(value);
  if (typeof value === 'string') return escapeLogText(value);
  try {
    return escapeLogText(JSON.stringify(value) ?? String(value));
  } catch {
    return escapeLogText(String(value));
  }
}

/** Fields of a structured entry: the first Error as `err`, other values as `details`. */
function fieldsOf(stage: string, rest: unknown[]): { stage: string; err?: Error; details?: unknown[] } {
  const fields: { stage: string; err?: Error; details?: unknown[] } = { stage };
  for (const value of rest) {
    if (value instanceof Error && fields.err === undefined) fields.err = value;
    else (fields.details ??= []).push(value instanceof Error ? errorFields(value) : value);
  }
  return fields;
}

function errorFields(err: Error): Record<string, unknown> {
  const out: Record<string, unknown> = { name: err.name, message: err.message };
  const code = (err as { code?: unknown }).code;
  if (code !== undefined) out.code = code;
  if (typeof err.stack === 'string') out.stack = err.stack;
  return out;
}

// JSON.stringify leaves U+2028 and U+2029 as they are; some readers take them for line ends.
const SEPARATORS = /[\u2028\u2029]/g;

function jsonLine(level: LogLevel, stage: string, message: string, rest: unknown[]): string {
  const { err, details } = fieldsOf(stage, rest);
  const entry: Record<string, unknown> = { time: new Date().toISOString(), level, stage, message };
  if (err !== undefined) entry.error = errorFields(err);
  if (details !== undefined) entry.details = details;
  let line: string;
  try {
    line = JSON.stringify(entry);
  } catch {
    entry.details = details?.map((d) => String(d));
    line = JSON.stringify(entry);
  }
  return line.replace(SEPARATORS, (c) => (c === '\u2028' ? '\\u2028' : '\\u2029'));
}

export function createLogger(stage: string): Logger {
  const write = (level: LogLevel, message: string, rest: unknown[]) => {
    if (ORDER[level] < threshold) return;
    if (target !== null) {
      target[level as Exclude<LogLevel, 'silent'>](fieldsOf(stage, rest), String(message));
      return;
    }
    if (json) {
      sink(jsonLine(level, stage, String(message), rest));
      return;
    }
    const extra = rest.length ? ' ' + rest.map(format).join(' ') : '';
    sink(`${new Date().toISOString()} ${level.toUpperCase()} [${stage}] ${escapeLogText(String(message))}${extra}`);
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
let epoch = 0;

/**
 * Sets how long a RepeatedLog gathers repeats of a kind into one count line (tests shorten it).
 * The windows open now are let go: the next line of every kind is written at once.
 */
export function setLogRepeatWindow(ms: number): number {
  const prev = repeatWindowMs;
  repeatWindowMs = ms;
  epoch++;
  return prev;
}

interface Pending {
  count: number;
  epoch: number;
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
    if (pending !== undefined && pending.epoch === epoch) {
      pending.count++;
      return;
    }
    this.log[this.level](message);
    this.open(kind);
  }

  private open(kind: string): void {
    const windowMs = repeatWindowMs;
    const pending: Pending = { count: 0, epoch };
    this.kinds.set(kind, pending);
    setTimeout(() => {
      if (this.kinds.get(kind) !== pending) return; // let go by setLogRepeatWindow()
      this.kinds.delete(kind);
      if (pending.count === 0) return;
      this.log[this.level](`${kind}: ${pending.count} more in the last ${formatWindow(windowMs)}`);
      this.open(kind); // a flood that goes on gets one count line per window
    }, windowMs).unref();
  }
}

function formatWindow(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
