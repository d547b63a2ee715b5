// One HTTP request as an app instance: the body streams in as `http.request` events (reading
// pauses while the app is behind), the response streams out from `http.response.*` events
// (waiting on `drain`), `http.disconnect` arrives when the client goes away or the response is
// done. Errors follow docs/app-interface.md: a bad event throws ERR_INVALID_EVENT, a send after
// the end throws ERR_SEND_AFTER_CLOSE, an app exception gives 500 (or a cut response).
import { SETTLED } from '../asgi/settled.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpReceiveEvent, HttpScope, ReceiveEvent, SendEvent } from '../asgi/types.ts';
import { InvalidEventError, SendAfterCloseError } from '../errors.ts';
import { reportAppFailure } from './app-failure.ts';
import { countResponse, type LiveConnection, type ServerContext } from './context.ts';
import type { InFlightMember } from './in-flight-list.ts';
import { checkBody, checkBool, checkStatus, flatHeaders } from './events.ts';
import { BadRequestTarget, buildHttpScope } from './scope.ts';

const EMPTY = Buffer.alloc(0);
const LAST_EMPTY: HttpReceiveEvent = Object.freeze({
  type: 'http.request',
  body: EMPTY,
  more_body: false,
}) as HttpReceiveEvent;
const DISCONNECT: HttpReceiveEvent = Object.freeze({ type: 'http.disconnect' });

/** Writes a small complete response outside of any app (errors, limits). */
/**
 * Connections on which the server has answered a request itself with `Connection: close`. No
 * request after that one is processed (RFC 9112 §9.6): one pipelined behind it is not handed to
 * the app, whose answer could never be sent, and its connection is cut.
 */
const closingSockets = new WeakSet<object>();

/** Whether a request arrived on a connection already answered with `close`; if so, it is cut. */
export function cutIfClosing(socket: { destroy(): void } | null | undefined): boolean {
  if (!socket || !closingSockets.has(socket)) return false;
  socket.destroy();
  return true;
}

export function plainResponse(res: ServerResponse, status: number, text: string, close = false): void {
  if (close && res.socket) closingSockets.add(res.socket);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = Buffer.from(text + '\n');
  const headers: Record<string, string | number> = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': body.length,
  };
  // HTTP/2 has no connection header (RFC 9113 §8.2.2): the stream ends, the connection stays.
  if (close && res.req?.httpVersionMajor !== 2) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(body);
}

// Listeners and timer callbacks are module functions, not per-request closures: a request
// should cost as few allocations as the app interface allows.
function destroyResponse(res: ServerResponse): void {
  res.destroy();
}
function onResponseTimeout(conn: HttpConnection): void {
  conn.onTimeout();
}
function onAbandonTimeout(conn: HttpConnection): void {
  conn.onAbandon();
}
const kConn = Symbol('canal.httpConnection');
/** 'close' on the response (it is done, or the client went away first), told to its connection once. */
function onResponseClose(this: ServerResponse & { [kConn]?: HttpConnection }): void {
  const conn = this[kConn];
  if (conn !== undefined) {
    this[kConn] = undefined;
    conn.onClose();
  }
}

const State = {
  Init: 0,
  Started: 1,
  Trailers: 2,
  Done: 3,
} as const;
type State = (typeof State)[keyof typeof State];

class HttpConnection implements LiveConnection, InFlightMember {
  prevInFlight: InFlightMember | null = null;
  nextInFlight: InFlightMember | null = null;
  // `done` is only asked for on shutdown; made on demand so a request costs one promise less.
  private donePromise: Promise<void> | null = null;
  private resolveDone: (() => void) | null = null;
  private state: State = State.Init;
  private status = 0;
  private headers: string[] | null = null;
  private wantTrailers = false;
  private bytes = 0;
  // Only the access log needs the duration.
  private readonly started: number;
  private clientGone = false;
  private bodyDone: boolean;
  private reading = false;
  /** The app has been given the body's last event (more_body false). */
  private lastGiven = false;
  private chunks: Buffer[] = [];
  private received = 0;
  private waiter: ((event: HttpReceiveEvent) => void) | null = null;
  private appDone = false;
  private timer: NodeJS.Timeout | null = null;
  /** A chunked body has no length to check up front: its size is known once it is all read. */
  private readonly chunked: boolean;
  /** The end of a response the app finished before reading all of a chunked body (endAfterBody). */
  private held: (() => void) | null = null;

