// One WebSocket as an app instance. The handshake waits for the app: `websocket.accept`
// completes it (with the chosen subprotocol and extra headers), `websocket.close` refuses it
// (403), `websocket.http.response.*` answers with any HTTP response (the denial-response
// extension). Frames go both ways as `websocket.receive`/`websocket.send`; the peer's close
// becomes `websocket.disconnect` with its code and reason. `ws` speaks the protocol (framing,
// UTF-8 checks → 1007, maxPayload → 1009); frames out go through frame-writer.ts (coalesced
// writes, shared broadcast frames), or through ws.send on a socket that negotiated
// permessage-deflate (websocket-compression.ts); keepalive and lifetime are websocket-keepalive.ts.
import { SETTLED } from '../asgi/settled.ts';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ReceiveEvent, SendEvent, WebsocketReceiveEventAny, WebsocketScope } from '../asgi/types.ts';
import { InvalidEventError, SendAfterCloseError } from '../errors.ts';
import { reportAppFailure } from './app-failure.ts';
import type { LiveConnection, ServerContext } from './context.ts';
import { checkBody, checkBool, checkStatus, flatHeaders, invalid } from './events.ts';
import { countHosts, cutIfClosing, needsHost } from './http-connection.ts';
import { holdUntilFlush, writeDataFrame } from './frame-writer.ts';
import { BadRequestTarget, buildWebsocketScope } from './scope.ts';
import { keepalive, type KeptAlive } from './websocket-keepalive.ts';
import { perMessageDeflateFor, releaseZlibBetweenMessages } from './websocket-compression.ts';

const CONNECT: WebsocketReceiveEventAny = Object.freeze({ type: 'websocket.connect' });
/** Events queued for an app that is not reading; past this the socket is paused (memory stays bounded). */
const INBOX_HIGH = 64;
const WS_OPEN = 1;
/** Bytes a client may send before the handshake is answered before it is no longer read. */
const EARLY_DATA_LIMIT = 64 * 1024;
const kAccept = Symbol('canal.accept');
const kConn = Symbol('canal.connection');

// Listeners and timer callbacks are shared by every connection and find theirs through
// `this` (the emitter) or an argument: an idle socket holds no closures of its own beyond the
// app's receive/send (an idle socket's memory is kept small).
type Tagged<T> = T & { [kConn]?: WebsocketConnection };
function onSocketClose(this: Tagged<Duplex>): void {
  this[kConn]?.socketClosed();
}
function onEarlyData(this: Tagged<Duplex>, chunk: Buffer): void {
  this[kConn]?.earlyData(chunk);
}
function onEarlyEnd(this: Tagged<Duplex>): void {
  this[kConn]?.earlyEnd();
}
function onWsMessage(this: Tagged<WebSocket>, data: Buffer, isBinary: boolean): void {
  this[kConn]!.message(data, isBinary);
}
function onWsPong(this: Tagged<WebSocket>): void {
  this[kConn]!.heard = true;
}
function onWsClose(this: Tagged<WebSocket>, code: number, reason: Buffer): void {
  // 1005: the client's close frame had no code (ASGI passes it on as is).
  this[kConn]!.disconnect(code, reason.toString('utf8'));
}
function onWsError(this: Tagged<WebSocket>, err: Error & { code?: string }): void {
  this[kConn]!.protocolError(err);
}
function onHandshakeTimeout(conn: WebsocketConnection): void {
  conn.handshakeTimedOut();
}
function onCloseTimeout(conn: WebsocketConnection): void {
  conn.closeTimedOut();
}
function terminateLater(ws: WebSocket): void {
  ws.terminate();
}

interface AcceptInfo {
  subprotocol: string | null;
  headers: string[];
}
type AcceptingRequest = IncomingMessage & { [kAccept]?: AcceptInfo };

