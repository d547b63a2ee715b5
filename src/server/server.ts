// The interface server: a transport (node:http for HTTP/1.1 by default, transport.ts) for
// HTTP, `ws` for WebSockets, every connection an app instance on the app interface.
// `listen()` runs lifespan startup first; `close()` is the graceful shutdown: stop accepting,
// close WebSockets with 1012 so clients reconnect elsewhere, let in-flight HTTP responses
// finish within drainTimeoutMs, then lifespan shutdown.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Application } from '../asgi/types.ts';
import { InvalidOptionError } from '../errors.ts';
import { createLogger, RepeatedLog } from '../logging.ts';
import { createAccessLog } from './access-log.ts';
import type { ServerContext, ServerStats } from './context.ts';
import { handleHttpRequest, plainResponse } from './http-connection.ts';
import { InFlightList } from './in-flight-list.ts';
import { Lifespan } from './lifespan.ts';
import { resolveServerOptions, type ServerOptions } from './options.ts';
import { proxyHeadersFrom } from './proxy-headers.ts';
import { describeTarget, type ListenAddress, listenAddress, listenOn } from './listeners.ts';
import type { TransportOptions, TransportServer } from './transport.ts';
import { handleUpgrade } from './websocket-connection.ts';
import { keepalive } from './websocket-keepalive.ts';

export interface CanalServer<S extends TransportServer = Server> {
  /** Runs lifespan startup, then listens. Resolves with where it listens. */
  listen(): Promise<{ host: string; port: number }>;
  /** Graceful shutdown; idempotent (a second call gets the first one's promise). */
  close(options?: CloseOptions): Promise<void>;
  /** Where the first listener listens (a unix socket: `{ host: path, port: 0 }`). */
  address(): { host: string; port: number } | null;
  /** Where every listener listens, in the order of the `listen` option. */
  addresses(): ListenAddress[];
  /** The listening server: node:http's `Server`, or what the `transport` option made (the first listener's). */
  readonly httpServer: S;
  /** One listening server per listener, in the order of the `listen` option. */
  readonly httpServers: readonly S[];
  stats(): ServerStats & { httpInFlight: number };
}

export interface CloseOptions {
  /**
   * Work that must end before lifespan shutdown tears down what startup made, e.g. in-process
   * workers finishing their messages. It runs beside the drain; its rejection is logged.
   */
  beforeLifespanShutdown?: Promise<unknown>;
}