  declare private readonly ctx: ServerContext;
  declare private readonly req: IncomingMessage;
  declare private readonly res: ServerResponse;
  declare private readonly scope: HttpScope;
  constructor(
    ctx: ServerContext,
    req: IncomingMessage,
    res: ServerResponse,
    scope: HttpScope,
    bodyLess: boolean,
    chunked: boolean,
  ) {
    this.ctx = ctx;
    this.req = req;
    this.res = res;
    this.scope = scope;
    this.bodyDone = bodyLess;
    this.chunked = chunked;
    this.started = ctx.accessLog === null ? 0 : Date.now();
    (res as ServerResponse & { [kConn]?: HttpConnection })[kConn] = this;
    res.on('close', onResponseClose);
    if (ctx.options.httpResponseTimeoutMs > 0) {
      this.timer = setTimeout(onResponseTimeout, ctx.options.httpResponseTimeoutMs, this);
    }
  }

  /** Runs the app instance to its end; an app error is answered and logged, never raised. */
  run(): void {
    this.ctx.httpInFlight.add(this);
    let running: unknown;
    try {
      running = this.ctx.app(this.scope, this.receive.bind(this), this.send.bind(this));
    } catch (err) {
      this.onAppError(err);
      return;
    }
    // Callbacks on the app's promise, not an async run() awaiting it: no async frame is kept
    // alive for every request in flight.
    if (typeof (running as { then?: unknown } | null)?.then === 'function') {
      (running as Promise<unknown>).then(
        () => this.onAppReturn(),
        (err: unknown) => this.onAppError(err),
      );
    } else this.onAppReturn();
  }

  receive(): Promise<ReceiveEvent> {
    if (this.chunks.length > 0) {
      const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
      this.chunks = [];
      if (!this.bodyDone) this.req.resume();
      else this.lastGiven = true;
      return Promise.resolve({ type: 'http.request', body, more_body: !this.bodyDone });
    }
    // The body ended with no receive waiting (an empty body, or its end right after the chunk
    // the app last took): the app is still owed the event that says so.
    if (this.bodyDone && !this.lastGiven) {
      this.reading = true;
      this.lastGiven = true;
      return Promise.resolve(LAST_EMPTY);
    }
    if (this.clientGone || (this.bodyDone && this.state === State.Done)) return Promise.resolve(DISCONNECT);
    if (!this.reading) this.startReading();
    return new Promise((resolve) => (this.waiter = resolve));
  }

