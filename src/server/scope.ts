// Building `http` and `websocket` scopes from a node:http request, as docs/app-interface.md
// specifies: path percent-decoded as UTF-8, raw_path and query_string as the bytes received,
// header names lowercased with order and duplicates kept.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { registerScopeLayout } from '../asgi/copy-scope.ts';
import { ASGI_VERSION, type HeaderPair, type HttpScope, type Peer, type WebsocketScope } from '../asgi/types.ts';
import type { ServerContext } from './context.ts';
import { applyProxyHeaders } from './proxy-headers.ts';
import { tlsExtension } from './tls.ts';

/** A request target that cannot be turned into a scope (bad percent-encoding, bad UTF-8). */
export class BadRequestTarget extends Error {}

const HTTP_EXTENSIONS = Object.freeze({ 'http.response.trailers': Object.freeze({}) });
const WS_EXTENSIONS = Object.freeze({ 'websocket.http.response': Object.freeze({}) });

/** Percent-decodes a path as UTF-8; throws BadRequestTarget on malformed input. */
export function decodePath(raw: string): string {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new BadRequestTarget(`the request path ${JSON.stringify(raw)} is not valid percent-encoded UTF-8`);
  }
}

interface Target {
  rawPath: string;
  query: string;
}

function splitTarget(url: string): Target {
  let target = url;
  // absolute-form (GET http://host/path HTTP/1.1): keep the path and query only
  if (!target.startsWith('/')) {
    const scheme = target.indexOf('://');
    if (scheme > 0) {
      const slash = target.indexOf('/', scheme + 3);
      target = slash < 0 ? '/' : target.slice(slash);
    } else if (target === '*') {
      return { rawPath: '*', query: '' };
    }
  }
  const q = target.indexOf('?');
  return q < 0 ? { rawPath: target, query: '' } : { rawPath: target.slice(0, q), query: target.slice(q + 1) };
}

// Header names repeat on every request (host, accept, cookie…), and so do many values and paths:
// their bytes are made once and shared, as is the empty query string. Byte strings in a scope
// are read-only, as Python's bytes are in ASGI. Names are kept (there are few); values and paths
// go in a table that starts over when full, so it holds what is common now and stays bounded.
const NAMES = new Map<string, Buffer>();
const MAX_NAMES = 512;
const EMPTY = Buffer.alloc(0);
const VALUES = new Map<string, Buffer>();
const MAX_VALUES = 1024;
const MAX_SHARED_LENGTH = 256;

function nameBytes(raw: string): Buffer {
  let name = NAMES.get(raw);
  if (name === undefined) {
    name = Buffer.from(raw.toLowerCase(), 'latin1');
    if (NAMES.size < MAX_NAMES) NAMES.set(raw, name);
  }
  return name;
}

function sharedBytes(text: string): Buffer {
  if (text.length === 0) return EMPTY;
  if (text.length > MAX_SHARED_LENGTH) return Buffer.from(text, 'latin1');
  let b = VALUES.get(text);
  if (b === undefined) {
    b = Buffer.from(text, 'latin1');
    if (VALUES.size >= MAX_VALUES) VALUES.clear();
    VALUES.set(text, b);
  }
  return b;
}

/** Request headers as ASGI byte pairs, names lowercased, order and duplicates as received. */
export function headerPairs(raw: readonly string[]): HeaderPair[] {
  const out: HeaderPair[] = new Array(raw.length >> 1);
  for (let i = 0, j = 0; i < raw.length; i += 2, j++) {
    out[j] = [nameBytes(raw[i]!), sharedBytes(raw[i + 1]!)];
  }
  return out;
}

function bytes(text: string): Buffer {
  return text.length === 0 ? EMPTY : Buffer.from(text, 'latin1');
}

// A keep-alive connection carries many requests: its two addresses are looked up once (each is
// a getter that asks the socket) and the same read-only pairs go in every scope it makes.
interface Peers {
  client: Peer | null;
  server: Peer | null;
}
const kPeers = Symbol('canal.peers');

function peersOf(s: Socket & { [kPeers]?: Peers }): Peers {
  let p = s[kPeers];
  if (p === undefined) {
    const remote = s.remoteAddress;
    const local = s.localAddress;
    p = {
      client: remote ? (Object.freeze([remote, s.remotePort ?? 0]) as [string, number]) : null,
      server: local ? (Object.freeze([local, s.localPort ?? 0]) as [string, number]) : null,
    };
    // Kept only once known: a socket that has not told its peer yet is asked again next time.
    if (remote) s[kPeers] = p;
    else if (!local) p = unixPeers(s) ?? p;
  }
  return p;
}

