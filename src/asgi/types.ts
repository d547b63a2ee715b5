// The app interface: scopes, events and the Application signature.
// docs/app-interface.md is the specification; these types are its TypeScript form.
// Protocol data is spelled as the ASGI spec spells it (query_string, more_body, ...).

/** A header as it crosses the interface: a pair of byte strings, name lowercased. */
export type HeaderPair = [Buffer, Buffer];
/** Headers the app sends: bytes or strings (strings are encoded as latin1). */
export type HeaderInput = Iterable<readonly [Buffer | Uint8Array | string, Buffer | Uint8Array | string]>;

/** `[host, port]` of a peer; a unix socket peer is `[path, null]`. */
export type Peer = [string, number | null];

/**
 * `scope.url_route`, set by URLRouter: positional and named captures, merged through nesting.
 * A `<str:room>` capture is a string; a converter may make another value (`<int:id>` a number).
 */
export interface UrlRoute<K extends object = Record<string, unknown>> {
  args: unknown[];
  kwargs: K;
}

/**
 * Keys that routers and middleware add to a scope. Declaration merging adds more:
 * `declare module 'canaljs' { interface ScopeExtras { tenant?: Tenant } }`.
 */
export interface ScopeExtras {
  /** Set by URLRouter: positional and named captures, merged through nesting. */
  url_route?: UrlRoute;
  /** Set by the server when the app supports lifespan: a shallow copy of lifespan state. */
  state?: Record<string, unknown>;
  /** Set by the server: the path prefix the app is mounted under. */
  root_path?: string;
}

export interface AsgiVersion {
  version: '3.0';
  spec_version: string;
}

interface ConnectionScopeBase extends ScopeExtras {
  asgi: AsgiVersion;
  http_version: '1.0' | '1.1' | '2';
  /** Percent-decoded path (UTF-8), without the query string. */
  path: string;
  /** The path as it arrived on the wire, without the query string. */
  raw_path: Buffer;
  /** Everything after the first `?`, undecoded; empty when there is none. */
  query_string: Buffer;
  root_path: string;
  /** Lowercased names; order and duplicates as received. */
  headers: HeaderPair[];
  client: Peer | null;
  server: Peer | null;
  /** `tls` is there only on a TLS connection (https, wss). */
  extensions: Record<string, Record<string, unknown>> & { tls?: TlsExtension };
}

/**
 * The ASGI TLS extension (`scope.extensions.tls`, version 0.2): what the connection's TLS
 * session is. Certificates are PEM text; codes are the TLS specifications' numbers.
 */
export type TlsExtension = {
  /** The certificate the server sent. */
  server_cert: string | null;
  /** The client's certificate first, then the ones that signed it; empty when it sent none. */
  client_cert_chain: string[];
  /** The client certificate's subject as an RFC 4514 string (`CN=alice,O=Example`); null without one. */
  client_cert_name: string | null;
  /** Why the client certificate failed verification; null when it passed or none was sent. */
  client_cert_error: string | null;
  /** 0x0303 for TLS 1.2, 0x0304 for TLS 1.3. */
  tls_version: number | null;
  /** The IANA code of the cipher suite (0x1301 for TLS_AES_128_GCM_SHA256); null when not known. */
  cipher_suite: number | null;
};

export interface HttpScope extends ConnectionScopeBase {
  type: 'http';
  method: string;
  scheme: 'http' | 'https';
}

export interface WebsocketScope extends ConnectionScopeBase {
  type: 'websocket';
  scheme: 'ws' | 'wss';
  /** From `Sec-WebSocket-Protocol`, in the client's order. */
  subprotocols: string[];
}

export interface LifespanScope extends ScopeExtras {
  type: 'lifespan';
  asgi: AsgiVersion;
  /** Shared with every connection scope (shallow-copied into each). */
  state: Record<string, unknown>;
}

/** A worker's scope: one instance per message read from a named channel. */
export interface ChannelScope extends ScopeExtras {
  type: 'channel';
  asgi: AsgiVersion;
  /** The channel the message was read from. */
  channel: string;
}

export type Scope = HttpScope | WebsocketScope | LifespanScope | ChannelScope;
export type ScopeType = Scope['type'];

/**
 * A scope a URLRouter routed: `url_route` is set, its kwargs typed `K` (by default strings, what
 * `str`, `slug`, `uuid` and `path` captures are). The scope of HttpConsumer and
 * WebsocketConsumer: `this.scope.url_route.kwargs.room`.
 */
export type RoutedScope<S extends Scope, K extends object = Record<string, string>> = S & { url_route: UrlRoute<K> };

// ---- HTTP -------------------------------------------------------------------------------

