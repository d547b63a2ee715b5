// copyScope: what routers and middleware use to hand an inner app a changed scope without
// touching the caller's. A scope laid out exactly as the interface server builds it (the same
// keys in the same order, docs/app-interface.md) is copied by one object literal; any other
// by `Object.assign`. On Node 20 the literal is several times faster than `Object.assign`
// of 13 keys, which is itself 4× faster than an object spread, and a spread's copy that then
// gains a key (as every routed scope gains `url_route`) is the slowest of all
// (bench/micro/scope-copy.ts). Every router and middleware layer of every connection makes one.
// Scope keys are strings (docs/app-interface.md): a symbol-keyed property is not part of a
// scope, and a copy may leave it out.
import type { Scope } from './types.ts';

type AnyScope = Record<string, unknown>;

/** The keys of the scopes src/server/scope.ts builds, in its order. */
export const HTTP_KEYS: readonly string[] = [
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
];
export const WS_KEYS: readonly string[] = [
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
];

/** How a scope's keys compare with a layout. */
const Layout = {
  Other: 0,
  Exact: 1,
  /** the layout's keys, then `state` (the lifespan state) */
  WithState: 2,
} as const;
type Layout = (typeof Layout)[keyof typeof Layout];

/**
 * Whether the scope's keys are `layout`, optionally followed by `state`. Walked with for-in,
 * which reads the keys a fast object's map already holds instead of making an array of them
 * (Object.keys) for every copy. for-in also lists inherited enumerable keys, after the own
 * ones: a scope with any is "other" and copied by Object.assign, which is always right.
 */
function layoutOf(s: AnyScope, layout: readonly string[]): Layout {
  const n = layout.length;
  let i = 0;
  for (const key in s) {
    if (i < n) {
      if (key !== layout[i]) return Layout.Other;
    } else if (i > n || key !== 'state') return Layout.Other;
    i++;
  }
  return i === n ? Layout.Exact : i === n + 1 ? Layout.WithState : Layout.Other;
}

// One literal per layout, `url_route` inside it when routed: a key added to the new object
// afterwards would cost it a map transition and a property store of its own.
function httpCopy(s: AnyScope): AnyScope {
  return {
    type: s.type,
    asgi: s.asgi,
    http_version: s.http_version,
    method: s.method,
    scheme: s.scheme,
    path: s.path,
    raw_path: s.raw_path,
    query_string: s.query_string,
    root_path: s.root_path,
    headers: s.headers,
    client: s.client,
    server: s.server,
    extensions: s.extensions,
  };
}

function httpRouted(s: AnyScope, urlRoute: unknown): AnyScope {
  return {
    type: s.type,
    asgi: s.asgi,
    http_version: s.http_version,
    method: s.method,
    scheme: s.scheme,
    path: s.path,
    raw_path: s.raw_path,
    query_string: s.query_string,
    root_path: s.root_path,
    headers: s.headers,
    client: s.client,
    server: s.server,
    extensions: s.extensions,
    url_route: urlRoute,
  };
}

function websocketCopy(s: AnyScope): AnyScope {
  return {
    type: s.type,
    asgi: s.asgi,
    http_version: s.http_version,
    scheme: s.scheme,
    path: s.path,
    raw_path: s.raw_path,
    query_string: s.query_string,
    root_path: s.root_path,
    headers: s.headers,
    client: s.client,
    server: s.server,
    subprotocols: s.subprotocols,
    extensions: s.extensions,
  };
}

function websocketRouted(s: AnyScope, urlRoute: unknown): AnyScope {
  return {
    type: s.type,
    asgi: s.asgi,
    http_version: s.http_version,
    scheme: s.scheme,
    path: s.path,
    raw_path: s.raw_path,
    query_string: s.query_string,
    root_path: s.root_path,
    headers: s.headers,
    client: s.client,
    server: s.server,
    subprotocols: s.subprotocols,
    extensions: s.extensions,
    url_route: urlRoute,
  };
}

/** The literal copy of a server-laid-out scope, or null for any other. */
function literalCopy(scope: Scope, routed: boolean, urlRoute: unknown): AnyScope | null {
  const s = scope as unknown as AnyScope;
  const type = s.type;
  if (type !== 'http' && type !== 'websocket') return null;
  const http = type === 'http';
  const layout = http ? HTTP_KEYS : WS_KEYS;
  const laid = layoutOf(s, layout);
  if (laid === Layout.Other) return null;
  if (laid === Layout.Exact) {
    if (http) return routed ? httpRouted(s, urlRoute) : httpCopy(s);
    return routed ? websocketRouted(s, urlRoute) : websocketCopy(s);
  }
  // With the lifespan state: it follows the layout's keys, as in the original, then url_route.
  const c = http ? httpCopy(s) : websocketCopy(s);
  c.state = s.state;
  if (routed) c.url_route = urlRoute;
  return c;
}

/** A shallow copy of `scope` with `additions` set on it; the original is left as it was. */
export function copyScope<S extends Scope>(scope: S): S;
export function copyScope<S extends Scope, A extends object>(scope: S, additions: A): S & A;
export function copyScope(scope: Scope, additions?: object): Scope {
  const copy = (literalCopy(scope, false, undefined) ?? Object.assign({}, scope)) as Scope;
  return additions === undefined ? copy : Object.assign(copy, additions);
}

/** A shallow copy of `scope` with `url_route` set (what URLRouter hands its target). */
export function copyScopeWithRoute<S extends Scope>(
  scope: S,
  urlRoute: { args: unknown[]; kwargs: Record<string, unknown> },
): S {
  const copy = literalCopy(scope, true, urlRoute);
  if (copy !== null) return copy as unknown as S;
  const c = Object.assign({}, scope) as S & { url_route?: unknown };
  c.url_route = urlRoute;
  return c;
}
