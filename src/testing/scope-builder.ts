// Complete scopes for in-process tests, built the way the server builds them: path
// percent-decoded, raw_path and query_string as the bytes a client would send, headers as
// lowercased byte pairs; a worker's channel scope as the worker builds it.
import { ASGI_VERSION, type ChannelScope, type HttpScope, type WebsocketScope } from '../asgi/types.ts';
import { InvalidOptionError } from '../errors.ts';

export interface TestScopeOptions {
  /** As pairs (`[['cookie', 'a=1']]`, repeats kept) or an object; names are lowercased. */
  headers?: [string | Buffer, string | Buffer][] | Record<string, string>;
  /** WebSocket only: the subprotocols the client offers, in its order. */
  subprotocols?: string[];
  /** Added to the query string (after any `?...` in the path). */
  query?: string | Record<string, string> | URLSearchParams;
  /** The prefix the app is mounted under (`scope.root_path`); the path should start with it. */
  rootPath?: string;
  /** `scope.client`. @default ['127.0.0.1', 50000] */
  client?: [string, number];
  /** Extra scope keys, as middleware would add them (`{ user }`, `{ state }`). */
  scope?: Record<string, unknown>;
}

function pairs(headers: TestScopeOptions['headers']): [Buffer, Buffer][] {
  const list = !headers ? [] : Array.isArray(headers) ? headers : Object.entries(headers);
  return list.map(([k, v]) => [
    Buffer.from(String(k).toLowerCase(), 'latin1'),
    Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'latin1'),
  ]);
}

function split(target: string, extra: TestScopeOptions['query']): { path: string; raw: string; query: string } {
  if (typeof target !== 'string' || !target.startsWith('/')) {
    throw new InvalidOptionError(`a test path must be a string starting with '/', not ${JSON.stringify(target)}`);
  }
  const q = target.indexOf('?');
  const raw = q < 0 ? target : target.slice(0, q);
  let query = q < 0 ? '' : target.slice(q + 1);
  if (extra !== undefined) {
    const more =
      typeof extra === 'string'
        ? extra.replace(/^\?/, '')
        : new URLSearchParams(extra as Record<string, string>).toString();
    query = query && more ? `${query}&${more}` : query || more;
  }
  let path: string;
  try {
    path = decodeURIComponent(raw);
  } catch {
    throw new InvalidOptionError(`the test path ${JSON.stringify(raw)} is not valid percent-encoded UTF-8`);
  }
  return { raw, path, query };
}

/** The keys http and websocket test scopes share, built as the server builds them. */
function connectionFields(target: string, options: TestScopeOptions) {
  const { path, raw, query } = split(target, options.query);
  return {
    asgi: ASGI_VERSION,
    http_version: '1.1' as const,
    path,
    raw_path: Buffer.from(raw, 'latin1'),
    query_string: Buffer.from(query, 'latin1'),
    root_path: options.rootPath ?? '',
    headers: pairs(options.headers),
    client: options.client ?? (['127.0.0.1', 50000] as [string, number]),
    server: ['127.0.0.1', 8000] as [string, number],
  };
}

export function websocketScope(target: string, options: TestScopeOptions = {}): WebsocketScope {
  return {
    type: 'websocket',
    scheme: 'ws',
    ...connectionFields(target, options),
    subprotocols: options.subprotocols ?? [],
    extensions: { 'websocket.http.response': {} },
    ...options.scope,
  };
}

export function httpScope(method: string, target: string, options: TestScopeOptions = {}): HttpScope {
  return {
    type: 'http',
    method: method.toUpperCase(),
    scheme: 'http',
    ...connectionFields(target, options),
    extensions: { 'http.response.trailers': {} },
    ...options.scope,
  };
}

/** A worker's scope for a message read from `channel`, as `canal worker` builds it. */
export function channelScope(channel: string, options: Pick<TestScopeOptions, 'scope'> = {}): ChannelScope {
  if (typeof channel !== 'string' || channel === '') {
    throw new InvalidOptionError(
      `channelScope() takes the name of the channel the worker reads, not ${JSON.stringify(channel)}`,
    );
  }
  return { type: 'channel', asgi: ASGI_VERSION, channel, ...options.scope };
}
