// One walk over a layer message that checks it can cross any backend (JSON/msgpack-safe) and
// measures its msgpack size (the smallest encoding, as Python's msgpack writes it), optionally
// making the copy a receiver will get (frozen, for a copy shared by several receivers). The
// error names the path of the bad value, e.g. `message.items[3] is undefined`.
import { InvalidMessageError, MessageTooLargeError } from '../errors.ts';

const INT64_MIN = -(2n ** 63n);
/**
 * Arrays and objects nested deeper than this are refused: Python's msgpack packs no deeper
 * (its Packer's default nest limit), and a walk without a bound would overflow the stack.
 */
export const MAX_NESTING = 511;
const UINT64_MAX = 2n ** 64n - 1n;

/** How much of a copy the walk makes: none, a fresh deep copy, or a deep-frozen one. */
export type CopyMode = false | true | 'frozen';

function utf8Length(s: string): number {
  if (s.length >= 64) return Buffer.byteLength(s, 'utf8');
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4; // a surrogate pair; a lone surrogate is written as U+FFFD (3 bytes)
      i++;
    } else n += 3;
  }
  return n;
}

function strSize(s: string): number {
  const n = utf8Length(s);
  return n + (n < 32 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5);
}

function intSize(v: number | bigint): number {
  if (v >= 0) return v < 128 ? 1 : v < 256 ? 2 : v < 65536 ? 3 : v <= 0xffffffff ? 5 : 9;
  return v >= -32 ? 1 : v >= -128 ? 2 : v >= -32768 ? 3 : v >= -0x80000000 ? 5 : 9;
}

function containerHeader(n: number, fix: number): number {
  return n < fix ? 1 : n < 65536 ? 3 : 5;
}

class Walker {
  size = 0;
  private readonly seen: object[] = [];
  private readonly copy: boolean;
  private readonly freeze: boolean;
  declare private readonly op: string;
  constructor(mode: CopyMode, op: string) {
    this.op = op;
    this.copy = mode !== false;
    this.freeze = mode === 'frozen';
  }

  fail(path: string, what: string): never {
    throw new InvalidMessageError(
      `${this.op}: ${path} ${what}; layer messages hold only null, booleans, finite numbers, strings, bytes, ` +
        'arrays and plain objects',
    );
  }

  walk(value: unknown, path: string, depth = 0): unknown {
    switch (typeof value) {
      case 'string':
        this.size += strSize(value);
        return value;
      case 'number':
        if (!Number.isFinite(value)) this.fail(path, `is ${value}`);
        this.size += Number.isInteger(value) && value >= -(2 ** 63) && value < 2 ** 64 ? intSize(value) : 9;
        return value;
      case 'boolean':
        this.size += 1;
        return value;
      case 'bigint':
        if (value < INT64_MIN || value > UINT64_MAX) this.fail(path, `is ${value}n, beyond 64 bits (int64/uint64)`);
        this.size += intSize(value);
        return value;
      case 'undefined':
        return this.fail(path, 'is undefined');
      case 'function':
        return this.fail(path, 'is a function');
      case 'symbol':
        return this.fail(path, 'is a symbol');
      default:
        break;
    }
    if (value === null) {
      this.size += 1;
      return null;
    }
    if (value instanceof Uint8Array) {
      const n = value.length;
      this.size += n + (n < 256 ? 2 : n < 65536 ? 3 : 5);
      // Bytes cannot be frozen; a shared group copy still gets its own buffer, apart from the sender's.
      return this.copy ? Buffer.from(value) : value;
    }
    const obj = value as object;
    if (depth >= MAX_NESTING) {
      const where = path.length > 80 ? `${path.slice(0, 80)}…` : path;
      throw new InvalidMessageError(
        `${this.op}: ${where} is nested ${depth + 1} levels deep, past the ${MAX_NESTING} a layer message may have; ` +
          'flatten it, or send a reference (an id) instead',
      );
    }
    // `seen` holds only the current path, so a value shared by two branches is fine; a cycle is not.
    if (this.seen.includes(obj)) this.fail(path, 'refers back to itself (a cycle)');
    this.seen.push(obj);
    let out: unknown;
    if (Array.isArray(obj)) {
      this.size += containerHeader(obj.length, 16);
      const arr = this.copy ? new Array(obj.length) : null;
      for (let i = 0; i < obj.length; i++) {
        const v = this.walk(obj[i], `${path}[${i}]`, depth + 1);
        if (arr) arr[i] = v;
      }
      out = arr ?? obj;
    } else {
      const proto = Object.getPrototypeOf(obj);
      if (proto !== Object.prototype && proto !== null)
        this.fail(path, `is a ${proto?.constructor?.name ?? 'non-plain object'}`);
      const o: Record<string, unknown> | null = this.copy ? {} : null;
      let keys = 0;
      for (const key in obj) {
        const v = (obj as Record<string, unknown>)[key];
        if (v === undefined) continue; // as JSON: an absent value
        keys++;
        this.size += strSize(key);
        const w = this.walk(v, `${path}.${key}`, depth + 1);
        if (!o) continue;
        // An own '__proto__' key (from JSON.parse) must stay a key, not become the copy's prototype.
        if (key === '__proto__')
          Object.defineProperty(o, key, { value: w, enumerable: true, writable: true, configurable: true });
        else o[key] = w;
      }
      this.size += containerHeader(keys, 16);
      out = o ?? obj;
    }
    this.seen.pop();
    return this.freeze ? Object.freeze(out) : out;
  }
}

/**
 * Checks `message` and returns its msgpack size (and a deep copy when asked; `'frozen'` freezes
 * every object and array of the copy). Throws InvalidMessageError or MessageTooLargeError;
 * nothing is sent when it throws. `op` names the call in the error ('send', 'groupSend').
 */
export function inspectMessage<T>(message: T, maxBytes: number, op: string, copy: CopyMode): { size: number; copy: T } {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) {
    throw new InvalidMessageError(
      `${op}: a layer message must be a plain object with a string 'type', ` +
        `not ${Array.isArray(message) ? 'an array' : String(message)}`,
    );
  }
  const type = (message as { type?: unknown }).type;
  if (typeof type !== 'string' || type === '') {
    throw new InvalidMessageError(
      `${op}: a layer message needs a non-empty string 'type' (e.g. 'chat.message'), ` +
        `got ${JSON.stringify(type) ?? String(type)}`,
    );
  }
  const w = new Walker(copy, op);
  const out = w.walk(message, 'message') as T;
  if (maxBytes > 0 && w.size > maxBytes) {
    throw new MessageTooLargeError(
      `${op}: message of type '${type}' is ${w.size} bytes encoded, over the layer's maxMessageBytes (${maxBytes}); ` +
        'send a reference (an id, a URL) instead, or raise maxMessageBytes',
    );
  }
  return { size: w.size, copy: out };
}

/** Checks `message` without copying it; returns its msgpack size. */
export function checkMessage(message: unknown, maxBytes: number, op: string): number {
  return inspectMessage(message, maxBytes, op, false).size;
}
