// Interface server options: one object, every default documented here and in docs/server.md,
// checked when the server is made (never at first use). Durations in milliseconds, sizes in bytes.
import type { Writable } from 'node:stream';
import type { Server } from 'node:http';
import { InvalidOptionError } from '../errors.ts';
import { checkListenTargets, type ListenTarget } from './listeners.ts';
import { checkTlsOptions, tlsTransport, type TlsOptions } from './tls.ts';
import { http2Transport } from './http2.ts';
import { httpTransport, type Transport, type TransportServer } from './transport.ts';
import { proxyHeadersFrom, type ProxyHeadersOptions } from './proxy-headers.ts';
import {
  checkWebsocketCompression,
  type ResolvedWebsocketCompression,
  type WebsocketCompressionOptions,
} from './websocket-compression.ts';

export interface ServerOptions<S extends TransportServer = Server> {
  /** @default '127.0.0.1' */
  host?: string;
  /** @default 8000 (0 picks a free port) */
  port?: number;
  /** Path prefix the app is mounted under; copied into `scope.root_path`. @default '' */
  rootPath?: string;
  /** Largest WebSocket message accepted; a larger one closes the socket with 1009. @default 1 MiB */
  websocketMaxMessageBytes?: number;
  /**
   * Time the app has to answer `websocket.connect` (accept, close or a denial response); then
   * 503 and the app hears a disconnect. @default 5000
   */
  websocketHandshakeTimeoutMs?: number;
  /** Ping every this often on an idle WebSocket; 0 turns keepalive off. @default 20000 */
  pingIntervalMs?: number;
  /** Close a WebSocket (1011 is not sent: the peer is gone) when no pong came for this long. @default 30000 */
  pingTimeoutMs?: number;
  /** Close a WebSocket with 1000 after this long, whatever it does; 0 = no limit. @default 86_400_000 */
  websocketMaxLifetimeMs?: number;
  /** An HTTP response not finished after this long is cut (503 if not started); 0 = no limit. @default 0 */
  httpResponseTimeoutMs?: number;
  /** After a connection ends, time the app has to return before it is abandoned (logged). @default 10000 */
  applicationCloseTimeoutMs?: number;
  /** Request bodies larger than this get 413; 0 = no limit. @default 10 MiB */
  maxRequestBodyBytes?: number;
  /** Requests with more header lines get 431. @default 100 */
  maxHeaderCount?: number;
  /** Total size of the request head; larger gets 431. @default 16 KiB */
  maxHeaderBytes?: number;
  /** Unsent outgoing bytes one WebSocket may hold; past it the client is closed with 1008. @default 4 MiB */
  maxBufferedBytes?: number;
  /** On shutdown, time in-flight HTTP responses have to finish. @default 10000 */
  drainTimeoutMs?: number;
  /** Keep-alive idle timeout of HTTP connections. @default 5000 */
  keepAliveTimeoutMs?: number;
  /**
   * Time a client has from opening a connection (or starting its next request) to the end of
   * the request head; then 408 and the connection is closed (slow-header attacks); 0 = no limit.
   * @default 60000
   */
  headersTimeoutMs?: number;
  /**
   * Open connections (HTTP and WebSocket) past which new ones are closed at once, logged at
   * warn level once per 5 s with a count; 0 = no limit. @default 10000
   */
  maxConnections?: number;
  /** Access log: off (false), 'stdout', a file path, or a stream. @default false */
  accessLog?: false | 'stdout' | string | Writable;
  /**
   * Makes the listening server from the node:http options Canal sets (docs/server.md,
   * Transports), e.g. `(o) => https.createServer({ ...o, key, cert })` for TLS.
   * @default node:http createServer
   */
  transport?: Transport<S>;
  /**
   * Behind a reverse proxy: take the client address and scheme (and, opted in, the host) from
   * X-Forwarded-* or Forwarded when the peer is trusted (docs/deploying.md). `true` trusts
   * 127.0.0.1 and ::1. @default false
   */
  proxyHeaders?: boolean | ProxyHeadersOptions;
  /**
   * Serve HTTPS and WSS (node:https): `{ key, cert, passphrase?, ca?, clientCert? }`, PEM text.
   * Scopes carry `extensions.tls`. Not with `transport`. @default none
   */
  tls?: TlsOptions;
  /**
   * Where to listen, in place of host and port: TCP addresses, unix sockets and inherited
   * descriptors, all served by this one server. @default [{ host, port }]
   */
  listen?: ListenTarget[];
  /**
   * HTTP/2 (node:http2): with `tls`, h2 or HTTP/1.1 by ALPN on the same port (WebSocket stays
   * HTTP/1.1); without, cleartext HTTP/2 only (h2c, prior knowledge). Not with `transport`. @default false
   */
  http2?: boolean;
  /**
   * permessage-deflate on WebSockets whose client offers it: `true` for the defaults or
   * `{ threshold, level, memLevel, serverNoContextTakeover, clientNoContextTakeover }`
   * (docs/server.md, WebSocket compression). @default false
   */
  websocketCompression?: boolean | WebsocketCompressionOptions;
}