  private startReading(): void {
    this.reading = true;
    const limit = this.ctx.options.maxRequestBodyBytes;
    this.req.on('data', (chunk: Buffer) => {
      this.received += chunk.length;
      if (limit > 0 && this.received > limit) {
        this.ctx.stats.rejected++;
        this.ctx.log.debug(`request body of ${this.scope.method} ${this.scope.path} is over ${limit} bytes`);
        this.held = null;
        // The head is written with the first body event: until then the answer can still be 413.
        if (!this.res.headersSent) plainResponse(this.res, 413, `request body is larger than ${limit} bytes`, true);
        this.req.destroy();
        this.markGone();
        return;
      }
      if (this.held !== null) return; // read only to be measured: the app has answered
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w({ type: 'http.request', body: chunk, more_body: true });
      } else {
        this.chunks.push(chunk);
        this.req.pause(); // backpressure: the app has not taken the last chunk yet
      }
    });
    this.req.on('end', () => {
      this.bodyDone = true;
      const held = this.held;
      if (held !== null) {
        this.held = null;
        held();
        this.wake();
        return;
      }
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        this.lastGiven = true;
        w(LAST_EMPTY);
      }
    });
    this.req.on('error', () => this.markGone());
  }

  onClose(): void {
    // 'close' on the response: finished normally, or the client went away first.
    if (this.state !== State.Done || this.held !== null) {
      this.held = null;
      this.markGone();
    } else this.wake();
    if (this.appDone) this.finish();
    else this.abandonAfter(this.ctx.options.applicationCloseTimeoutMs);
  }

  /** The connection is over; an app that still has not returned after `ms` is given up on. */
  private abandonAfter(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(onAbandonTimeout, ms, this);
    this.timer.unref();
  }

  onAbandon(): void {
    this.timer = null;
    if (this.appDone) return;
    this.ctx.log.warn(
      `${this.scope.method} ${this.scope.path}: the application did not return within ` +
        `${this.ctx.options.applicationCloseTimeoutMs} ms (applicationCloseTimeoutMs) after the connection ended; ` +
        'abandoning it',
    );
    this.finish();
  }

  private markGone(): void {
    this.clientGone = true;
    this.wake();
  }

  private wake(): void {
    if (this.waiter && (this.clientGone || this.bodyDone)) {
      const w = this.waiter;
      this.waiter = null;
      w(DISCONNECT);
    }
  }

  send(event: SendEvent): Promise<void> {
    // Not async: most sends finish at once and share one resolved promise.
    try {
      return this.deliver(event) ?? SETTLED;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Acts on one event; returns a promise only when the app must wait (backpressure). */
  private deliver(event: SendEvent): Promise<void> | undefined {
    if (event === null || typeof event !== 'object')
      throw new InvalidEventError(`send() takes an event object, not ${String(event)}`);
    const type = event.type;
    if (this.clientGone || this.state === State.Done) {
      throw new SendAfterCloseError(
        `${type} after the ${this.clientGone ? 'client went away' : 'response finished'} ` +
          `(${this.scope.method} ${this.scope.path})`,
      );
    }
    switch (type) {
      case 'http.response.start': {
        if (this.state !== State.Init)
          throw new InvalidEventError(`http.response.start sent twice (${this.scope.path})`);
        this.status = checkStatus(type, event.status);
        this.headers = flatHeaders(type, event.headers);
        this.wantTrailers = checkBool(type, 'trailers', event.trailers);
        this.state = State.Started;
        return;
      }
      case 'http.response.body': {
        if (this.state === State.Init)
          throw new InvalidEventError(`http.response.body before http.response.start (${this.scope.path})`);
        if (this.state === State.Trailers)
          throw new InvalidEventError(`http.response.body after the last body chunk; send http.response.trailers`);
        const body = checkBody(type, event.body);
        const more = checkBool(type, 'more_body', event.more_body);
        const res = this.res;
        if (body !== undefined) this.bytes += typeof body === 'string' ? Buffer.byteLength(body) : body.length;
        if (!more && !this.wantTrailers) {
          this.state = State.Done;
          if (this.bodyUnread()) this.endAfterBody(() => this.end(body));
          else this.end(body);
          return;
        }
        if (!res.headersSent) res.writeHead(this.status, this.headers!);
        if (more) {
          if (body !== undefined && body.length > 0 && !res.write(body)) return this.drained();
          return;
        }
        this.state = State.Trailers;
        if (body !== undefined && body.length > 0 && !res.write(body)) return this.drained();
        return;
      }
      case 'http.response.trailers': {
        if (this.state !== State.Trailers) {
          throw new InvalidEventError(
            'http.response.trailers needs trailers: true in http.response.start and a finished body ' +
              `(${this.scope.path})`,
          );
        }
        const more = checkBool(type, 'more_trailers', event.more_trailers);
        const pairs = flatHeaders(type, event.headers);
        const trailers: [string, string][] = [];
        for (let i = 0; i < pairs.length; i += 2) trailers.push([pairs[i]!, pairs[i + 1]!]);
        this.res.addTrailers(trailers);
        if (!more) {
          this.state = State.Done;
          if (this.bodyUnread()) this.endAfterBody(() => this.end(undefined));
          else this.end(undefined);
        }
        return;
      }
      default:
        throw new InvalidEventError(
          `${String(type)} is not an HTTP event; an http app sends http.response.start, http.response.body ` +
            'or http.response.trailers',
        );
    }
  }

  private end(body: string | Uint8Array | undefined): void {
    if (!this.res.headersSent) this.res.writeHead(this.status, this.headers!);
    this.res.end(body);
  }

  /** Whether part of a chunked body is still unread while maxRequestBodyBytes applies. */
  private bodyUnread(): boolean {
    return this.chunked && !this.bodyDone && !this.clientGone && this.ctx.options.maxRequestBodyBytes > 0;
  }

  /**
   * The app finished its response without reading all of a chunked body. The limit holds for
   * a body the app never reads too, so the rest is read (and dropped) before the response goes
   * out: within maxRequestBodyBytes the response follows, past it the client gets 413 instead.
   * (Node would read and drop it after the response, without a limit.)
   */
  private endAfterBody(end: () => void): void {
    this.held = end;
    this.chunks = [];
    if (!this.reading) this.startReading();
    this.req.resume();
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }

  onTimeout(): void {
    this.timer = null;
    if (this.held !== null) {
      // Answered, but the request body has not all come within the time: cut.
      this.held = null;
      this.res.destroy();
      this.markGone();
      return;
    }
    if (this.state === State.Done) return;
    this.ctx.log.warn(
      `${this.scope.method} ${this.scope.path}: no complete response within ` +
        `${this.ctx.options.httpResponseTimeoutMs} ms`,
    );
    if (this.state === State.Init) plainResponse(this.res, 503, 'the application did not answer in time', true);
    else this.res.destroy();
    this.state = State.Done;
    this.markGone();
  }

  private onAppReturn(): void {
    this.appDone = true;
    if (this.state !== State.Done && !this.clientGone) {
      this.ctx.log.error(
        `${this.scope.method} ${this.scope.path}: the application returned without completing the response`,
      );
      this.ctx.stats.appErrors++;
      if (this.state === State.Init) plainResponse(this.res, 500, 'Internal Server Error');
      else this.res.destroy();
      this.state = State.Done;
    }
    if (this.res.writableFinished || this.res.destroyed || this.clientGone) this.finish();
  }

  private onAppError(err: unknown): void {
    this.appDone = true;
    reportAppFailure(this.ctx, this.scope.method, this.scope.path, err, this.clientGone);
    if (!this.clientGone && this.state !== State.Done) {
      if (this.state === State.Init) plainResponse(this.res, 500, 'Internal Server Error');
      // Cut after what was written is flushed (node uncorks on the next tick), so the client
      // sees the partial response end abruptly rather than nothing at all.
      else setImmediate(destroyResponse, this.res);
    }
    this.state = State.Done;
    this.finish();
  }

  private finished = false;
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    this.ctx.httpInFlight.delete(this);
    if (this.res.headersSent) countResponse(this.ctx.stats, this.res.statusCode);
    this.ctx.accessLog?.http(
      this.scope,
      this.res.headersSent ? this.res.statusCode : 499,
      this.bytes,
      Date.now() - this.started,
    );
    this.resolveDone?.();
  }

  get done(): Promise<void> {
    if (this.finished) return Promise.resolve();
    return (this.donePromise ??= new Promise((r) => (this.resolveDone = r)));
  }

  shutdown(): void {
    // In-flight responses may finish; the server destroys what is left after drainTimeoutMs.
    this.res.shouldKeepAlive = false;
    // An event stream never finishes by itself, so it would hold the shutdown for the whole
    // drain: it is ended now (a clean end of the chunked body) and its app hears
    // http.disconnect, so the browser's EventSource reconnects — to another server, as a
    // WebSocket does after 1012. Other responses (a download, a long-poll) keep the drain.
    if (this.state === State.Started && !this.clientGone && this.isEventStream()) {
      this.ctx.log.debug(`${this.scope.path}: shutting down; ending the event stream`);
      this.state = State.Done;
      this.res.end();
      this.markGone();
    }
  }

  private isEventStream(): boolean {
    const h = this.headers;
    if (h === null) return false;
    for (let i = 0; i < h.length; i += 2) {
      if (h[i]!.length === 12 && h[i]!.toLowerCase() === 'content-type')
        return /^\s*text\/event-stream/i.test(h[i + 1]!);
    }
    return false;
  }

  destroy(): void {
    this.res.destroy();
    this.markGone();
    this.finish();
  }
}

