// Complete scopes for in-process tests, built the way the server builds them.
import { ASGI_VERSION, type HttpScope, type WebsocketScope } from '../asgi/types.js';

export interface TestScopeOptions {
  headers?: [string | Buffer, string | Buffer][] | Record<string, string>;
  subprotocols?: string[];
  client?: [string, number];
}

function pairs(headers: TestScopeOptions['headers']): [Buffer, Buffer][] {
  const list = !headers ? [] : Array.isArray(headers) ? headers : Object.entries(headers);
  return list.map(([k, v]) => [Buffer.from(String(k).toLowerCase(), 'latin1'), Buffer.isBuffer(v) ? v : Buffer.from(v, 'latin1')]);
}

function split(target: string): { path: string; raw: string; query: string } {
  const q = target.indexOf('?');
  const raw = q < 0 ? target : target.slice(0, q);
  return { raw, path: decodeURIComponent(raw), query: q < 0 ? '' : target.slice(q + 1) };
}

export function websocketScope(target: string, options: TestScopeOptions = {}): WebsocketScope {
  const { path, raw, query } = split(target);
  return {
    type: 'websocket',
    asgi: ASGI_VERSION,
    http_version: '1.1',
    scheme: 'ws',
    path,
    raw_path: Buffer.from(raw, 'latin1'),
    query_string: Buffer.from(query, 'latin1'),
    root_path: '',
    headers: pairs(options.headers),
    client: options.client ?? ['127.0.0.1', 50000],
    server: ['127.0.0.1', 8000],
    subprotocols: options.subprotocols ?? [],
    extensions: { 'websocket.http.response': {} },
  };
}

export function httpScope(method: string, target: string, options: TestScopeOptions = {}): HttpScope {
  const { path, raw, query } = split(target);
  return {
    type: 'http',
    asgi: ASGI_VERSION,
    http_version: '1.1',
    method: method.toUpperCase(),
    scheme: 'http',
    path,
    raw_path: Buffer.from(raw, 'latin1'),
    query_string: Buffer.from(query, 'latin1'),
    root_path: '',
    headers: pairs(options.headers),
    client: options.client ?? ['127.0.0.1', 50000],
    server: ['127.0.0.1', 8000],
    extensions: { 'http.response.trailers': {} },
  };
}
