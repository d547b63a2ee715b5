// What the interface server's parts share: the app, resolved options, logging, live
// connections (for graceful shutdown), counters, and the state one server's parts keep.
import type { WebSocketServer } from 'ws';
import type { Application, HttpScope, WebsocketScope } from '../asgi/types.ts';
import type { Logger, RepeatedLog } from '../logging.ts';
import type { InFlightList, InFlightMember } from './in-flight-list.ts';
import type { ResolvedServerOptions } from './options.ts';
import type { ProxyHeaders } from './proxy-headers.ts';
import type { KeepaliveSweep } from './websocket-keepalive.ts';

export interface AccessLog {
  /** One line per finished HTTP response (or cut one). */
  http(scope: HttpScope, status: number, bytes: number, durationMs: number): void;
  /** WebSocket lines: handshake accepted, handshake rejected (with HTTP status), connection closed. */
  websocket(
    event: 'connect' | 'reject' | 'disconnect',
    scope: WebsocketScope,
    detail?: { status?: number; code?: number; durationMs?: number },
  ): void;
}

/** A connection the server can ask to wind down on shutdown. */
export interface LiveConnection {
  /** Begin closing for a server shutdown (WebSocket: close 1012; HTTP: finish, then close). */
  shutdown(): void;
  /** Resolves when the connection and its app instance are done. */
  readonly done: Promise<void>;
}

export interface ServerStats {
  httpRequests: number;
  websocketsOpen: number;
  websocketsTotal: number;
  /** WebSockets closed with 1008 because the client did not read (maxBufferedBytes). */
  slowClientsClosed: number;
  /** App instances that raised. */
  appErrors: number;
  /** Requests or frames refused as malformed or over a limit. */
  rejected: number;
  /** HTTP responses by status class (WebSocket handshakes are counted apart). */
  httpResponses1xx: number;
  httpResponses2xx: number;
  httpResponses3xx: number;
  httpResponses4xx: number;
  httpResponses5xx: number;
  /** WebSocket handshakes refused: by the app (close or denial response), the server (503, a bad handshake). */
  websocketsRefused: number;
  /** WebSocket messages and their payload bytes, from clients (in) and to them (out). */
  websocketMessagesIn: number;
  websocketMessagesOut: number;
  websocketBytesIn: number;
  websocketBytesOut: number;
}

/** Counts one HTTP response by its status class (a status past 599 is not counted). */
export function countResponse(stats: ServerStats, status: number): void {
  if (status < 200) stats.httpResponses1xx++;
  else if (status < 300) stats.httpResponses2xx++;
  else if (status < 400) stats.httpResponses3xx++;
  else if (status < 500) stats.httpResponses4xx++;
  else if (status < 600) stats.httpResponses5xx++;
}

export interface ServerContext {
  readonly app: Application;
  readonly options: ResolvedServerOptions;
  /** Trusted proxies and what to take from their headers; null when proxyHeaders is off. */
  readonly proxy: ProxyHeaders | null;
  readonly log: Logger;
  /** Lines that could come once per connection, logged once with a count of their repeats. */
  readonly repeated: { readonly info: RepeatedLog; readonly warn: RepeatedLog };
  readonly accessLog: AccessLog | null;
  /** Lifespan state from startup, shallow-copied into every connection scope; null when the app has no lifespan. */
  lifespanState: Record<string, unknown> | null;
  readonly websockets: Set<LiveConnection>;
  readonly httpInFlight: InFlightList<LiveConnection & InFlightMember>;
  readonly stats: ServerStats;
  shuttingDown: boolean;
  /** The `ws` server that completes accepted handshakes; made at the first one. */
  websocketServer: WebSocketServer | null;
  /** The keepalive sweep over open WebSockets; there only while one is open. */
  keepaliveSweep: KeepaliveSweep | null;
  /**
   * Told how long each WebSocket handshake answered by the app took (seconds) and whether it
   * was accepted; set by the metrics (src/metrics/), null otherwise.
   */
  handshakeObserver: ((seconds: number, accepted: boolean) => void) | null;
}