export interface HttpRequestEvent {
  type: 'http.request';
  body: Buffer;
  more_body: boolean;
}
export interface HttpDisconnectEvent {
  type: 'http.disconnect';
}
export interface HttpResponseStartEvent {
  type: 'http.response.start';
  status: number;
  headers?: HeaderInput;
  /** When true, the app sends `http.response.trailers` after the last body chunk. */
  trailers?: boolean;
}
export interface HttpResponseBodyEvent {
  type: 'http.response.body';
  body?: Buffer | Uint8Array | string;
  more_body?: boolean;
}
export interface HttpResponseTrailersEvent {
  type: 'http.response.trailers';
  headers?: HeaderInput;
  more_trailers?: boolean;
}

export type HttpReceiveEvent = HttpRequestEvent | HttpDisconnectEvent;
export type HttpSendEvent = HttpResponseStartEvent | HttpResponseBodyEvent | HttpResponseTrailersEvent;

// ---- WebSocket --------------------------------------------------------------------------

export interface WebsocketConnectEvent {
  type: 'websocket.connect';
}
export interface WebsocketReceiveEvent {
  type: 'websocket.receive';
  /** Exactly one of `bytes` and `text` is set. */
  bytes?: Buffer;
  text?: string;
}
export interface WebsocketDisconnectEvent {
  type: 'websocket.disconnect';
  code: number;
  reason?: string;
}
export interface WebsocketAcceptEvent {
  type: 'websocket.accept';
  subprotocol?: string | null;
  headers?: HeaderInput;
}
export interface WebsocketSendEvent {
  type: 'websocket.send';
  bytes?: Buffer | Uint8Array | null;
  text?: string | null;
}
export interface WebsocketCloseEvent {
  type: 'websocket.close';
  code?: number;
  reason?: string;
}
/** Denial-response extension: answer the handshake with any HTTP response. */
export interface WebsocketHttpResponseStartEvent {
  type: 'websocket.http.response.start';
  status: number;
  headers?: HeaderInput;
}
export interface WebsocketHttpResponseBodyEvent {
  type: 'websocket.http.response.body';
  body?: Buffer | Uint8Array | string;
  more_body?: boolean;
}

export type WebsocketReceiveEventAny = WebsocketConnectEvent | WebsocketReceiveEvent | WebsocketDisconnectEvent;
export type WebsocketSendEventAny =
  | WebsocketAcceptEvent
  | WebsocketSendEvent
  | WebsocketCloseEvent
  | WebsocketHttpResponseStartEvent
  | WebsocketHttpResponseBodyEvent;

// ---- Lifespan ---------------------------------------------------------------------------

export interface LifespanStartupEvent {
  type: 'lifespan.startup';
}
export interface LifespanShutdownEvent {
  type: 'lifespan.shutdown';
}
export interface LifespanStartupCompleteEvent {
  type: 'lifespan.startup.complete';
}
export interface LifespanStartupFailedEvent {
  type: 'lifespan.startup.failed';
  message?: string;
}
export interface LifespanShutdownCompleteEvent {
  type: 'lifespan.shutdown.complete';
}
export interface LifespanShutdownFailedEvent {
  type: 'lifespan.shutdown.failed';
  message?: string;
}

export type LifespanReceiveEvent = LifespanStartupEvent | LifespanShutdownEvent;
export type LifespanSendEvent =
  | LifespanStartupCompleteEvent
  | LifespanStartupFailedEvent
  | LifespanShutdownCompleteEvent
  | LifespanShutdownFailedEvent;

// ---- Channel (workers) ------------------------------------------------------------------

/** A message read from a channel layer: an object with a string `type`. */
export interface ChannelMessageEvent {
  type: string;
  [key: string]: unknown;
}

// ---- The application --------------------------------------------------------------------

export type ReceiveEvent = HttpReceiveEvent | WebsocketReceiveEventAny | LifespanReceiveEvent;
export type SendEvent = HttpSendEvent | WebsocketSendEventAny | LifespanSendEvent;

export type Receive = () => Promise<ReceiveEvent>;
export type Send = (event: SendEvent) => Promise<void>;

/** Called once per connection (or lifespan, or worker message). Resolves when it is done. */
export type Application = (scope: Scope, receive: Receive, send: Send) => Promise<void>;

/** Per-protocol signatures, for apps that serve one protocol only. */
export type HttpApplication = (
  scope: HttpScope,
  receive: () => Promise<HttpReceiveEvent>,
  send: (event: HttpSendEvent) => Promise<void>,
) => Promise<void>;
export type WebsocketApplication = (
  scope: WebsocketScope,
  receive: () => Promise<WebsocketReceiveEventAny>,
  send: (event: WebsocketSendEventAny) => Promise<void>,
) => Promise<void>;
export type LifespanApplication = (
  scope: LifespanScope,
  receive: () => Promise<LifespanReceiveEvent>,
  send: (event: LifespanSendEvent) => Promise<void>,
) => Promise<void>;
export type ChannelApplication = (
  scope: ChannelScope,
  receive: () => Promise<ChannelMessageEvent>,
  send: (event: never) => Promise<void>,
) => Promise<void>;

export const ASGI_VERSION: AsgiVersion = Object.freeze({ version: '3.0', spec_version: '2.4' }) as AsgiVersion;
