// One WebSocket as an app instance. The handshake waits for the app: `websocket.accept`
// completes it (with the chosen subprotocol and extra headers), `websocket.close` refuses it
// (403), `websocket.http.response.*` answers with any HTTP response (the denial-response
// extension). Frames go both ways as `websocket.receive`/`websocket.send`; the peer's close
// becomes `websocket.disconnect` with its code and reason. `ws` speaks the protocol (framing,
// UTF-8 checks → 1007, maxPayload → 1009); frames out go through frame-writer.ts.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ReceiveEvent, SendEvent, WebsocketReceiveEventAny, WebsocketScope } from '../asgi/types.js';
import { InvalidEventError, SendAfterCloseError } from '../errors.js';
import type { LiveConnection, ServerContext } from './context.js';
import { checkBody, checkBool, checkStatus, flatHeaders, invalid } from './events.js';
import { writeDataFrame } from './frame-writer.js';
import { BadRequestTarget, buildWebsocketScope } from './scope.js';
import { keepalive } from './websocket-keepalive.js';

const CONNECT: WebsocketReceiveEventAny = Object.freeze({ type: 'websocket.connect' });
const INBOX_HIGH = 64;
const kAccept = Symbol('canal.accept');

interface AcceptInfo {
  subprotocol: string | null;
  headers: string[];
}

const servers = new WeakMap<ServerContext, WebSocketServer>();

function wssFor(ctx: ServerContext): WebSocketServer {
  let wss = servers.get(ctx);
  if (!wss) {
    wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      clientTracking: false,
      maxPayload: ctx.options.websocketMaxMessageBytes,
      handleProtocols: (_offered, req) => (req as IncomingMessage & { [kAccept]?: AcceptInfo })[kAccept]?.subprotocol ?? false,
    });
    wss.on('headers', (headers, req) => {
      const extra = (req as IncomingMessage & { [kAccept]?: AcceptInfo })[kAccept]?.headers;
      if (extra) for (let i = 0; i < extra.length; i += 2) headers.push(`${extra[i]}: ${extra[i + 1]}`);
    });
    servers.set(ctx, wss);
  }
  return wss;
}

const enum State {
  Connecting,
  Responding, // denial response under way
  Open,
  Closed,
}

/** What a close code from an app may be (RFC 6455 §7.4). */
function checkCloseCode(code: unknown): number {
  if (code === undefined) return 1000;
  if (typeof code !== 'number' || !Number.isInteger(code) || !(code === 1000 || (code >= 3000 && code <= 4999) || (code >= 1001 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006))) {
    throw invalid('websocket.close', 'code', code, '1000, 1001–1014 (not 1004–1006) or 3000–4999');
  }
  return code;
}

