// nodeHttpApp: mounts a Node `(req, res)` handler (Express, Connect, Hono's node adapter,
// Fastify's routing) as an HTTP app on the app interface.
//
// How: the handler gets a real `http.IncomingMessage` and a real `http.ServerResponse`, both
// attached to a stand-in socket (a Duplex that carries the peer addresses from the scope and
// never sees a byte). The request body is pushed into the IncomingMessage from `http.request`
// events, pulled only when the handler reads (its `_read` asks `receive()` for the next chunk),
// so a slow handler holds back the upload. On the response, the byte-producing methods
// (`writeHead`, `write`, `end`, `flushHeaders`) are replaced on the instance; everything else
// (`setHeader`, `getHeaders`, `statusCode`, the prototype Express swaps in) is Node's own.
//
// Why not let ServerResponse write to the stand-in socket: it would produce HTTP/1.1 bytes
// (status line, chunked framing) that would then have to be parsed back into events by hand,
// and the server turns events into those same bytes again. What the adapter costs per request
// is mostly Node's own IncomingMessage/ServerResponse set-up.
//
// Not expressible on the app interface, so dropped: the status message (reason phrase) and
// informational responses (`writeContinue`, `writeEarlyHints` are no-ops).
import { IncomingMessage, ServerResponse } from 'node:http';
import { Duplex } from 'node:stream';
import type { Application, HttpReceiveEvent, HttpScope, HttpSendEvent, Receive, Scope, Send } from '../asgi/types.ts';
import { InvalidOptionError, UnknownScopeTypeError } from '../errors.ts';
import { createLogger } from '../logging.ts';

const log = createLogger('http-app');

/** A Node request listener: `(req, res)`, as `http.createServer` takes it. */
export type NodeHttpHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

export interface NodeHttpAppOptions {
  /**
   * Bytes of response body the adapter accepts ahead of the client before `res.write()`
   * returns false (and `drain` follows), as a socket's high-water mark does.
   * @default 65536
   */
  highWaterMark?: number;
}

/** Peer addresses the handler reads from `req.socket`, taken from the scope. */
class StandInSocket extends Duplex {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly remoteFamily: string | undefined;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  readonly encrypted: boolean | undefined;