/** The server's `ws` server, used only to complete handshakes the app accepted. */
function wssFor(ctx: ServerContext): WebSocketServer {
  let wss = ctx.websocketServer;
  if (wss === null) {
    const compression = ctx.options.websocketCompression;
    wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: compression === false ? false : perMessageDeflateFor(compression),
      clientTracking: false,
      maxPayload: ctx.options.websocketMaxMessageBytes,
      // The app chose already (checked against the offer in send()); false = no header.
      handleProtocols: (_offered, req) => (req as AcceptingRequest)[kAccept]?.subprotocol ?? false,
    });
    wss.on('headers', (headers, req) => {
      const extra = (req as AcceptingRequest)[kAccept]?.headers;
      if (extra) for (let i = 0; i < extra.length; i += 2) headers.push(`${extra[i]}: ${extra[i + 1]}`);
    });
    ctx.websocketServer = wss;
  }
  return wss;
}

const State = {
  Connecting: 0,
  Responding: 1, // denial response under way
  Open: 2,
  Closed: 3,
} as const;
type State = (typeof State)[keyof typeof State];

/** What a close code from an app may be (RFC 6455 §7.4): 1000, the codes a server sends, or 3000–4999. */
function checkCloseCode(code: unknown): number {
  if (code === undefined || code === null) return 1000;
  if (
    typeof code !== 'number' ||
    !Number.isInteger(code) ||
    !(
      code === 1000 ||
      (code >= 3000 && code <= 4999) ||
      (code >= 1001 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006)
    )
  ) {
    throw invalid('websocket.close', 'code', code, '1000, 1001–1014 (not 1004–1006) or 3000–4999');
  }
  return code;
}

/** The close code the app hears for a protocol error ws reports (ws closes the socket with it). */
function codeOfError(err: Error & { code?: string }): number {
  switch (err.code) {
    case 'WS_ERR_INVALID_UTF8':
      return 1007;
    case 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH':
      return 1009;
    default:
      return 1002;
  }
}

export class WebsocketConnection implements LiveConnection, KeptAlive {
  private donePromise: Promise<void> | null = null;
  private resolveDone: (() => void) | null = null;
  private state: State = State.Connecting;
  private ws: WebSocket | null = null;
  private req: AcceptingRequest | null;
  private head: Buffer | null;
  // keepalive bookkeeping (websocket-keepalive.ts)
  openedAt = 0;
  heard = false;
  lastSeen = 0;
  pingSentAt = 0;
  private readonly inbox: WebsocketReceiveEventAny[] = [CONNECT];
  private waiter: ((e: ReceiveEvent) => void) | null = null;
  private moreWaiters: ((e: ReceiveEvent) => void)[] | undefined;
  private paused = false;
  private timer: NodeJS.Timeout | null; // handshake timeout, then the application close timeout
  private disconnected = false;
  private appDone = false;
  private finished = false;
  /** When the handshake came (performance.now()), while the metrics observe handshakes; else 0. */
  private handshakeStart = 0;
  /** Compression's threshold in bytes when this socket negotiated permessage-deflate; else -1. */
  private deflateThreshold = -1;

  declare private readonly ctx: ServerContext;
  declare private readonly socket: Duplex;
  declare readonly scope: WebsocketScope;
  constructor(ctx: ServerContext, req: IncomingMessage, socket: Duplex, head: Buffer, scope: WebsocketScope) {
    this.ctx = ctx;
    this.socket = socket;
    this.scope = scope;
    this.req = req;
    this.head = head;
    this.receive = () => this.nextEvent();
    this.send = (event) => this.sendEvent(event);
    this.timer = setTimeout(onHandshakeTimeout, ctx.options.websocketHandshakeTimeoutMs, this);
    if (ctx.handshakeObserver !== null) this.handshakeStart = performance.now();
    (socket as Tagged<Duplex>)[kConn] = this;
    socket.on('close', onSocketClose);
    // Read while the app decides, or a client that gives up during the handshake goes unseen
    // (node:http leaves an upgraded socket unread). Bytes that arrive early are kept for ws.
    socket.on('data', onEarlyData);
    socket.on('end', onEarlyEnd);
    socket.resume();
  }