export class WebsocketConnection implements LiveConnection {
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  state = State.Connecting;
  ws: WebSocket | null = null;
  lastSeen = Date.now();
  openedAt = 0;
  pingSent = false;
  private inbox: WebsocketReceiveEventAny[] = [CONNECT];
  private waiter: ((e: ReceiveEvent) => void) | null = null;
  private paused = false;
  private handshakeTimer: NodeJS.Timeout | null;
  private disconnected = false;
  private appDone = false;
  private closeTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly ctx: ServerContext,
    private readonly req: IncomingMessage,
    private readonly socket: Duplex,
    private readonly head: Buffer,
    readonly scope: WebsocketScope,
  ) {
    this.done = new Promise((r) => (this.resolveDone = r));
    this.handshakeTimer = setTimeout(this.onHandshakeTimeout, ctx.options.websocketHandshakeTimeoutMs);
    socket.on('close', this.onSocketClose);
  }

  run(): void {
    this.ctx.websockets.add(this);
    let result: Promise<void>;
    try {
      result = this.ctx.app(this.scope, this.receive, this.send);
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(this.onAppReturn, this.onAppError);
  }

  receive = (): Promise<ReceiveEvent> => {
    const next = this.inbox.shift();
    if (next) {
      if (this.paused && this.inbox.length < INBOX_HIGH / 2) {
        this.paused = false;
        this.ws?.resume();
      }
      return Promise.resolve(next);
    }
    return new Promise((resolve) => (this.waiter = resolve));
  };

  private push(event: WebsocketReceiveEventAny): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(event);
      return;
    }
    this.inbox.push(event);
    if (!this.paused && this.inbox.length >= INBOX_HIGH && this.ws) {
      this.paused = true; // the app is behind: stop reading this socket until it catches up
      this.ws.pause();
    }
  }

  /** The app's view of the end: one websocket.disconnect, whatever ended the connection. */
  private disconnect(code: number, reason = ''): void {
    if (this.disconnected) return;
    this.disconnected = true;
    this.state = State.Closed;
    if (this.handshakeTimer) {
      clearTimeout(this.handshakeTimer);
      this.handshakeTimer = null;
    }
    keepalive.remove(this.ctx, this);
    if (this.openedAt) {
      this.ctx.stats.websocketsOpen--;
      this.ctx.accessLog?.websocket('disconnect', this.scope, { code, durationMs: Date.now() - this.openedAt });
    }
    this.push({ type: 'websocket.disconnect', code, reason });
    if (!this.appDone && this.ctx.options.applicationCloseTimeoutMs > 0) {
      this.closeTimer = setTimeout(() => {
        this.ctx.log.warn(`${this.scope.path}: the application did not return within ${this.ctx.options.applicationCloseTimeoutMs} ms of the disconnect; abandoning it`);
        this.finish();
      }, this.ctx.options.applicationCloseTimeoutMs);
      this.closeTimer.unref();
    }
    if (this.appDone) this.finish();
  }

  private onSocketClose = (): void => {
    if (!this.disconnected && !this.ws) this.disconnect(1006);
  };

  private onHandshakeTimeout = (): void => {
    this.handshakeTimer = null;
    if (this.state !== State.Connecting) return;
    this.ctx.log.debug(`${this.scope.path}: no accept or close within ${this.ctx.options.websocketHandshakeTimeoutMs} ms; dropping the handshake`);
    this.ctx.accessLog?.websocket('reject', this.scope, { status: 503 });
    this.rawResponse(503, [], Buffer.from('handshake timed out\n'));
    this.disconnect(1006);
  };

  send = async (event: SendEvent): Promise<void> => {
    if (event === null || typeof event !== 'object') throw new InvalidEventError(`send() takes an event object, not ${String(event)}`);
    const type = event.type;
    if (type === 'websocket.send') {
      if (this.state !== State.Open) {
        if (this.state === State.Connecting) throw new InvalidEventError(`websocket.send before websocket.accept (${this.scope.path})`);
        throw new SendAfterCloseError(`websocket.send after the connection closed (${this.scope.path})`);
      }
      const { text, bytes } = event;
      const hasText = text !== undefined && text !== null;
      const hasBytes = bytes !== undefined && bytes !== null;
      if (hasText === hasBytes) throw new InvalidEventError(`websocket.send needs exactly one of 'text' and 'bytes' (${this.scope.path})`);
      if (hasText && typeof text !== 'string') throw invalid(type, 'text', text, 'a string');
      if (hasBytes && !(bytes instanceof Uint8Array)) throw invalid(type, 'bytes', bytes, 'a Buffer or Uint8Array');
      if (this.socket.writableLength > this.ctx.options.maxBufferedBytes) {
        this.dropSlowClient();
        return;
      }
      writeDataFrame(this.socket, hasText ? text! : bytes!, !hasText);
      return;
    }
    switch (type) {
      case 'websocket.accept': {
        if (this.state !== State.Connecting) {
          if (this.state === State.Closed) throw new SendAfterCloseError(`websocket.accept after the connection closed (${this.scope.path})`);
          throw new InvalidEventError(`websocket.accept sent twice or after a response (${this.scope.path})`);
        }
        const sub = event.subprotocol ?? null;
        if (sub !== null && (typeof sub !== 'string' || !this.scope.subprotocols.includes(sub))) {
          throw invalid(type, 'subprotocol', sub, `one the client offered (${JSON.stringify(this.scope.subprotocols)})`);
        }
        const headers = flatHeaders(type, event.headers);
        this.accept({ subprotocol: sub, headers });
        return;
      }
      case 'websocket.close': {
        const code = checkCloseCode(event.code);
        const reason = event.reason ?? '';
        if (typeof reason !== 'string' || Buffer.byteLength(reason) > 123) throw invalid(type, 'reason', reason, 'a string of at most 123 bytes');
        if (this.state === State.Connecting) {
          this.ctx.accessLog?.websocket('reject', this.scope, { status: 403 });
          this.rawResponse(403, [], Buffer.alloc(0));
          this.disconnect(1006);
          return;
        }
        if (this.state !== State.Open) throw new SendAfterCloseError(`websocket.close after the connection closed (${this.scope.path})`);
        this.state = State.Closed;
        this.ws!.close(code, reason);
        return;
      }
      case 'websocket.http.response.start': {
        if (this.state !== State.Connecting) {
          throw new InvalidEventError(`websocket.http.response.start is only allowed before accept (${this.scope.path})`);
        }
        const status = checkStatus(type, event.status);
        const headers = flatHeaders(type, event.headers);
        this.state = State.Responding;
        this.clearHandshakeTimer();
        this.ctx.accessLog?.websocket('reject', this.scope, { status });
        let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`;
        let hasLength = false;
        for (let i = 0; i < headers.length; i += 2) {
          if (headers[i]!.toLowerCase() === 'content-length') hasLength = true;
          head += `${headers[i]}: ${headers[i + 1]}\r\n`;
        }
        // Without a content-length the body is delimited by closing the connection.
        head += hasLength ? 'connection: close\r\n\r\n' : 'connection: close\r\n\r\n';
        this.socket.write(head, 'latin1');
        return;
      }
      case 'websocket.http.response.body': {
        if (this.state !== State.Responding) {
          throw new InvalidEventError(`websocket.http.response.body needs websocket.http.response.start first (${this.scope.path})`);
        }
        const body = checkBody(type, event.body);
        const more = checkBool(type, 'more_body', event.more_body);
        if (body !== undefined && body.length > 0) this.socket.write(body);
        if (!more) {
          this.socket.end();
          this.disconnect(1006);
        }
        return;
      }
      default:
        throw new InvalidEventError(
          `${String(type)} is not a WebSocket event; a websocket app sends websocket.accept, websocket.send, websocket.close or websocket.http.response.*`,
        );
    }
  };

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer) {
      clearTimeout(this.handshakeTimer);
      this.handshakeTimer = null;
    }
  }

  private accept(info: AcceptInfo): void {
    this.clearHandshakeTimer();
    (this.req as IncomingMessage & { [kAccept]?: AcceptInfo })[kAccept] = info;
    this.state = State.Open;
    wssFor(this.ctx).handleUpgrade(this.req, this.socket, this.head, (ws) => {
      this.ws = ws;
      this.openedAt = this.lastSeen = Date.now();
      this.ctx.stats.websocketsOpen++;
      this.ctx.stats.websocketsTotal++;
      this.ctx.accessLog?.websocket('connect', this.scope);
      keepalive.add(this.ctx, this);
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        this.lastSeen = Date.now();
        this.push(isBinary ? { type: 'websocket.receive', bytes: data } : { type: 'websocket.receive', text: data.toString('utf8') });
      });
      ws.on('pong', () => {
        this.lastSeen = Date.now();
        this.pingSent = false;
      });
      ws.on('close', (code: number, reason: Buffer) => this.disconnect(code === 1005 ? 1000 : code, reason.toString('utf8')));
      ws.on('error', (err: Error & { code?: string }) => {
        // A protocol error from the client: ws closes with the matching code; the app hears it.
        this.ctx.log.debug(`${this.scope.path}: ${err.message}`);
        this.ctx.stats.rejected++;
        const code = err.code === 'WS_ERR_INVALID_UTF8' ? 1007 : err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 1009 : 1002;
        this.disconnect(code, err.message.slice(0, 120));
      });
      if (this.state === State.Closed) ws.close(); // closed by the server while the upgrade finished
    });
  }

  /** Writes an HTTP response on the raw socket (refused handshakes) and ends it. */
  private rawResponse(status: number, headers: string[], body: Buffer): void {
    this.state = State.Closed;
    if (this.socket.destroyed) return;
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`;
    for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
    head += `content-length: ${body.length}\r\nconnection: close\r\n\r\n`;
    this.socket.end(Buffer.concat([Buffer.from(head, 'latin1'), body]));
  }

  private dropSlowClient(): void {
    this.ctx.stats.slowClientsClosed++;
    this.ctx.log.warn(`${this.scope.path}: closing a client that is not reading (over ${this.ctx.options.maxBufferedBytes} bytes unsent)`);
    this.closeWith(1008, 'client not reading');
    this.socket.destroy();
  }

  /** Server-side close with a code; the app hears the same code. */
  closeWith(code: number, reason: string): void {
    if (this.state === State.Connecting) {
      this.rawResponse(503, [], Buffer.from(reason + '\n'));
      this.disconnect(1006);
      return;
    }
    if (this.state !== State.Open) return;
    this.state = State.Closed;
    this.ws?.close(code, reason);
    this.disconnect(code, reason);
  }

  terminate(): void {
    this.ws?.terminate();
    this.disconnect(1006);
  }

  shutdown(): void {
    this.closeWith(1012, 'server restarting');
  }

  private onAppReturn = (): void => {
    this.appDone = true;
    if (this.state === State.Connecting) {
      this.ctx.log.debug(`${this.scope.path}: the application returned without accepting; refusing the handshake`);
      this.ctx.accessLog?.websocket('reject', this.scope, { status: 403 });
      this.rawResponse(403, [], Buffer.alloc(0));
      this.disconnect(1006);
    } else if (this.state === State.Open) {
      this.closeWith(1000, '');
    }
    if (this.disconnected) this.finish();
  };

  private onAppError = (err: unknown): void => {
    this.appDone = true;
    this.ctx.stats.appErrors++;
    this.ctx.log.error(`WebSocket ${this.scope.path}: the application raised`, err);
    if (this.state === State.Connecting) {
      // As a failed connect() in Channels: the handshake is refused.
      this.ctx.accessLog?.websocket('reject', this.scope, { status: 403 });
      this.rawResponse(403, [], Buffer.alloc(0));
      this.disconnect(1006);
    } else if (this.state === State.Open) {
      this.closeWith(1011, 'internal error');
    } else if (this.state === State.Responding) {
      this.socket.destroy();
      this.disconnect(1006);
    }
    this.finish();
  };

  private finished = false;
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.closeTimer) clearTimeout(this.closeTimer);
    this.ctx.websockets.delete(this);
    this.resolveDone();
  }
}

export function handleUpgrade(ctx: ServerContext, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  socket.on('error', (err) => ctx.log.debug(`socket error during a WebSocket: ${err.message}`));
  const reject = (status: number, text: string) => {
    ctx.stats.rejected++;
    const body = Buffer.from(text + '\n');
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${text}\n`);
  };
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') return reject(400, 'only WebSocket upgrades are served');
  const key = req.headers['sec-websocket-key'];
  const version = req.headers['sec-websocket-version'];
  if (req.method !== 'GET' || !key || !/^[+/0-9A-Za-z]{22}==$/.test(key) || (version !== '13' && version !== '8')) {
    ctx.log.debug(`malformed WebSocket handshake for ${req.url}`);
    return reject(400, 'malformed WebSocket handshake (method, Sec-WebSocket-Key or Sec-WebSocket-Version)');
  }
  if (ctx.shuttingDown) return reject(503, 'server shutting down');
  let scope: WebsocketScope;
  try {
    scope = buildWebsocketScope(req, ctx);
  } catch (err) {
    if (!(err instanceof BadRequestTarget)) throw err;
    ctx.log.debug(err.message);
    return reject(400, err.message);
  }
  new WebsocketConnection(ctx, req, socket, head, scope).run();
}