  constructor(scope: HttpScope) {
    super({ allowHalfOpen: true });
    const client = scope.client;
    const server = scope.server;
    this.remoteAddress = client?.[0];
    this.remotePort = client?.[1] ?? undefined;
    this.remoteFamily = client ? family(client[0]) : undefined;
    this.localAddress = server?.[0];
    this.localPort = server?.[1] ?? undefined;
    // Express's req.protocol and similar read `socket.encrypted`.
    if (scope.scheme === 'https') this.encrypted = true;
    // Node destroys a request's socket with its error; that error is the request's, reported there.
    this.on('error', () => {});
  }
  override _read(): void {}
  override _write(_chunk: unknown, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    callback(); // nothing writes here: the response methods that would are replaced
  }
  address(): { address: string; port: number; family: string } | Record<string, never> {
    if (this.localAddress === undefined) return {};
    return { address: this.localAddress, port: this.localPort ?? 0, family: family(this.localAddress) };
  }
  setTimeout(_ms: number, callback?: () => void): this {
    if (callback) this.once('timeout', callback);
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}

function family(address: string): string {
  return address.includes(':') ? 'IPv6' : 'IPv4';
}

// Node keeps the first of these when repeated and drops the rest (see http.IncomingMessage).
const SINGLE = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/** `req.headers` and `req.headersDistinct` by Node's rules for repeated headers. */
function headerObjects(raw: string[]): {
  headers: Record<string, string | string[]>;
  distinct: Record<string, string[]>;
} {
  const headers: Record<string, string | string[]> = {};
  const distinct: Record<string, string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    (distinct[name] ??= []).push(value);
    const prev = headers[name];
    if (prev === undefined) headers[name] = name === 'set-cookie' ? [value] : value;
    else if (name === 'set-cookie') (prev as string[]).push(value);
    else if (SINGLE.has(name)) continue;
    else headers[name] = `${prev as string}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  return { headers, distinct };
}

/** The request target the handler sees: the raw path without root_path, then the query. */
function requestUrl(scope: HttpScope): string {
  let path = scope.raw_path && scope.raw_path.length > 0 ? scope.raw_path.toString('latin1') : encodeURI(scope.path);
  const root = scope.root_path;
  if (root && path.startsWith(root)) path = path.slice(root.length);
  if (!path.startsWith('/')) path = '/' + path;
  const query = scope.query_string?.length ? scope.query_string.toString('latin1') : '';
  return query ? `${path}?${query}` : path;
}

function headersSentError(what: string): Error {
  return Object.assign(new Error(`Cannot ${what} after they are sent to the client`), {
    code: 'ERR_HTTP_HEADERS_SENT',
  });
}

type Callback = (error?: Error | null) => void;

/** One request through the handler; `done` settles when the response is over. */
class Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly done: Promise<void>;
  private readonly socket: StandInSocket;
  private resolveDone!: () => void;
  private rejectDone!: (err: unknown) => void;
  private started = false;
  private ended = false; // end() called, or the response replaced by a 500
  private over = false; // done settled
  private gone = false; // the client went away
  private bodyComplete = false;
  private fetching = false;
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  private needDrain = false;
  private resClosed = false;
  private wantTrailers = false;
  private readonly trailers: [string, string][] = [];
  private readonly noBody: boolean;

  declare private readonly scope: HttpScope;
  declare private readonly receive: () => Promise<HttpReceiveEvent>;
  declare private readonly send: (event: HttpSendEvent) => Promise<void>;
  declare private readonly highWaterMark: number;
  constructor(
    scope: HttpScope,
    receive: () => Promise<HttpReceiveEvent>,
    send: (event: HttpSendEvent) => Promise<void>,
    highWaterMark: number,
  ) {
    this.scope = scope;
    this.receive = receive;
    this.send = send;
    this.highWaterMark = highWaterMark;
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    const socket = (this.socket = new StandInSocket(scope));
    const req = (this.req = new IncomingMessage(socket as never));
    const version = scope.http_version === '2' ? [2, 0] : scope.http_version === '1.0' ? [1, 0] : [1, 1];
    req.httpVersionMajor = version[0]!;
    req.httpVersionMinor = version[1]!;
    req.httpVersion = `${version[0]}.${version[1]}`;
    req.method = scope.method;
    req.url = requestUrl(scope);
    // The Canal scope, with what middleware put on it (session, user, cookies), for handlers:
    // `req.scope.session` in Express and Connect, `request.raw.scope` in Fastify,
    // `c.env.incoming.scope` in Hono.
    (req as IncomingMessage & { scope: HttpScope }).scope = scope;
    const raw: string[] = [];
    for (const [name, value] of scope.headers) raw.push(name.toString('latin1'), value.toString('latin1'));
    req.rawHeaders = raw;
    const { headers, distinct } = headerObjects(raw);
    req.headers = headers;
    req.headersDistinct = distinct;
    req._read = () => this.pull();

    const res = (this.res = new ServerResponse(req));
    res.assignSocket(socket as never); // res.socket, and 'close' on res when the socket closes
    this.noBody = scope.method === 'HEAD';
    this.patchResponse(res);
    res.on('error', (err) => this.fail(err));
    res.once('close', () => (this.resClosed = true));
  }

  /** Runs the handler; a sync throw or a rejected promise it returns is a handler error. */
  run(handler: NodeHttpHandler): Promise<void> {
    // Read ahead up to the request's high-water mark, as Node's server reads the socket, so a
    // handler that never reads the body (a long poll) still learns of the disconnect that
    // follows the body. A disconnect behind an unread larger upload is seen once it is read:
    // on the app interface, http.disconnect comes after the body events queued before it.
    this.pull();
    try {
      const result = handler(this.req, this.res);
      if (result && typeof (result as PromiseLike<unknown>).then === 'function') {
        (result as PromiseLike<unknown>).then(undefined, (err: unknown) => this.fail(err));
      }
    } catch (err) {
      this.fail(err);
    }
    return this.done;
  }

  // ---- request body -----------------------------------------------------------------------

  private pull(): void {
    if (this.fetching || this.bodyComplete || this.gone) return;
    this.fetching = true;
    this.receive().then(
      (event) => {
        this.fetching = false;
        if (event.type === 'http.disconnect') return this.disconnected();
        if (event.type !== 'http.request') return;
        const body = event.body;
        if (!event.more_body) {
          this.bodyComplete = true;
          this.req.complete = true;
          if (body && body.length > 0) this.req.push(body);
          this.req.push(null);
          this.watchDisconnect();
          return;
        }
        // push() says whether there is room for more; when there is not, Readable calls _read
        // once the handler has read enough. (IncomingMessage never asks again by itself after a
        // push that had room: Node's parser feeds it without being asked.)
        if (!body || body.length === 0 || this.req.push(body)) this.pull();
      },
      (err: unknown) => {
        this.fetching = false;
        this.req.destroy(err instanceof Error ? err : new Error(String(err)));
      },
    );
  }

  /** After the body, `receive()` resolves only with `http.disconnect`: the client left, or we are done. */
  private watchDisconnect(): void {
    this.receive().then(
      (event) => {
        if (event.type === 'http.disconnect') this.disconnected();
      },
      () => {},
    );
  }

  private disconnected(): void {
    if (this.gone || this.over) return;
    this.gone = true;
    log.debug(`${this.scope.method} ${this.scope.path}: client went away`);
    if (!this.req.destroyed) {
      // As Node does: 'aborted' while the body was unfinished, then 'close'; 'error' only if listened to.
      const err = Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
      this.req.destroy(this.bodyComplete ? undefined : err);
    }
    this.closeThenSettle();
  }

  // ---- response ---------------------------------------------------------------------------

  private patchResponse(res: ServerResponse): void {
    const self = this;
    const guard =
      <K extends 'setHeader' | 'appendHeader' | 'removeHeader'>(_name: K, what: string) =>
      (original: ServerResponse[K]) =>
        function (this: ServerResponse, ...args: unknown[]) {
          if (self.started) throw headersSentError(what);
          return (original as (...a: unknown[]) => unknown).apply(this, args);
        };
    res.setHeader = guard('setHeader', 'set headers')(res.setHeader) as ServerResponse['setHeader'];
    res.appendHeader = guard('appendHeader', 'append headers')(res.appendHeader) as ServerResponse['appendHeader'];
    res.removeHeader = guard('removeHeader', 'remove headers')(res.removeHeader) as ServerResponse['removeHeader'];
    Object.defineProperty(res, 'headersSent', { configurable: true, get: () => this.started });
    Object.defineProperty(res, 'writableNeedDrain', { configurable: true, get: () => this.needDrain && !this.ended });
    res.writeHead = function (this: ServerResponse, status: number, reason?: unknown, headers?: unknown) {
      return self.writeHead(status, reason, headers);
    } as ServerResponse['writeHead'];
    res.write = function (this: ServerResponse, chunk: unknown, encoding?: unknown, cb?: unknown) {
      return self.write(chunk, encoding, cb);
    } as ServerResponse['write'];
    res.end = function (this: ServerResponse, chunk?: unknown, encoding?: unknown, cb?: unknown) {
      self.end(chunk, encoding, cb);
      return this;
    } as ServerResponse['end'];
    res.flushHeaders = () => this.start();
    res.addTrailers = (headers) => {
      const list = Array.isArray(headers) ? headers : Object.entries(headers);
      for (const [name, value] of list) this.trailers.push([String(name).toLowerCase(), String(value)]);
    };
    res.writeContinue = (cb?: () => void) => cb && process.nextTick(cb);
    res.writeProcessing = (cb?: () => void) => cb && process.nextTick(cb);
    res.writeEarlyHints = (_hints: unknown, cb?: () => void) => cb && process.nextTick(cb);
    res.destroy = (error?: Error) => {
      this.cut(error ?? new Error(`the handler destroyed the response to ${this.scope.method} ${this.scope.path}`));
      return res;
    };
  }

  private writeHead(status: number, reason: unknown, headers: unknown): ServerResponse {
    const res = this.res;
    if (this.started) throw headersSentError('write headers');
    if (typeof reason !== 'string') headers = reason;
    else res.statusMessage = reason;
    res.statusCode = status;
    if (Array.isArray(headers)) {
      // Either a flat [name, value, name, value] list or [name, value] pairs; repeats are kept.
      const flat = headers.length > 0 && !Array.isArray(headers[0]);
      const count = flat ? headers.length / 2 : headers.length;
      for (let i = 0; i < count; i++) {
        const [name, value] = flat ? [headers[2 * i], headers[2 * i + 1]] : (headers[i] as unknown[]);
        res.appendHeader(String(name), value as string);
      }
    } else if (headers && typeof headers === 'object') {
      for (const [name, value] of Object.entries(headers))
        if (value !== undefined) res.setHeader(name, value as string);
    }
    this.start();
    return res;
  }

  /** Sends `http.response.start` from the status and headers set so far (once). */
  private start(): void {
    if (this.started) return;
    const res = this.res;
    const headers: [string, string][] = [];
    for (const [name, value] of Object.entries(res.getHeaders())) {
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const v of value) headers.push([name, String(v)]);
      else headers.push([name, String(value)]);
    }
    this.started = true;
    // Trailers go out when the handler announced them (a Trailer header, as Node requires)
    // and the server offers the trailers extension.
    this.wantTrailers = res.hasHeader('trailer') && this.scope.extensions?.['http.response.trailers'] !== undefined;
    this.enqueue(
      {
        type: 'http.response.start',
        status: res.statusCode,
        headers,
        ...(this.wantTrailers ? { trailers: true } : {}),
      },
      0,
    );
  }

  private write(chunk: unknown, encoding: unknown, cb: unknown): boolean {
    if (typeof encoding === 'function') [cb, encoding] = [encoding, undefined];
    const callback = typeof cb === 'function' ? (cb as Callback) : undefined;
    if (chunk === null)
      throw Object.assign(new TypeError('May not write null values to stream'), { code: 'ERR_STREAM_NULL_VALUES' });
    if (this.ended || this.gone) {
      const err = Object.assign(
        new Error(this.gone ? 'Cannot call write after the client went away' : 'write after end'),
        {
          code: this.gone ? 'ERR_STREAM_DESTROYED' : 'ERR_STREAM_WRITE_AFTER_END',
        },
      );
      process.nextTick(() => callback?.(err));
      return false;
    }
    this.start();
    const body = this.toBuffer(chunk, encoding);
    if (body.length === 0) {
      if (callback) process.nextTick(callback);
      return true;
    }
    this.pending += body.length;
    this.enqueue({ type: 'http.response.body', body, more_body: true }, body.length, callback);
    if (this.pending >= this.highWaterMark) this.needDrain = true;
    return !this.needDrain;
  }

  private end(chunk: unknown, encoding: unknown, cb: unknown): void {
    if (typeof chunk === 'function') [cb, chunk] = [chunk, undefined];
    else if (typeof encoding === 'function') [cb, encoding] = [encoding, undefined];
    const callback = typeof cb === 'function' ? (cb as Callback) : undefined;
    if (this.ended || this.gone) {
      if (callback) process.nextTick(callback);
      return;
    }
    const body = chunk === undefined || chunk === null ? Buffer.alloc(0) : this.toBuffer(chunk, encoding);
    const res = this.res;
    if (!this.started && !res.hasHeader('content-length') && !res.hasHeader('transfer-encoding') && !this.noBody) {
      // As Node does when the whole body is known at end(): a length instead of chunked framing.
      if (res.statusCode !== 204 && res.statusCode !== 304) res.setHeader('content-length', body.length);
    }
    this.start();
    this.ended = true;
    res.finished = true; // writableEnded reads it
    const finished = (err?: Error | null) => {
      if (err) return;
      res.emit('prefinish');
      res.emit('finish');
      callback?.();
      if (!this.bodyComplete && !this.req.destroyed) this.req.resume(); // drain an unread upload
      this.closeThenSettle();
    };
    if (!this.wantTrailers) {
      this.enqueue({ type: 'http.response.body', body, more_body: false }, body.length, finished);
      return;
    }
    this.enqueue({ type: 'http.response.body', body, more_body: false }, body.length);
    this.enqueue({ type: 'http.response.trailers', headers: this.trailers, more_trailers: false }, 0, finished);
  }

  private toBuffer(chunk: unknown, encoding: unknown): Buffer {
    if (typeof chunk === 'string')
      return this.noBody ? Buffer.alloc(0) : Buffer.from(chunk, (encoding as BufferEncoding) || 'utf8');
    if (chunk instanceof Uint8Array)
      return this.noBody ? Buffer.alloc(0) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    throw Object.assign(
      new TypeError(
        `The "chunk" argument must be of type string or an instance of Buffer or Uint8Array, not ${typeof chunk}`,
      ),
      {
        code: 'ERR_INVALID_ARG_TYPE',
      },
    );
  }

  /** Sends events in order; a failed send means the client is gone or the event was refused. */
  private enqueue(event: HttpSendEvent, bytes: number, callback?: Callback): void {
    this.chain = this.chain.then(async () => {
      if (this.gone || this.over) return;
      try {
        await this.send(event);
      } catch (err) {
        callback?.(err as Error);
        if ((err as { code?: unknown }).code === 'ERR_SEND_AFTER_CLOSE') this.disconnected();
        else this.fail(err);
        return;
      }
      this.pending -= bytes;
      if (this.needDrain && this.pending < this.highWaterMark) {
        this.needDrain = false;
        this.res.emit('drain');
      }
      callback?.();
    });
  }

  // ---- endings ----------------------------------------------------------------------------

  /** A handler error: 500 if nothing was sent yet, otherwise the response is cut. */
  fail(err: unknown): void {
    if (this.over || this.gone) return;
    if (!this.started) {
      log.error(`${this.scope.method} ${this.scope.path}: the handler raised; answering 500`, err);
      this.started = true;
      this.ended = true;
      this.res.statusCode = 500;
      const body = Buffer.from('Internal Server Error\n');
      const headers: [string, string][] = [
        ['content-type', 'text/plain; charset=utf-8'],
        ['content-length', String(body.length)],
      ];
      this.enqueue({ type: 'http.response.start', status: 500, headers }, 0);
      this.enqueue({ type: 'http.response.body', body, more_body: false }, 0, () => this.closeThenSettle());
      return;
    }
    this.cut(err);
  }

  /** Ends the exchange with an error: the server logs it (once) and cuts the response. */
  private cut(err: unknown): void {
    if (this.over || this.gone) return;
    this.over = true;
    this.ended = true;
    this.socket.destroy();
    if (!this.req.destroyed) this.req.destroy();
    this.rejectDone(err);
  }

  /** 'close' on res (as Node emits after any response, finished or not), then the app returns. */
  private closeThenSettle(): void {
    if (this.resClosed) {
      this.settle();
      return;
    }
    this.res.once('close', () => this.settle());
    this.socket.destroy(); // a no-op when a destroyed request already took the socket down
  }

  private settle(): void {
    if (this.over) return;
    this.over = true;
    this.resolveDone();
  }
}

function checkOptions(options: NodeHttpAppOptions | undefined): Required<NodeHttpAppOptions> {
  if (options === undefined) return { highWaterMark: 65536 };
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError(`nodeHttpApp options must be an object, not ${String(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (key !== 'highWaterMark')
      throw new InvalidOptionError(`nodeHttpApp has no option '${key}'; the only option is highWaterMark`);
  }
  const hwm = options.highWaterMark ?? 65536;
  if (typeof hwm !== 'number' || !Number.isInteger(hwm) || hwm < 1) {
    throw new InvalidOptionError(
      `nodeHttpApp option highWaterMark must be a whole number of bytes above 0, not ${String(hwm)}`,
    );
  }
  return { highWaterMark: hwm };
}

/**
 * Mounts a Node `(req, res)` handler as an HTTP app: `http: nodeHttpApp(expressApp)` in a
 * ProtocolTypeRouter. HTTP scopes only; any other scope type throws ERR_UNKNOWN_SCOPE_TYPE.
 */
export function nodeHttpApp(handler: NodeHttpHandler, options?: NodeHttpAppOptions): Application {
  if (typeof handler !== 'function') {
    throw new InvalidOptionError(
      `nodeHttpApp takes a (req, res) handler function, not ${handler === null ? 'null' : typeof handler}`,
    );
  }
  const { highWaterMark } = checkOptions(options);
  return async function nodeHttpAdapter(scope: Scope, receive: Receive, send: Send): Promise<void> {
    if (scope.type !== 'http') {
      throw new UnknownScopeTypeError(
        `nodeHttpApp handles http scopes only, ` +
          `not '${scope.type}'; route '${scope.type}' elsewhere with ProtocolTypeRouter`,
      );
    }
    const exchange = new Exchange(
      scope,
      receive as () => Promise<HttpReceiveEvent>,
      send as (e: HttpSendEvent) => Promise<void>,
      highWaterMark,
    );
    await exchange.run(handler);
  };
}