export type ResolvedServerOptions = Required<
  Omit<ServerOptions<TransportServer>, 'accessLog' | 'tls' | 'websocketCompression'>
> & {
  accessLog: false | 'stdout' | string | Writable;
  tls: TlsOptions | null;
  websocketCompression: false | ResolvedWebsocketCompression;
};

export const DEFAULT_SERVER_OPTIONS: ResolvedServerOptions = Object.freeze({
  host: '127.0.0.1',
  port: 8000,
  rootPath: '',
  websocketMaxMessageBytes: 1024 * 1024,
  websocketHandshakeTimeoutMs: 5000,
  pingIntervalMs: 20_000,
  pingTimeoutMs: 30_000,
  websocketMaxLifetimeMs: 86_400_000,
  httpResponseTimeoutMs: 0,
  applicationCloseTimeoutMs: 10_000,
  maxRequestBodyBytes: 10 * 1024 * 1024,
  maxHeaderCount: 100,
  maxHeaderBytes: 16 * 1024,
  maxBufferedBytes: 4 * 1024 * 1024,
  drainTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5000,
  headersTimeoutMs: 60_000,
  maxConnections: 10_000,
  accessLog: false,
  transport: httpTransport,
  proxyHeaders: false,
  tls: null,
  listen: [],
  http2: false,
  websocketCompression: false,
});

const NUMERIC_KEYS = Object.keys(DEFAULT_SERVER_OPTIONS).filter(
  (k) => typeof DEFAULT_SERVER_OPTIONS[k as keyof ResolvedServerOptions] === 'number',
) as (keyof ResolvedServerOptions)[];

/** Fills defaults and checks every value; throws InvalidOptionError naming the option. */
export function resolveServerOptions<S extends TransportServer>(options: ServerOptions<S> = {}): ResolvedServerOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError(`server options must be an object, not ${String(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!(key in DEFAULT_SERVER_OPTIONS)) {
      throw new InvalidOptionError(
        `unknown server option '${key}'; known options: ${Object.keys(DEFAULT_SERVER_OPTIONS).join(', ')}`,
      );
    }
  }
  const resolved = { ...DEFAULT_SERVER_OPTIONS } as ResolvedServerOptions;
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) (resolved as unknown as Record<string, unknown>)[key] = value;
  }
  for (const key of NUMERIC_KEYS) {
    const value = resolved[key] as unknown;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || !Number.isInteger(value)) {
      throw new InvalidOptionError(`server option '${key}' must be a whole number ≥ 0, not ${String(value)}`);
    }
  }
  if (resolved.port > 65535) throw new InvalidOptionError(`server option 'port' must be 0–65535, not ${resolved.port}`);
  if (typeof resolved.host !== 'string' || resolved.host === '') {
    throw new InvalidOptionError(`server option 'host' must be a non-empty string, not ${String(resolved.host)}`);
  }
  if (typeof resolved.rootPath !== 'string' || (resolved.rootPath !== '' && !resolved.rootPath.startsWith('/'))) {
    throw new InvalidOptionError(
      `server option 'rootPath' must be '' or start with '/', not ${String(resolved.rootPath)}`,
    );
  }
  if (typeof resolved.transport !== 'function') {
    throw new InvalidOptionError(
      `server option 'transport' must be a function making the listening server, not ${String(resolved.transport)}`,
    );
  }
  proxyHeadersFrom(resolved.proxyHeaders);
  resolved.websocketCompression = checkWebsocketCompression(options.websocketCompression);
  resolveListeners(options, resolved);
  if (resolved.websocketMaxMessageBytes < 1) {
    throw new InvalidOptionError(`server option 'websocketMaxMessageBytes' must be at least 1`);
  }
  return resolved;
}

/** `tls` becomes the transport; `listen` (else host and port) the list of places to listen on. */
function resolveListeners(options: ServerOptions<TransportServer>, resolved: ResolvedServerOptions): void {
  if (options.tls !== undefined) {
    if (options.transport !== undefined) {
      throw new InvalidOptionError(`server options 'tls' and 'transport' do not go together: give one of them`);
    }
    resolved.tls = checkTlsOptions(options.tls);
    resolved.transport = tlsTransport(resolved.tls);
  }
  if (options.http2 !== undefined) {
    if (typeof options.http2 !== 'boolean') {
      throw new InvalidOptionError(`server option 'http2' must be true or false, not ${String(options.http2)}`);
    }
    if (options.http2 && options.transport !== undefined) {
      throw new InvalidOptionError(`server options 'http2' and 'transport' do not go together: give one of them`);
    }
    if (options.http2) resolved.transport = http2Transport(resolved.tls);
  }
  if (options.listen === undefined) {
    resolved.listen = [{ host: resolved.host, port: resolved.port }];
    return;
  }
  if (options.host !== undefined || options.port !== undefined) {
    throw new InvalidOptionError(
      `server options 'listen' and 'host'/'port' do not go together: put { host, port } in the listen list`,
    );
  }
  resolved.listen = checkListenTargets(options.listen);
}