  /** Resolves when the connection and its app instance are done (made only when asked for). */
  get done(): Promise<void> {
    if (this.donePromise === null) {
      this.donePromise = this.finished ? SETTLED : new Promise((r) => (this.resolveDone = r));
    }
    return this.donePromise;
  }

  /** The client half-closed before the handshake was answered: it has left (node:http sockets allow half-open). */
  earlyEnd(): void {
    if (this.state === State.Connecting) this.socket.destroy();
  }

  earlyData(chunk: Buffer): void {
    if (this.state !== State.Connecting) return; // a denial response is under way: ignore input
    this.head = this.head!.length ? Buffer.concat([this.head!, chunk]) : chunk;
    if (this.head.length > EARLY_DATA_LIMIT) this.socket.pause(); // no more until the app answers
  }

  get path(): string {
    return this.scope.path;
  }

  run(): void {
    this.ctx.websockets.add(this);
    let result: Promise<void>;
    try {
      result = this.ctx.app(this.scope, this.receive, this.send);
    } catch (err) {
      result = Promise.reject(err);
    }
    Promise.resolve(result).then(
      () => this.appReturned(),
      (err: unknown) => this.appRaised(err),
    );
  }

  /** The app's receive() and send(), bound to this connection. */
  readonly receive: () => Promise<ReceiveEvent>;
  readonly send: (event: SendEvent) => Promise<void>;

  private nextEvent(): Promise<ReceiveEvent> {
    const next = this.inbox.shift();
    if (next !== undefined) {
      if (this.paused && this.inbox.length <= INBOX_HIGH / 2) {
        this.paused = false;
        this.ws?.resume();
      }
      return Promise.resolve(next);
    }
    if (this.waiter === null) return new Promise((resolve) => (this.waiter = resolve));
    // receive() called again before the previous one resolved: served in call order.
    return new Promise((resolve) => (this.moreWaiters ??= []).push(resolve));
  }

  private push(event: WebsocketReceiveEventAny): void {
    const w = this.waiter;
    if (w !== null) {
      this.waiter = this.moreWaiters?.shift() ?? null;
      w(event);
      return;
    }
    this.inbox.push(event);
    if (!this.paused && this.inbox.length >= INBOX_HIGH && this.ws) {
      this.paused = true; // the app is behind: stop reading this socket until it catches up
      this.ws.pause();
    }
  }

  // ---- app → server ------------------------------------------------------------------------

