// canaljs/client: a WebSocket client for browsers and Node, one file with no imports, so that
// it can be served as is to pages without a bundler (clientAsset). JSON messages with a
// `type`, typed by the same union as the consumers; reconnects with capped, fully jittered
// exponential backoff; waits while the browser is offline; keeps a bounded buffer of what is
// sent while disconnected; requests whose replies carry the request's `_ref`.
import type { TypedMessage } from '../layers/types.ts';

/** A message of any type, for a client that declares none. */
// biome-ignore lint/suspicious/noExplicitAny: untyped messages are read field by field, as JSON is
export type AnyMessage = { type: string; [key: string]: any };

/** The member of `M` whose `type` is `T`, or any message of that type when `M` names none. */
export type MessageOf<M extends TypedMessage, T extends string> = [Extract<M, { type: T }>] extends [never]
  ? AnyMessage & { type: T }
  : Extract<M, { type: T }>;

export type ClientState = 'connecting' | 'open' | 'reconnecting' | 'offline' | 'closed';

/** The field that pairs a request with its reply. */
export const REF = '_ref';
/** The field of a reply that reports a failed request (a string). */
export const ERROR = '_error';

/** A client error with a stable `code`: check the code, not the message. */
export class CanalClientError extends Error {
  readonly code: string;
  /** The message the error is about (the one dropped, the request not answered), if any. */
  readonly dropped?: unknown;
  constructor(code: string, message: string, dropped?: unknown) {
    super(message);
    this.name = 'CanalClientError';
    this.code = code;
    if (dropped !== undefined) this.dropped = dropped;
  }
}

/** Network reachability: browsers' navigator.onLine and 'online'/'offline' events by default. */
export interface Network {
  onLine(): boolean;
  /** Calls `onChange` when reachability changes; returns the function that stops it. */
  watch(onChange: (onLine: boolean) => void): () => void;
}

interface EventHost {
  addEventListener?(name: string, fn: () => void): void;
  removeEventListener?(name: string, fn: () => void): void;
  navigator?: { onLine?: boolean };
}

/** The browser's view of the network; in Node (no events on the global) always online. */
export function browserNetwork(host: EventHost = globalThis as EventHost): Network {
  return {
    onLine: () => host.navigator?.onLine !== false,
    watch(onChange) {
      if (typeof host.addEventListener !== 'function') return () => {};
      const online = () => onChange(true);
      const offline = () => onChange(false);
      host.addEventListener('online', online);
      host.addEventListener('offline', offline);
      return () => {
        host.removeEventListener?.('online', online);
        host.removeEventListener?.('offline', offline);
      };
    },
  };
}

/** The WebSocket class to use: the global one by default (browsers, Node 22+), or ws's. */
export type WebSocketClass = new (url: string, protocols?: string | string[]) => object;

export interface ClientOptions {
  /** The ceiling of the first retry's delay; each retry doubles it, up to maxDelayMs. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Failed attempts in a row before the client gives up ('closed'). */
  maxRetries?: number;
  /** Messages kept while disconnected; one more is dropped and reported ('overflow'). */
  maxBuffered?: number;
  /** The default wait for a reply to request(), in milliseconds. */
  timeoutMs?: number;
  protocols?: string | string[];
  WebSocket?: WebSocketClass;
  network?: Network;
  /** The jitter's source of numbers in [0, 1). */
  random?: () => number;
}

export interface CloseInfo {
  code: number;
  reason: string;
  /** Whether the client will connect again (false after close(), or when retries ran out). */
  willRetry: boolean;
}

export interface ClientEvents<Out> {
  open: () => void;
  close: (info: CloseInfo) => void;
  reconnecting: (info: { attempt: number; delayMs: number }) => void;
  offline: () => void;
  /** A message was dropped: the buffer was full. With no listener, reported through 'error'. */
  overflow: (dropped: Out) => void;
  /** A frame that is not a JSON message, a dropped message with no 'overflow' listener, … */
  error: (error: CanalClientError) => void;
}

/**
 * The delay before retry number `attempt` (0 for the first): full jitter, a random point
 * between 0 and min(maxDelayMs, minDelayMs × 2^attempt).
 */
export function backoffDelay(
  attempt: number,
  minDelayMs = 250,
  maxDelayMs = 10_000,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(attempt, 52));
  return Math.floor(random() * ceiling);
}

