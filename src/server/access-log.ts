// The access log: one line per HTTP response, in the common log format web servers use (the
// last field is the time taken, in seconds), and one per WebSocket connect, reject and
// disconnect, as Daphne writes them:
//   127.0.0.1:54321 - - [22/Nov/2026:12:00:00 +0000] "GET /path?q=1 HTTP/1.1" 200 11 0.003
//   WSCONNECT /ws/chat/ 127.0.0.1:54321
//   WSREJECT /ws/chat/ 127.0.0.1:54321 403
//   WSDISCONNECT /ws/chat/ 127.0.0.1:54321 1000
// Paths are written as received (raw_path), so a decoded CR/LF can never split a line, and
// what node lets through of the rest (bytes 0x80–0xff, read as latin1: C1 controls among them)
// is escaped as the logger escapes it.
import { createWriteStream, openSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { HttpScope, WebsocketScope } from '../asgi/types.ts';
import { InvalidOptionError } from '../errors.ts';
import { escapeLogText } from '../logging.ts';
import type { AccessLog } from './context.ts';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

function timestamp(d = new Date()): string {
  const day = `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}`;
  return `${day}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

function peer(scope: HttpScope | WebsocketScope): string {
  return scope.client ? `${scope.client[0]}:${scope.client[1]}` : '-';
}

function target(scope: HttpScope | WebsocketScope): string {
  const path = scope.raw_path.toString('latin1');
  return escapeLogText(scope.query_string.length ? `${path}?${scope.query_string.toString('latin1')}` : path);
}

export interface OwnedAccessLog extends AccessLog {
  /** Flushes, and closes the file when the log opened one (a given stream is left open). */
  close(): Promise<void>;
}

/** Opens a file destination at once, so a bad path fails when the server is made. */
function openFile(path: string): Writable {
  let fd: number;
  try {
    fd = openSync(path, 'a');
  } catch (err) {
    throw new InvalidOptionError(
      `server option 'accessLog': cannot open ${JSON.stringify(path)} for appending (${(err as Error).message})`,
    );
  }
  return createWriteStream('', { fd });
}

export function createAccessLog(destination: false | 'stdout' | string | Writable): OwnedAccessLog | null {
  if (destination === false) return null;
  if (typeof destination !== 'string' && typeof (destination as Writable | null)?.write !== 'function') {
    throw new InvalidOptionError(
      `server option 'accessLog' must be false, 'stdout', a file path or a writable stream, not ${String(destination)}`,
    );
  }
  const owned = typeof destination === 'string' && destination !== 'stdout' && destination !== '-';
  const out: Writable = owned ? openFile(destination) : typeof destination === 'string' ? process.stdout : destination;
  const line = (s: string) => out.write(s + '\n');
  return {
    close: () => (owned ? new Promise<void>((resolve) => out.end(resolve)) : Promise.resolve()),
    http(scope, status, bytes, durationMs) {
      line(
        `${peer(scope)} - - [${timestamp()}] "${scope.method} ${target(scope)} HTTP/${scope.http_version}" ` +
          `${status} ${bytes} ${(durationMs / 1000).toFixed(3)}`,
      );
    },
    websocket(event, scope, detail = {}) {
      const where = `${escapeLogText(scope.raw_path.toString('latin1'))} ${peer(scope)}`;
      if (event === 'connect') line(`WSCONNECT ${where}`);
      else if (event === 'reject') line(`WSREJECT ${where} ${detail.status ?? 403}`);
      else line(`WSDISCONNECT ${where} ${detail.code ?? 1005}`);
    },
  };
}
