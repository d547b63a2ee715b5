// One walk over a layer message that checks it can cross any backend (JSON/msgpack-safe) and
// measures its msgpack size, optionally making the copy a receiver will get. The error names
// the path of the bad value, e.g. `message.items[3] is undefined`.
import { InvalidMessageError, MessageTooLargeError } from '../errors.js';

const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

function strSize(s: string): number {
  const n = s.length < 64 ? byteLengthSmall(s) : Buffer.byteLength(s, 'utf8');
  return n + (n < 32 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5);
}

function byteLengthSmall(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c <= 0xdbff ? (i++, 4) : 3;
  }
  return n;
}

class Walker {
  size = 0;
  private readonly seen: object[] = [];
  constructor(
    private readonly copy: boolean,
    private readonly op: string,
  ) {}

  fail(path: string, what: string): never {
    throw new InvalidMessageError(`${this.op}: ${path} ${what}; layer messages hold only null, booleans, finite numbers, strings, bytes, arrays and plain objects`);
  }

  walk(value: unknown, path: string): unknown {
    switch (typeof value) {
      case 'string':
        this.size += strSize(value);
        return value;
      case 'number':
        if (!Number.isFinite(value)) this.fail(path, `is ${value}`);
        this.size += 9;
        return value;
      case 'boolean':
        this.size += 1;
        return value;
      case 'bigint':
        if (value < INT64_MIN || value > UINT64_MAX) this.fail(path, `is ${value}n, beyond 64 bits`);
        this.size += 9;
        return value;
      case 'undefined':
        this.fail(path, 'is undefined');
      // falls through (fail never returns)
      case 'function':
        this.fail(path, 'is a function');
      // falls through
      case 'symbol':
        this.fail(path, 'is a symbol');
      // falls through
      default:
        break;
    }
    if (value === null) {
      this.size += 1;
      return null;
    }
    if (value instanceof Uint8Array) {
      this.size += value.length + 5;
      return this.copy ? Buffer.from(value) : value;
    }
    const obj = value as object;
    if (this.seen.includes(obj)) this.fail(path, 'refers back to itself (a cycle)');
    this.seen.push(obj);
    let out: unknown;
    if (Array.isArray(obj)) {
      this.size += 5;
      const arr = this.copy ? new Array(obj.length) : null;
      for (let i = 0; i < obj.length; i++) {
        const v = this.walk(obj[i], `${path}[${i}]`);
        if (arr) arr[i] = v;
      }
      out = arr ?? obj;
    } else {
      const proto = Object.getPrototypeOf(obj);
      if (proto !== Object.prototype && proto !== null) this.fail(path, `is a ${proto?.constructor?.name ?? 'non-plain object'}`);
      this.size += 5;
      const o: Record<string, unknown> | null = this.copy ? {} : null;
      for (const key in obj) {
        const v = (obj as Record<string, unknown>)[key];
        if (v === undefined) continue; // as JSON: an absent value
        this.size += strSize(key);
        const w = this.walk(v, `${path}.${key}`);
        if (o) o[key] = w;
      }
      out = o ?? obj;
    }
    this.seen.pop();
    return out;
  }
}

/**
 * Checks `message` and returns its approximate msgpack size (and a deep copy when asked).
 * Throws InvalidMessageError or MessageTooLargeError; nothing is sent when it throws.
 */
export function inspectMessage<T>(message: T, maxBytes: number, op: string, copy: boolean): { size: number; copy: T } {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) {
    throw new InvalidMessageError(`${op}: a layer message must be a plain object with a string 'type', not ${Array.isArray(message) ? 'an array' : String(message)}`);
  }
  const type = (message as { type?: unknown }).type;
  if (typeof type !== 'string' || type === '') {
    throw new InvalidMessageError(`${op}: a layer message needs a non-empty string 'type' (e.g. 'chat.message'), got ${JSON.stringify(type) ?? String(type)}`);
  }
  const w = new Walker(copy, op);
  const out = w.walk(message, 'message') as T;
  if (maxBytes > 0 && w.size > maxBytes) {
    throw new MessageTooLargeError(`${op}: message of type '${type}' is about ${w.size} bytes encoded, over the layer's maxMessageBytes (${maxBytes}); send a reference (an id, a URL) instead, or raise maxMessageBytes`);
  }
  return { size: w.size, copy: out };
}

export function checkMessage(message: unknown, maxBytes: number, op: string): number {
  return inspectMessage(message, maxBytes, op, false).size;
}