interface Socket {
  readyState: number;
  send(text: string): void;
  close(code?: number, reason?: string): void;
  onopen: (() => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onerror: (() => void) | null;
}

/** Calls a handler or listener; its error must not stop the others nor the client. */
function call(fn: (...args: never[]) => void, args: unknown[]): void {
  try {
    (fn as (...a: unknown[]) => void)(...args);
  } catch (err) {
    setTimeout(() => {
      throw err;
    });
  }
}

/** A socket given up: its late events are ignored (an error event must have a listener in ws). */
function detach(socket: Socket): void {
  socket.onclose = socket.onmessage = socket.onopen = null;
  socket.onerror = () => {};
}

interface Pending {
  resolve(reply: unknown): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
  /** Written to a socket: its reply can only come on that socket. */
  sent: boolean;
  what: string;
}

type Listeners = { [E in keyof ClientEvents<unknown>]?: Set<(...args: never[]) => void> };

export class CanalClient<In extends TypedMessage = AnyMessage, Out extends TypedMessage = In> {
  readonly #url: () => string;
  #lastUrl = '';
  #state: ClientState = 'connecting';
  #socket: Socket | null = null;
  #buffer: { message: unknown; text: string; ref?: number }[] = [];
  #handlers = new Map<string, Set<(message: never) => void>>();
  #listeners: Listeners = {};
  #pending = new Map<number, Pending>();
  #nextRef = 1;
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #unwatch: () => void;
  #o: Required<Omit<ClientOptions, 'protocols'>> & Pick<ClientOptions, 'protocols'>;