export function handleHttpRequest(ctx: ServerContext, req: IncomingMessage, res: ServerResponse): void {
  if (cutIfClosing(req.socket)) return;
  ctx.stats.httpRequests++;
  // Read from rawHeaders: touching req.headers makes node build a header object per request.
  let length: string | undefined;
  let chunked = false;
  let hosts = 0;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 14 && name.toLowerCase() === 'content-length') length = raw[i + 1];
    else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') chunked = true;
    else if (name.length === 4 && name.toLowerCase() === 'host') hosts++;
  }
  // An HTTP/2 body has no framing header: its length is known once it is read, as a chunked one.
  if (length === undefined && !chunked && req.httpVersionMajor === 2) chunked = !h2EndedWithHead(req);
  if (hosts !== 1 && (hosts > 1 || needsHost(req))) {
    // RFC 9112 §3.2 (see countHosts).
    ctx.stats.rejected++;
    ctx.log.debug(`${req.method} ${req.url}: refused, ${hosts} Host headers`);
    ctx.stats.httpResponses4xx++;
    plainResponse(res, 400, `Bad Request: ${hosts} Host headers; a request has one`, true);
    return;
  }
  let scope: HttpScope;
  try {
    scope = buildHttpScope(req, ctx);
  } catch (err) {
    if (!(err instanceof BadRequestTarget)) throw err;
    ctx.stats.rejected++;
    ctx.log.debug(err.message);
    ctx.stats.httpResponses4xx++;
    plainResponse(res, 400, 'Bad Request: ' + err.message, true);
    return;
  }
  const limit = ctx.options.maxRequestBodyBytes;
  if (limit > 0 && length !== undefined && Number(length) > limit) {
    ctx.stats.rejected++;
    ctx.log.debug(`${req.method} ${scope.path}: content-length ${length} is over ${limit}`);
    ctx.stats.httpResponses4xx++;
    plainResponse(res, 413, `request body is larger than ${limit} bytes`, true);
    return;
  }
  if (ctx.shuttingDown) res.shouldKeepAlive = false;
  new HttpConnection(ctx, req, res, scope, !chunked && (length === undefined || Number(length) === 0), chunked).run();
}

/** Whether an HTTP/2 request's head ended its stream (END_STREAM on HEADERS): it has no body. */
function h2EndedWithHead(req: IncomingMessage): boolean {
  return (req as IncomingMessage & { stream?: { endAfterHeaders?: boolean } }).stream?.endAfterHeaders === true;
}

/**
 * How many Host headers a request has (rawHeaders names as received). More than one gets 400
 * before any app runs (RFC 9112 §3.2): readers disagree on which one counts (Node and most
 * frameworks keep the first, a check may take the last), so an allowed Host could vouch for a
 * request every other reader takes as addressed to another host.
 */
/** An HTTP/1.1 request must carry a Host header (RFC 9112 §3.2); HTTP/1.0 may leave it out. */
export function needsHost(req: IncomingMessage): boolean {
  return req.httpVersionMajor === 1 && req.httpVersionMinor >= 1;
}

export function countHosts(raw: readonly string[]): number {
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') hosts++;
  return hosts;
}

export type { HttpConnection };
