// Checks of the events an app sends, shared by the HTTP and WebSocket sides. Each failure is an
// InvalidEventError naming the key, the value and what is allowed. Extra keys are ignored.
import type { HeaderInput } from '../asgi/types.ts';
import { InvalidEventError } from '../errors.ts';

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? value.slice(0, 60) + '…' : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (Buffer.isBuffer(value)) return `<Buffer ${value.length} bytes>`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export function invalid(eventType: string, key: string, value: unknown, expected: string): InvalidEventError {
  return new InvalidEventError(`${eventType}: '${key}' must be ${expected}, not ${show(value)}`);
}

export function checkStatus(eventType: string, status: unknown): number {
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 999) {
    throw invalid(eventType, 'status', status, 'a whole number from 100 to 999');
  }
  return status;
}

function headerText(eventType: string, part: unknown, what: string): string {
  if (typeof part === 'string') return part;
  if (part instanceof Uint8Array) return Buffer.from(part.buffer, part.byteOffset, part.byteLength).toString('latin1');
  throw invalid(eventType, `headers (${what})`, part, 'bytes or a string');
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\r\n\0]/;

// Apps tend to send the same header list with every response (a constant, a default): the
// checked, flat form of the last few lists is kept, and used again for the same list object
// while each of its pairs still holds the same two strings. Lists of strings only (bytes can
// change in place); the flat form is read-only (the server passes it on and never writes to it).
const RECENT = 8;
const recentLists: unknown[] = new Array(RECENT).fill(null);
const recentFlat: string[][] = new Array(RECENT).fill(null);
let recentNext = 0;
const NO_HEADERS: string[] = [];

function checkedBefore(headers: unknown[]): string[] | undefined {
  for (let r = 0; r < RECENT; r++) {
    if (recentLists[r] !== headers) continue;
    const flat = recentFlat[r]!;
    let same = flat.length === 2 * headers.length;
    for (let i = 0; same && i < headers.length; i++) {
      const pair = headers[i] as unknown[];
      same = Array.isArray(pair) && pair.length === 2 && pair[0] === flat[2 * i] && pair[1] === flat[2 * i + 1];
    }
    if (same) return flat;
    recentLists[r] = null; // changed since: checked again, and kept anew
    return undefined;
  }
  return undefined;
}

/** Headers from an event as a flat [name, value, name, value, …] list of latin1 strings (read-only). */
export function flatHeaders(eventType: string, headers: HeaderInput | undefined): string[] {
  if (headers === undefined || headers === null) return NO_HEADERS;
  if (Array.isArray(headers)) {
    const flat = checkedBefore(headers);
    if (flat !== undefined) return flat;
  }
  const out: string[] = [];
  let strings = true;
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw invalid(eventType, 'headers', headers, 'a list of [name, value] pairs');
  }
  for (const pair of headers) {
    if (!Array.isArray(pair) || pair.length !== 2) throw invalid(eventType, 'headers', pair, 'a [name, value] pair');
    if (typeof pair[0] !== 'string' || typeof pair[1] !== 'string') strings = false;
    const name = headerText(eventType, pair[0], 'name');
    const value = headerText(eventType, pair[1], 'value');
    if (!TOKEN.test(name)) throw invalid(eventType, 'headers (name)', name, 'an HTTP token');
    if (BAD_VALUE.test(value)) throw invalid(eventType, `headers (value of ${name})`, value, 'free of CR, LF and NUL');
    out.push(name, value);
  }
  if (strings && Array.isArray(headers)) {
    recentLists[recentNext] = headers;
    recentFlat[recentNext] = out;
    recentNext = (recentNext + 1) % RECENT;
  }
  return out;
}

/** A body from an event as bytes or a string (strings are written as UTF-8). */
export function checkBody(eventType: string, body: unknown): Uint8Array | string | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  throw invalid(eventType, 'body', body, 'bytes (Buffer/Uint8Array) or a string');
}

export function checkBool(eventType: string, key: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw invalid(eventType, key, value, 'true or false');
  return value;
}