  /** `url` may be a function: it is called before each attempt (a position kept by the page, say). */
  constructor(url: string | (() => string), options: ClientOptions = {}) {
    this.#url = typeof url === 'function' ? url : () => url;
    const WS = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketClass }).WebSocket;
    if (!WS) throw new CanalClientError('ERR_NO_WEBSOCKET', 'no global WebSocket here: pass options.WebSocket');
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.#o = {
      minDelayMs: 250,
      maxDelayMs: 10_000,
      maxRetries: Number.POSITIVE_INFINITY,
      maxBuffered: 100,
      timeoutMs: 10_000,
      network: browserNetwork(),
      random: Math.random,
      ...given,
      WebSocket: WS,
    };
    this.#unwatch = this.#o.network.watch((onLine) => this.#reachable(onLine));
    if (this.#o.network.onLine()) this.#open();
    else this.#goOffline();
  }

  /** The URL of the latest attempt (or of the next, before the first). */
  get url(): string {
    return this.#lastUrl || this.#url();
  }

  get state(): ClientState {
    return this.#state;
  }

  /** Messages waiting for a connection. */
  get buffered(): number {
    return this.#buffer.length;
  }

  /** Calls `handler` with each message of this type; returns the function that stops it. */
  on<T extends In['type']>(type: T, handler: (message: MessageOf<In, T>) => void): () => void {
    let set = this.#handlers.get(type);
    if (!set) this.#handlers.set(type, (set = new Set()));
    set.add(handler as (message: never) => void);
    return () => void set.delete(handler as (message: never) => void);
  }

  /** Listens to the client's own events: open, close, reconnecting, offline, overflow, error. */
  onEvent<E extends keyof ClientEvents<Out>>(event: E, listener: ClientEvents<Out>[E]): () => void {
    const set = (this.#listeners[event] ??= new Set());
    set.add(listener as (...args: never[]) => void);
    return () => void set.delete(listener as (...args: never[]) => void);
  }

  /**
   * Sends `message` now, or keeps it until the connection is back. Returns false if it was
   * dropped (the buffer was full, or the client is closed): 'overflow' reports it too.
   */
  send<M extends TypedMessage = Out>(message: NoInfer<M>): boolean {
    const refused = this.#push(message, JSON.stringify(message));
    if (refused) this.#overflow(message, refused[0], refused[1]);
    return !refused;
  }

  /**
   * Sends `message` with a `_ref` field and resolves with the reply that carries the same
   * `_ref` (`reply()` on the consumer). Rejects after `timeoutMs`, when the server answers with
   * `_error`, when the connection is lost after the request went out, or when it is dropped.
   */
  request<R extends TypedMessage = In, M extends TypedMessage = Out>(
    message: NoInfer<M>,
    options: { timeoutMs?: number } = {},
  ): Promise<R> {
    const ref = this.#nextRef++;
    const timeoutMs = options.timeoutMs ?? this.#o.timeoutMs;
    const what = `request "${message.type}" (${REF} ${ref})`;
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(ref);
        const i = this.#buffer.findIndex((b) => b.ref === ref);
        if (i >= 0) this.#buffer.splice(i, 1);
        reject(new CanalClientError('ERR_REQUEST_TIMEOUT', `${what} got no reply within ${timeoutMs} ms`, message));
      }, timeoutMs);
      this.#pending.set(ref, { resolve: resolve as (reply: unknown) => void, reject, timer, sent: false, what });
      const refused = this.#push(message, JSON.stringify({ ...message, [REF]: ref }), ref);
      if (refused) this.#settle(ref, new CanalClientError(refused[0], `${what} was dropped: ${refused[1]}`, message));
    });
  }

  /** Closes the connection for good: no more retries; buffered messages and requests fail. */
  close(code = 1000, reason = ''): void {
    if (this.#state === 'closed') return;
    this.#unwatch();
    this.#clearTimer();
    const socket = this.#socket;
    this.#socket = null;
    if (socket) {
      detach(socket);
      socket.close(code, reason);
    }
    this.#shut({ code, reason, willRetry: false }, 'the client was closed');
  }

  /** Sends or buffers; when the message is dropped, the error's code and why. */
  #push(message: unknown, text: string, ref?: number): [code: string, why: string] | null {
    if (this.#state === 'closed') return ['ERR_CLIENT_CLOSED', 'the client is closed'];
    const socket = this.#socket;
    if (socket && socket.readyState === 1 && this.#buffer.length === 0) {
      socket.send(text);
      if (ref !== undefined) this.#markSent(ref);
      return null;
    }
    if (this.#buffer.length >= this.#o.maxBuffered) {
      return ['ERR_BUFFER_FULL', `${this.#o.maxBuffered} messages wait already (maxBuffered)`];
    }
    this.#buffer.push(ref === undefined ? { message, text } : { message, text, ref });
    return null;
  }

  #overflow(message: unknown, code: string, why: string): void {
    const type = (message as TypedMessage).type;
    if (this.#listeners.overflow?.size) this.#emit('overflow', message as Out);
    else this.#fail(new CanalClientError(code, `message "${type}" dropped: ${why}`, message));
  }

  #markSent(ref: number): void {
    const pending = this.#pending.get(ref);
    if (pending) pending.sent = true;
  }

  #open(): void {
    this.#clearTimer();
    let socket: Socket;
    try {
      this.#lastUrl = this.#url();
      socket = new this.#o.WebSocket(this.#lastUrl, this.#o.protocols) as Socket;
    } catch (err) {
      // A malformed URL: no retry can mend it.
      this.#fail(new CanalClientError('ERR_BAD_URL', String((err as Error).message ?? err)));
      this.close();
      return;
    }
    this.#socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this.#attempt = 0;
      this.#state = 'open';
      this.#emit('open');
      const buffer = this.#buffer;
      this.#buffer = [];
      for (const item of buffer) {
        if (socket.readyState !== 1) {
          this.#buffer.push(item);
          continue;
        }
        socket.send(item.text);
        if (item.ref !== undefined) this.#markSent(item.ref);
      }
    };
    socket.onmessage = (event) => this.#receive(event.data);
    const gone = (code: number, reason: string) => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      detach(socket);
      this.#lost(code, reason);
    };
    // A connection that fails before it opens may report only an error (Node 22's WebSocket).
    socket.onerror = () => {
      if (!opened) gone(1006, '');
    };
    socket.onclose = (event) => gone(event.code, event.reason);
  }

  #receive(data: unknown): void {
    let message: TypedMessage & Record<string, unknown>;
    try {
      if (typeof data !== 'string') throw new Error('a binary frame');
      message = JSON.parse(data);
      if (message === null || typeof message !== 'object') throw new Error('not an object');
    } catch (err) {
      this.#fail(
        new CanalClientError('ERR_BAD_FRAME', `a frame that is not a JSON message: ${(err as Error).message}`),
      );
      return;
    }
    const ref = message[REF];
    if (ref !== undefined) {
      const error = message[ERROR];
      if (typeof ref === 'number' && this.#pending.has(ref)) {
        if (error === undefined) this.#settle(ref, null, message);
        else this.#settle(ref, new CanalClientError('ERR_REQUEST_FAILED', String(error), message));
      }
      // A reply that comes after its request timed out is dropped.
      return;
    }
    const handlers = this.#handlers.get(message.type);
    if (!handlers) return;
    for (const handler of [...handlers]) call(handler, [message]);
  }

  #settle(ref: number, error: Error | null, reply?: unknown): void {
    const pending = this.#pending.get(ref);
    if (!pending) return;
    this.#pending.delete(ref);
    clearTimeout(pending.timer);
    if (error) pending.reject(error);
    else pending.resolve(reply);
  }

  /** The socket closed on its own: requests sent on it fail; retry unless offline or out of tries. */
  #lost(code: number, reason: string): void {
    for (const [ref, pending] of this.#pending) {
      if (!pending.sent) continue;
      const why = `${pending.what}: the connection closed (${code}) before a reply`;
      this.#settle(ref, new CanalClientError('ERR_CONNECTION_LOST', why));
    }
    if (this.#attempt >= this.#o.maxRetries) {
      this.#unwatch();
      this.#shut({ code, reason, willRetry: false }, `gave up after ${this.#attempt} attempts to reconnect`);
      return;
    }
    this.#emit('close', { code, reason, willRetry: true });
    if (this.#o.network.onLine()) this.#retry();
    else this.#goOffline();
  }

  #retry(): void {
    const delayMs = backoffDelay(this.#attempt, this.#o.minDelayMs, this.#o.maxDelayMs, this.#o.random);
    this.#attempt++;
    this.#state = 'reconnecting';
    this.#emit('reconnecting', { attempt: this.#attempt, delayMs });
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#open();
    }, delayMs);
  }

  #goOffline(): void {
    this.#clearTimer();
    this.#state = 'offline';
    this.#emit('offline');
  }

  #reachable(onLine: boolean): void {
    if (this.#state === 'closed') return;
    if (!onLine) {
      // An open socket may still work (a server on this machine): it is left to fail on its own.
      if (this.#state === 'reconnecting') this.#goOffline();
      return;
    }
    if (this.#state !== 'offline') return;
    this.#state = 'reconnecting';
    this.#emit('reconnecting', { attempt: this.#attempt, delayMs: 0 });
    this.#open();
  }

  #shut(info: CloseInfo, why: string): void {
    this.#clearTimer();
    this.#state = 'closed';
    for (const [ref, pending] of [...this.#pending]) {
      this.#settle(ref, new CanalClientError('ERR_CLIENT_CLOSED', `${pending.what}: no reply, ${why}`));
    }
    const buffer = this.#buffer;
    this.#buffer = [];
    for (const item of buffer) {
      if (item.ref === undefined) this.#overflow(item.message, 'ERR_CLIENT_CLOSED', why);
    }
    this.#emit('close', info);
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #fail(error: CanalClientError): void {
    if (this.#listeners.error?.size) this.#emit('error', error);
    else console.warn(`canaljs/client: ${error.message}`);
  }

  #emit<E extends keyof ClientEvents<Out>>(event: E, ...args: Parameters<ClientEvents<Out>[E]>): void {
    const set = this.#listeners[event];
    if (!set) return;
    for (const listener of [...set]) call(listener, args);
  }
}

/** A path or relative URL resolved against the page's location, with ws: or wss:. */
function socketUrl(url: string): string {
  const location = (globalThis as { location?: { href: string } }).location;
  if (!location || /^wss?:/.test(url)) return url;
  const resolved = new URL(url, location.href);
  resolved.protocol = resolved.protocol === 'https:' ? 'wss:' : 'ws:';
  return resolved.href;
}

/**
 * Opens a client on `url` (ws:// or wss://; a path such as '/ws/chat/' is resolved against the
 * page's location in browsers). `url` may be a function, called before each attempt: a page
 * puts the position it reached in the URL it reconnects with. `connect<Messages>(url)` types
 * both directions with one union; `connect<Incoming, Outgoing>(url)` types them apart.
 */
export function connect<In extends TypedMessage = AnyMessage, Out extends TypedMessage = In>(
  url: string | (() => string),
  options?: ClientOptions,
): CanalClient<In, Out> {
  const given = url;
  return new CanalClient<In, Out>(typeof given === 'function' ? () => socketUrl(given()) : socketUrl(given), options);
}