/** A unix socket connection: no client address, the server is `[path, null]` (ASGI). */
function unixPeers(s: Socket & { [kPeers]?: Peers }): Peers | null {
  const path = (s as { server?: { address?(): unknown } }).server?.address?.();
  if (typeof path !== 'string') return null;
  const p: Peers = { client: null, server: Object.freeze([path, null]) as unknown as Peer };
  s[kPeers] = p;
  return p;
}

/** A TLS connection's extensions: the base ones and `tls` (tls.ts), made once per connection. */
function withTls<E>(base: E, s: Socket): E {
  return Object.freeze({ ...base, tls: tlsExtension(s as TLSSocket) }) as E;
}

function withState<S extends { state?: Record<string, unknown> }>(scope: S, ctx: ServerContext): S {
  if (ctx.lifespanState) scope.state = { ...ctx.lifespanState };
  return scope;
}

// Each scope is one object literal with every key in a fixed order (no spread of shared
// fields), so every scope of a type has one shape. The order is declared once below and
// registered with copyScope, which copies such scopes by a literal of the same shape: a
// builder's literal and its key list change together (test/unit/copy-scope.test.ts checks).

/** The keys of an `http` scope, in the order buildHttpScope makes them (then `state`, if any). */
export const HTTP_SCOPE_KEYS: readonly string[] = Object.freeze([
  'type',
  'asgi',
  'http_version',
  'method',
  'scheme',
  'path',
  'raw_path',
  'query_string',
  'root_path',
  'headers',
  'client',
  'server',
  'extensions',
]);
/** The keys of a `websocket` scope, in the order buildWebsocketScope makes them (then `state`, if any). */
export const WEBSOCKET_SCOPE_KEYS: readonly string[] = Object.freeze([
  'type',
  'asgi',
  'http_version',
  'scheme',
  'path',
  'raw_path',
  'query_string',
  'root_path',
  'headers',
  'client',
  'server',
  'subprotocols',
  'extensions',
]);
registerScopeLayout('http', HTTP_SCOPE_KEYS);
registerScopeLayout('websocket', WEBSOCKET_SCOPE_KEYS);

export function buildHttpScope(req: IncomingMessage, ctx: ServerContext): HttpScope {
  const { rawPath, query } = splitTarget(req.url ?? '/');
  const s = req.socket;
  const peers = peersOf(s);
  const encrypted = (s as TLSSocket).encrypted === true;
  const scope: HttpScope = {
    type: 'http',
    asgi: ASGI_VERSION,
    http_version: req.httpVersion === '1.0' ? '1.0' : req.httpVersion === '2.0' ? '2' : '1.1',
    method: req.method ?? 'GET',
    scheme: encrypted ? 'https' : 'http',
    path: decodePath(rawPath),
    raw_path: sharedBytes(rawPath),
    query_string: bytes(query),
    root_path: ctx.options.rootPath,
    headers: headerPairs(req.rawHeaders),
    client: peers.client,
    server: peers.server,
    extensions: (encrypted ? withTls(HTTP_EXTENSIONS, s) : HTTP_EXTENSIONS) as HttpScope['extensions'],
  };
  if (ctx.proxy !== null) applyProxyHeaders(scope, req.rawHeaders, s, ctx.proxy);
  return withState(scope, ctx);
}

export function buildWebsocketScope(req: IncomingMessage, ctx: ServerContext): WebsocketScope {
  const { rawPath, query } = splitTarget(req.url ?? '/');
  const s = req.socket;
  const peers = peersOf(s);
  const offered = req.headers['sec-websocket-protocol'];
  const encrypted = (s as TLSSocket).encrypted === true;
  const scope: WebsocketScope = {
    type: 'websocket',
    asgi: ASGI_VERSION,
    http_version: req.httpVersion === '1.0' ? '1.0' : '1.1',
    scheme: encrypted ? 'wss' : 'ws',
    path: decodePath(rawPath),
    raw_path: sharedBytes(rawPath),
    query_string: bytes(query),
    root_path: ctx.options.rootPath,
    headers: headerPairs(req.rawHeaders),
    client: peers.client,
    server: peers.server,
    subprotocols: offered
      ? offered
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean)
      : [],
    extensions: (encrypted ? withTls(WS_EXTENSIONS, s) : WS_EXTENSIONS) as WebsocketScope['extensions'],
  };
  if (ctx.proxy !== null) applyProxyHeaders(scope, req.rawHeaders, s, ctx.proxy);
  return withState(scope, ctx);
}
