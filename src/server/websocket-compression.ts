// permessage-deflate (RFC 7692) for WebSockets, off unless asked for: the option's checks and
// the settings handed to ws, which negotiates the extension and does the compressing itself.
// A socket that negotiated it sends through ws.send (websocket-connection.ts); the others keep
// the shared-frame path of frame-writer.ts.
import { InvalidOptionError } from '../errors.ts';

export interface WebsocketCompressionOptions {
  /** Messages smaller than this (bytes) are sent uncompressed. @default 1024 */
  threshold?: number;
  /** zlib compression level, 0 (none) to 9 (smallest, slowest). @default 1 */
  level?: number;
  /** zlib memLevel, 1–9: the compressor's memory (its hash table: 2^(memLevel+9) bytes). @default 8 */
  memLevel?: number;
  /** The server's compressor starts afresh for every message, keeping no window between them. @default true */
  serverNoContextTakeover?: boolean;
  /** Asks the client to do the same (so the server's decompressor keeps no window). @default true */
  clientNoContextTakeover?: boolean;
}

export type ResolvedWebsocketCompression = Required<WebsocketCompressionOptions>;

const DEFAULTS: ResolvedWebsocketCompression = Object.freeze({
  threshold: 1024,
  level: 1,
  memLevel: 8,
  serverNoContextTakeover: true,
  clientNoContextTakeover: true,
});

const RANGES: Record<'threshold' | 'level' | 'memLevel', [number, number]> = {
  threshold: [0, Number.MAX_SAFE_INTEGER],
  level: [0, 9],
  memLevel: [1, 9],
};

/** `websocketCompression`: false (off), true (the defaults) or settings; throws InvalidOptionError. */
export function checkWebsocketCompression(value: unknown): false | ResolvedWebsocketCompression {
  if (value === false || value === undefined) return false;
  if (value === true) return DEFAULTS;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionError(
      `server option 'websocketCompression' must be false, true or { threshold, level, memLevel, ` +
        `serverNoContextTakeover, clientNoContextTakeover }, not ${String(value)}`,
    );
  }
  const out = { ...DEFAULTS };
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    if (key === 'threshold' || key === 'level' || key === 'memLevel') {
      const [min, max] = RANGES[key];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
        throw new InvalidOptionError(
          `server option 'websocketCompression.${key}' must be a whole number from ${min}` +
            `${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}, not ${String(v)}`,
        );
      }
      out[key] = v;
    } else if (key === 'serverNoContextTakeover' || key === 'clientNoContextTakeover') {
      if (typeof v !== 'boolean') {
        throw new InvalidOptionError(
          `server option 'websocketCompression.${key}' must be true or false, not ${String(v)}`,
        );
      }
      out[key] = v;
    } else {
      throw new InvalidOptionError(
        `unknown option 'websocketCompression.${key}'; known: ${Object.keys(DEFAULTS).join(', ')}`,
      );
    }
  }
  return Object.freeze(out);
}

/** ws's `perMessageDeflate` server settings for resolved compression options. */
export function perMessageDeflateFor(c: ResolvedWebsocketCompression): Record<string, unknown> {
  return {
    threshold: c.threshold,
    serverNoContextTakeover: c.serverNoContextTakeover,
    clientNoContextTakeover: c.clientNoContextTakeover,
    zlibDeflateOptions: { level: c.level, memLevel: c.memLevel },
    // ws runs at most this many zlib jobs at once, process-wide (libuv's pool has 4 threads):
    // a broadcast to thousands of compressing sockets queues instead of fragmenting memory.
    concurrencyLimit: 10,
  };
}

// The parts of ws's permessage-deflate extension object (ws 8) that releaseZlibBetweenMessages
// reaches; they are not ws's public API, so each is checked before use.
type Done = (err: Error | null, data?: Buffer) => void;
interface DeflateExtension {
  params: Record<string, unknown> | null;
  _deflate: { close(): void } | null;
  _inflate: { close(): void } | null;
  compress(data: unknown, fin: boolean, done: Done): void;
  decompress(data: Buffer, fin: boolean, done: Done): void;
}

/**
 * Without context takeover nothing is carried from one message to the next, but ws keeps a
 * socket's zlib streams (≈300 KB with zlib's defaults: a 32 KB window, the compressor's tables)
 * from its first compressed message until it closes. This closes them after each whole message,
 * so an idle socket holds none and a new one is made for the next message; a side that takes
 * its context over keeps its stream, as it must. The extension's own compress/decompress still
 * do the work; this only wraps their callbacks (before they go on to the next message).
 */
export function releaseZlibBetweenMessages(ws: object): void {
  const ext = (ws as { _extensions?: Record<string, DeflateExtension | undefined> })._extensions?.[
    'permessage-deflate'
  ];
  if (
    ext === undefined ||
    ext.params === null ||
    typeof ext.compress !== 'function' ||
    typeof ext.decompress !== 'function' ||
    !('_deflate' in ext && '_inflate' in ext)
  ) {
    return;
  }
  if (ext.params.server_no_context_takeover === true) {
    const compress = ext.compress;
    ext.compress = function (data, fin, done) {
      compress.call(this, data, fin, (err, out) => {
        if (fin && this._deflate !== null) {
          this._deflate.close();
          this._deflate = null;
        }
        done(err, out);
      });
    };
  }
  if (ext.params.client_no_context_takeover === true) {
    const decompress = ext.decompress;
    ext.decompress = function (data, fin, done) {
      decompress.call(this, data, fin, (err, out) => {
        if (fin && this._inflate !== null) {
          this._inflate.close();
          this._inflate = null;
        }
        done(err, out);
      });
    };
  }
}