export function createServer<S extends TransportServer = Server>(
  app: Application,
  options: ServerOptions<S> = {},
): CanalServer<S> {
  if (typeof app !== 'function') {
    throw new InvalidOptionError(
      `createServer() needs an application function (scope, receive, send) => Promise<void>, not ${typeof app}`,
    );
  }
  const resolved = resolveServerOptions(options);
  const accessLog = createAccessLog(resolved.accessLog);
  const log = createLogger('server');
  const ctx: ServerContext = {
    app,
    options: resolved,
    proxy: proxyHeadersFrom(resolved.proxyHeaders),
    log,
    repeated: { info: new RepeatedLog(log, 'info'), warn: new RepeatedLog(log, 'warn') },
    accessLog,
    lifespanState: null,
    websockets: new Set(),
    httpInFlight: new InFlightList(),
    stats: {
      httpRequests: 0,
      websocketsOpen: 0,
      websocketsTotal: 0,
      slowClientsClosed: 0,
      appErrors: 0,
      rejected: 0,
      httpResponses1xx: 0,
      httpResponses2xx: 0,
      httpResponses3xx: 0,
      httpResponses4xx: 0,
      httpResponses5xx: 0,
      websocketsRefused: 0,
      websocketMessagesIn: 0,
      websocketMessagesOut: 0,
      websocketBytesIn: 0,
      websocketBytesOut: 0,
    },
    shuttingDown: false,
    websocketServer: null,
    keepaliveSweep: null,
    handshakeObserver: null,
  };

  const transportOptions: TransportOptions = {
    maxHeaderSize: resolved.maxHeaderBytes,
    keepAliveTimeout: resolved.keepAliveTimeoutMs,
    requestTimeout: 0, // request bodies may stream for as long as the app reads them
    // Set on its own: node derives it from requestTimeout, and 0 there would turn it off too,
    // letting a client that sends its head a byte at a time hold a connection for ever.
    headersTimeout: resolved.headersTimeoutMs,
    // How often node looks for heads past the timeout: a client is cut within 1¼ timeouts.
    connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(resolved.headersTimeoutMs / 4))),
    // The Host check is the server's own (http-connection.ts), so that a request pipelined
    // behind a refused one is never handed to the app.
    requireHostHeader: false,
  };
  const dropped = () => {
    ctx.stats.rejected++;
    ctx.repeated.warn.note(
      'connections refused at maxConnections',
      `refusing new connections: ${resolved.maxConnections} are open ` +
        '(maxConnections, canal serve --max-connections); raise it or add servers',
    );
  };

  const request = (req: IncomingMessage, res: ServerResponse) => {
    if (req.rawHeaders.length / 2 > resolved.maxHeaderCount) {
      ctx.stats.rejected++;
      ctx.stats.httpResponses4xx++;
      plainResponse(res, 431, `more than ${resolved.maxHeaderCount} header lines`, true);
      return;
    }
    try {
      handleHttpRequest(ctx, req, res);
    } catch (err) {
      ctx.log.error(`${req.method} ${req.url}: internal error`, err);
      if (!res.headersSent) ctx.stats.httpResponses5xx++;
      plainResponse(res, 500, 'Internal Server Error', true);
    }
  };
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // An upgrade pipelined behind requests of the same connection waits for their responses:
    // they reach the client whole, and before anything about the upgrade. `_httpMessage` is
    // node's own record of the response being written on the socket (the next takes its place).
    const unanswered = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
    if (unanswered != null && !unanswered.destroyed) {
      unanswered.once('close', () => (socket.destroyed ? undefined : upgrade(req, socket, head)));
      return;
    }
    if (req.rawHeaders.length / 2 > resolved.maxHeaderCount) {
      ctx.stats.rejected++;
      socket.end('HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    try {
      handleUpgrade(ctx, req, socket, head);
    } catch (err) {
      ctx.log.error(`WebSocket ${req.url}: internal error`, err);
      socket.destroy();
    }
  };
  const clientError = (err: Error & { code?: string }, socket: Duplex) => {
    ctx.stats.rejected++;
    ctx.log.debug(`bad request from a client: ${err.code ?? ''} ${err.message}`);
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const status =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? '408 Request Timeout' // the head did not arrive within headersTimeoutMs
          : '400 Bad Request';
    ctx.stats.httpResponses4xx++;
    socket.end(`HTTP/1.1 ${status}\r\ncontent-type: text/plain\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
  };

  // One listening server per listener (the `listen` option), each wired the same way; they
  // share the app, the connections and the shutdown. maxConnections counts per listener.
  const httpServers = resolved.listen.map(() => {
    const httpServer = resolved.transport(transportOptions) as S;
    httpServer.maxHeadersCount = resolved.maxHeaderCount;
    if (resolved.maxConnections > 0) httpServer.maxConnections = resolved.maxConnections;
    httpServer.on('drop', dropped);
    httpServer.on('request', request);
    httpServer.on('upgrade', upgrade);
    httpServer.on('clientError', clientError);
    return httpServer;
  });
  const httpServer = httpServers[0]!;

  const lifespan = new Lifespan(ctx);
  let listening: Promise<{ host: string; port: number }> | null = null;
  let closing: Promise<void> | null = null;

  function address(): { host: string; port: number } | null {
    const a = httpServer.address() as AddressInfo | string | null;
    if (typeof a === 'string') return { host: a, port: 0 };
    return a && typeof a === 'object' ? { host: a.address, port: a.port } : null;
  }

  function addresses(): ListenAddress[] {
    return httpServers.flatMap((s, i) => listenAddress(s, resolved.listen[i]!) ?? []);
  }

  async function listen(): Promise<{ host: string; port: number }> {
    ctx.lifespanState = await lifespan.startup();
    for (let i = 0; i < httpServers.length; i++) {
      try {
        await listenOn(httpServers[i]!, resolved.listen[i]!);
      } catch (err) {
        // The listeners already open close again: none or all of them serve.
        await Promise.all(httpServers.slice(0, i).map((s) => new Promise((r) => s.close(r))));
        throw err;
      }
      ctx.log.debug(`listening on ${describeTarget(resolved.listen[i]!)}`);
    }
    return address()!;
  }

  async function close(options: CloseOptions = {}): Promise<void> {
    ctx.shuttingDown = true;
    // Handled now: it may settle while the drain below is still going on.
    const before = options.beforeLifespanShutdown?.catch((err) =>
      ctx.log.error('shutdown work failed before lifespan shutdown', err),
    );
    const stopped = Promise.all(
      httpServers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))),
    );
    for (const ws of [...ctx.websockets]) ws.shutdown();
    for (const h of ctx.httpInFlight.toArray()) h.shutdown();
    for (const s of httpServers) s.closeIdleConnections?.();
    const inFlight = ctx.httpInFlight.toArray().map((h) => h.done);
    const drained = await Promise.race([
      Promise.all(inFlight).then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), resolved.drainTimeoutMs).unref()),
    ]);
    if (!drained) {
      ctx.log.warn(
        `${ctx.httpInFlight.size} HTTP responses did not finish within ${resolved.drainTimeoutMs} ms; cutting them`,
      );
    }
    for (const s of httpServers) s.closeAllConnections?.();
    await stopped;
    keepalive.stop(ctx);
    // WebSocket apps and those of the cut HTTP responses have had their disconnect; give them
    // the close timeout to return before lifespan shutdown (and the caller's teardown) goes on.
    await Promise.race([
      Promise.all([...[...ctx.websockets].map((w) => w.done), ...ctx.httpInFlight.toArray().map((h) => h.done)]),
      new Promise((r) => setTimeout(r, resolved.applicationCloseTimeoutMs).unref()),
    ]);
    await before;
    await lifespan.shutdown(resolved.applicationCloseTimeoutMs);
    await accessLog?.close();
  }

  const server: CanalServer<S> = {
    listen: () => (listening ??= listen()),
    close: (options) => (closing ??= close(options)),
    address,
    addresses,
    httpServer,
    httpServers,
    stats: () => ({ ...ctx.stats, httpInFlight: ctx.httpInFlight.size }),
  };
  contexts.set(server, ctx);
  return server;
}

const contexts = new WeakMap<CanalServer<TransportServer>, ServerContext>();

/** The inner state of a server made by createServer (the metrics set its observers), or undefined. */
export function serverContextOf(server: CanalServer<TransportServer>): ServerContext | undefined {
  return contexts.get(server);
}