  /** Never async: the common case returns one shared resolved promise (no allocation per frame). */
  private sendEvent(event: SendEvent): Promise<void> {
    try {
      if (event !== null && typeof event === 'object' && event.type === 'websocket.send' && this.state === State.Open) {
        this.sendFrame(event.text, event.bytes);
      } else {
        this.sendOther(event);
      }
      return SETTLED;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private sendFrame(text: unknown, bytes: unknown): void {
    const hasText = text !== undefined && text !== null;
    if (hasText === (bytes !== undefined && bytes !== null)) {
      throw new InvalidEventError(`websocket.send needs exactly one of 'text' and 'bytes' (${this.scope.path})`);
    }
    if (hasText ? typeof text !== 'string' : !(bytes instanceof Uint8Array)) {
      throw hasText
        ? invalid('websocket.send', 'text', text, 'a string')
        : invalid('websocket.send', 'bytes', bytes, 'a Buffer or Uint8Array');
    }
    if (this.ws!.readyState !== WS_OPEN) {
      // The peer's close frame arrived (or the socket died); the app's disconnect is on its way.
      throw new SendAfterCloseError(`websocket.send after the client closed the connection (${this.scope.path})`);
    }
    if (this.deflateThreshold >= 0) {
      this.sendThroughWs(hasText ? (text as string) : (bytes as Uint8Array), !hasText);
      return;
    }
    if (this.socket.writableLength > this.ctx.options.maxBufferedBytes) {
      this.dropSlowClient();
      return;
    }
    const stats = this.ctx.stats;
    stats.websocketMessagesOut++;
    stats.websocketBytesOut += writeDataFrame(
      this.socket,
      hasText ? (text as string) : (bytes as Uint8Array),
      !hasText,
    );
  }

  /**
   * A socket with permessage-deflate: every data frame goes through ws.send, which compresses
   * (RSV1 set, per the negotiated parameters) and keeps its frames in order behind the ones
   * still being compressed. The socket is still held until the flush, so uncompressed frames
   * of one pass leave together; frames already held on it are written before these.
   */
  private sendThroughWs(payload: string | Uint8Array, binary: boolean): void {
    const ws = this.ws!;
    // bufferedAmount counts the messages ws holds while compressing as well as the socket's.
    if (ws.bufferedAmount > this.ctx.options.maxBufferedBytes) {
      this.dropSlowClient();
      return;
    }
    const stats = this.ctx.stats;
    stats.websocketMessagesOut++;
    const n = typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.byteLength;
    stats.websocketBytesOut += n;
    holdUntilFlush(this.socket);
    // Below the threshold a message goes uncompressed, whether or not contexts are taken over.
    ws.send(payload, { binary, compress: n >= this.deflateThreshold, fin: true });
  }

  private sendOther(event: SendEvent): void {
    if (event === null || typeof event !== 'object')
      throw new InvalidEventError(`send() takes an event object, not ${String(event)}`);
    const type = event.type;
    switch (type) {
      case 'websocket.send':
        if (this.state === State.Connecting)
          throw new InvalidEventError(`websocket.send before websocket.accept (${this.scope.path})`);
        if (this.state === State.Responding)
          throw new InvalidEventError(`websocket.send during a denial response (${this.scope.path})`);
        throw new SendAfterCloseError(`websocket.send after the connection closed (${this.scope.path})`);
      case 'websocket.accept': {
        if (this.state === State.Closed)
          throw new SendAfterCloseError(`websocket.accept after the connection closed (${this.scope.path})`);
        if (this.state !== State.Connecting)
          throw new InvalidEventError(`websocket.accept sent twice or after a response (${this.scope.path})`);
        const sub = event.subprotocol ?? null;
        if (sub !== null && (typeof sub !== 'string' || !this.scope.subprotocols.includes(sub))) {
          throw invalid(
            type,
            'subprotocol',
            sub,
            `one the client offered (${JSON.stringify(this.scope.subprotocols)})`,
          );
        }
        this.accept({ subprotocol: sub, headers: flatHeaders(type, event.headers) });
        return;
      }
      case 'websocket.close': {
        const code = checkCloseCode(event.code);
        const reason = event.reason ?? '';
        if (typeof reason !== 'string' || Buffer.byteLength(reason) > 123)
          throw invalid(type, 'reason', reason, 'a string of at most 123 bytes (UTF-8)');
        if (this.state === State.Connecting) {
          this.refuse(403, 'the application closed before accepting');
          return;
        }
        if (this.state !== State.Open)
          throw new SendAfterCloseError(`websocket.close after the connection closed (${this.scope.path})`);
        if (this.ws!.readyState !== WS_OPEN)
          throw new SendAfterCloseError(`websocket.close after the client closed the connection (${this.scope.path})`);
        this.state = State.Closed;
        this.ws!.close(code, reason);
        return;
      }
      case 'websocket.http.response.start': {
        if (this.state === State.Closed)
          throw new SendAfterCloseError(
            `websocket.http.response.start after the connection closed (${this.scope.path})`,
          );
        if (this.state !== State.Connecting)
          throw new InvalidEventError(
            `websocket.http.response.start is only allowed once, before accept (${this.scope.path})`,
          );
        const status = checkStatus(type, event.status);
        const headers = flatHeaders(type, event.headers);
        this.state = State.Responding;
        this.clearTimer();
        this.handshakeRefused();
        this.ctx.accessLog?.websocket('reject', this.scope, { status });
        let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`;
        for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
        // The body ends where the connection does (or at the app's content-length): no reuse.
        head += 'connection: close\r\n\r\n';
        this.socket.write(head, 'latin1');
        return;
      }
      case 'websocket.http.response.body': {
        if (this.state === State.Closed)
          throw new SendAfterCloseError(`websocket.http.response.body after the response ended (${this.scope.path})`);
        if (this.state !== State.Responding)
          throw new InvalidEventError(
            `websocket.http.response.body needs websocket.http.response.start first (${this.scope.path})`,
          );
        const body = checkBody(type, event.body);
        const more = checkBool(type, 'more_body', event.more_body);
        if (body !== undefined && body.length > 0) this.socket.write(body);
        if (!more) {
          this.state = State.Closed;
          this.socket.end();
          this.releaseHandshake();
          this.disconnect(1006);
        }
        return;
      }
      default:
        throw new InvalidEventError(
          `${String(type)} is not a WebSocket event; a websocket app sends websocket.accept, websocket.send, ` +
            'websocket.close or websocket.http.response.*',
        );
    }
  }

  // ---- handshake ---------------------------------------------------------------------------

  private accept(info: AcceptInfo): void {
    this.clearTimer();
    const req = this.req!;
    req[kAccept] = info;
    this.state = State.Open;
    const socket = this.socket;
    socket.off('data', onEarlyData);
    socket.off('end', onEarlyEnd);
    socket.pause(); // ws's own 'data' listener takes over from here
    wssFor(this.ctx).handleUpgrade(req, socket, this.head!, (ws) => this.opened(ws));
    this.releaseHandshake();
    if (!socket.destroyed) socket.resume();
  }

  private opened(ws: WebSocket): void {
    this.ws = ws;
    (ws as Tagged<WebSocket>)[kConn] = this;
    const compression = this.ctx.options.websocketCompression;
    if (compression !== false && ws.extensions !== '') {
      this.deflateThreshold = compression.threshold;
      releaseZlibBetweenMessages(ws);
    }
    this.openedAt = this.lastSeen = Date.now();
    this.ctx.stats.websocketsOpen++;
    this.ctx.stats.websocketsTotal++;
    if (this.handshakeStart !== 0) this.observeHandshake(true);
    this.ctx.accessLog?.websocket('connect', this.scope);
    keepalive.add(this.ctx, this);
    ws.on('message', onWsMessage);
    ws.on('pong', onWsPong);
    ws.on('close', onWsClose);
    ws.on('error', onWsError);
    if (this.state === State.Closed) ws.close(); // closed by the server while the upgrade finished
  }

  message(data: Buffer, isBinary: boolean): void {
    this.heard = true;
    const stats = this.ctx.stats;
    stats.websocketMessagesIn++;
    stats.websocketBytesIn += data.length;
    this.push(
      isBinary
        ? { type: 'websocket.receive', bytes: data }
        : { type: 'websocket.receive', text: data.toString('utf8') },
    );
  }

  /** A protocol error from the client: ws closes with the matching code; the app hears it. */
  protocolError(err: Error & { code?: string }): void {
    this.ctx.log.debug(`${this.scope.path}: ${err.message}`);
    this.ctx.stats.rejected++;
    this.disconnect(codeOfError(err), err.message.slice(0, 120));
  }

  /** The request and the bytes read past its head are only needed until the handshake is answered. */
  private releaseHandshake(): void {
    this.socket.off('data', onEarlyData);
    this.socket.off('end', onEarlyEnd);
    if (this.req) delete this.req[kAccept];
    this.req = null;
    this.head = null;
  }

  /**
   * Refuses the handshake with an HTTP status (no 101) and tells the app. 503s (timeout,
   * shutdown) count as rejected; the app's own refusals do not.
   */
  private refuse(status: number, why: string): void {
    this.ctx.log.debug(`${this.scope.path}: ${why}; answering ${status}`);
    if (status === 503) this.ctx.stats.rejected++;
    this.handshakeRefused();
    this.ctx.accessLog?.websocket('reject', this.scope, { status });
    this.state = State.Closed;
    this.releaseHandshake();
    if (!this.socket.destroyed) {
      const body = status === 403 ? '' : `${why}\n`;
      this.socket.end(
        `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: text/plain\r\n` +
          `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    }
    this.disconnect(1006);
  }

  /** Counts a handshake the app or the server refused (accepted ones are counted when open). */
  private handshakeRefused(): void {
    this.ctx.stats.websocketsRefused++;
    if (this.handshakeStart !== 0) this.observeHandshake(false);
  }

  private observeHandshake(accepted: boolean): void {
    const seconds = (performance.now() - this.handshakeStart) / 1000;
    this.handshakeStart = 0;
    this.ctx.handshakeObserver?.(seconds, accepted);
  }

  handshakeTimedOut(): void {
    this.timer = null;
    if (this.state === State.Connecting)
      this.refuse(503, `no accept or close within ${this.ctx.options.websocketHandshakeTimeoutMs} ms`);
  }

  socketClosed(): void {
    // After the upgrade, ws reports the end ('close' with the peer's code); before it, this does.
    if (!this.ws) {
      if (this.state === State.Connecting)
        this.ctx.log.debug(`${this.scope.path}: the client left during the handshake`);
      this.state = State.Closed;
      this.releaseHandshake();
      this.disconnect(1006);
    }
  }

  socketError(err: Error): void {
    this.ctx.log.debug(`${this.scope.path}: socket error: ${err.message}`);
  }

  private clearTimer(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  // ---- server-side ends --------------------------------------------------------------------

  private dropSlowClient(): void {
    this.ctx.stats.slowClientsClosed++;
    this.ctx.log.warn(
      `${this.scope.path}: closing a client that is not reading ` +
        `(over ${this.ctx.options.maxBufferedBytes} bytes unsent)`,
    );
    this.closeWith(1008, 'client not reading');
    // Its buffer is full, so the close frame would wait behind megabytes: drop it now.
    this.socket.destroy();
  }

  /** Server-side close with a code; the app hears the same code. Before accept: 503. */
  closeWith(code: number, reason: string): void {
    if (this.state === State.Connecting) {
      this.refuse(503, reason);
      return;
    }
    if (this.state !== State.Open) return;
    this.state = State.Closed;
    if (this.ws && this.ws.readyState === WS_OPEN) this.ws.close(code, reason);
    this.disconnect(code, reason);
  }

  ping(): void {
    if (this.ws && this.ws.readyState === WS_OPEN) this.ws.ping();
  }

  terminate(): void {
    this.state = State.Closed;
    this.ws?.terminate();
    this.disconnect(1006);
  }

  /** Server shutdown: close with 1012 (service restart) so clients reconnect elsewhere. */
  shutdown(): void {
    this.closeWith(1012, 'server restarting');
    // A peer that does not answer the close frame is cut when the drain time is up.
    if (this.ws) setTimeout(terminateLater, this.ctx.options.drainTimeoutMs, this.ws).unref();
  }

  // ---- the end -----------------------------------------------------------------------------

  /** The app's view of the end: one websocket.disconnect, whatever ended the connection. */
  disconnect(code: number, reason = ''): void {
    if (this.disconnected) return;
    this.disconnected = true;
    this.state = State.Closed;
    this.clearTimer();
    if (this.openedAt) {
      keepalive.remove(this.ctx, this);
      this.ctx.stats.websocketsOpen--;
      this.ctx.accessLog?.websocket('disconnect', this.scope, { code, durationMs: Date.now() - this.openedAt });
    }
    if (this.paused) {
      this.paused = false; // nothing more will be read; the app drains what is queued
    }
    this.push({ type: 'websocket.disconnect', code, reason });
    if (this.appDone) {
      this.finish();
    } else if (this.ctx.options.applicationCloseTimeoutMs > 0) {
      this.timer = setTimeout(onCloseTimeout, this.ctx.options.applicationCloseTimeoutMs, this);
      this.timer.unref();
    }
  }

  closeTimedOut(): void {
    this.timer = null;
    this.ctx.log.warn(
      `${this.scope.path}: the application did not return within ` +
        `${this.ctx.options.applicationCloseTimeoutMs} ms of the disconnect; abandoning it`,
    );
    this.finish();
  }

  private appReturned(): void {
    this.appDone = true;
    if (this.state === State.Connecting) {
      this.refuse(403, 'the application returned without accepting');
    } else if (this.state === State.Open) {
      this.closeWith(1000, '');
    } else if (this.state === State.Responding) {
      this.ctx.log.debug(`${this.scope.path}: the application returned in the middle of a denial response; cutting it`);
      this.socket.destroy();
      this.disconnect(1006);
    }
    if (this.disconnected) this.finish();
  }

  private appRaised(err: unknown): void {
    this.appDone = true;
    // Ended: the app has its disconnect, or the peer's close frame came and it is on its way.
    const ended = this.disconnected || (this.ws !== null && this.ws.readyState !== WS_OPEN);
    reportAppFailure(this.ctx, 'WebSocket', this.scope.path, err, ended);
    if (this.state === State.Connecting) {
      // 403 rather than 500, as a failed connect() in Channels/Daphne: to the client, a
      // handshake the app could not complete is a refused one.
      this.refuse(403, 'the application raised before accepting');
    } else if (this.state === State.Open) {
      this.closeWith(1011, 'internal error');
    } else if (this.state === State.Responding) {
      this.socket.destroy();
      this.disconnect(1006);
    }
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.clearTimer();
    this.ctx.websockets.delete(this);
    this.resolveDone?.();
  }
}

function onSocketError(this: Tagged<Duplex>, err: Error): void {
  // Resets and the like: the 'close' that follows tells the app; the connection logs why.
  const conn = this[kConn];
  if (conn) conn.socketError(err);
}

/** Why a handshake is refused before any app sees it, as [status, text]; null if it is not. */
function refusalOf(ctx: ServerContext, req: IncomingMessage): [number, string] | null {
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') return [400, 'only WebSocket upgrades are served'];
  const key = req.headers['sec-websocket-key'];
  const version = req.headers['sec-websocket-version'];
  if (req.method !== 'GET' || !key || !/^[+/0-9A-Za-z]{22}==$/.test(key) || (version !== '13' && version !== '8')) {
    return [400, 'malformed WebSocket handshake (method, Sec-WebSocket-Key or Sec-WebSocket-Version)'];
  }
  const hosts = countHosts(req.rawHeaders);
  if (hosts !== 1 && (hosts > 1 || needsHost(req))) return [400, `${hosts} Host headers; a request has one`];
  if (ctx.shuttingDown) return [503, 'server shutting down'];
  return null;
}

/** The server's `upgrade` listener: checks the handshake, builds the scope and starts the app. */
export function handleUpgrade(ctx: ServerContext, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  socket.on('error', onSocketError);
  if (cutIfClosing(socket)) return;
  let refused = refusalOf(ctx, req);
  let scope: WebsocketScope | null = null;
  if (refused === null) {
    try {
      scope = buildWebsocketScope(req, ctx);
    } catch (err) {
      if (!(err instanceof BadRequestTarget)) throw err;
      refused = [400, err.message];
    }
  }
  if (scope === null) {
    const [status, text] = refused!;
    ctx.stats.rejected++;
    ctx.stats.websocketsRefused++;
    ctx.log.debug(`WebSocket handshake for ${req.url} refused with ${status}: ${text}`);
    const body = `${text}\n`;
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: text/plain\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
    return;
  }
  new WebsocketConnection(ctx, req, socket, head, scope).run();
}
