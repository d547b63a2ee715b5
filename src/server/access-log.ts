// The access log, in the format web servers (and Daphne) use: one line per HTTP response and
// per WebSocket connect, reject and disconnect.
//   127.0.0.1:54321 - - [22/Nov/2026:12:00:00 +0000] "GET /path HTTP/1.1" 200 11 0.003
//   127.0.0.1:54321 - - [22/Nov/2026:12:00:00 +0000] "WSCONNECT /ws/chat/" - -
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import type { HttpScope, WebsocketScope } from '../asgi/types.js';
import type { AccessLog } from './context.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

function timestamp(d = new Date()): string {
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

function peer(scope: HttpScope | WebsocketScope): string {
  return scope.client ? `${scope.client[0]}:${scope.client[1]}` : '-';
}

function target(scope: HttpScope | WebsocketScope): string {
  return scope.query_string.length ? `${scope.raw_path.toString('latin1')}?${scope.query_string.toString('latin1')}` : scope.raw_path.toString('latin1');
}

export function createAccessLog(destination: false | 'stdout' | string | Writable): AccessLog | null {
  if (destination === false) return null;
  const out: Writable =
    destination === 'stdout' || destination === '-' ? process.stdout : typeof destination === 'string' ? createWriteStream(destination, { flags: 'a' }) : destination;
  const line = (s: string) => out.write(s + '\n');
  return {
    http(scope, status, bytes, durationMs) {
      line(`${peer(scope)} - - [${timestamp()}] "${scope.method} ${target(scope)} HTTP/${scope.http_version}" ${status} ${bytes} ${(durationMs / 1000).toFixed(3)}`);
    },
    websocket(event, scope, detail = {}) {
      const what = event === 'connect' ? 'WSCONNECT' : event === 'reject' ? 'WSREJECT' : 'WSDISCONNECT';
      const code = event === 'reject' ? (detail.status ?? 403) : event === 'disconnect' ? (detail.code ?? '-') : '-';
      const took = detail.durationMs !== undefined ? (detail.durationMs / 1000).toFixed(3) : '-';
      line(`${peer(scope)} - - [${timestamp()}] "${what} ${target(scope)}" ${code} ${took}`);
    },
  };
}
