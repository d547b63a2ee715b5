// URLRouter: routes http and websocket scopes by path. Captures land in
// scope.url_route.{args, kwargs}, merged through nested routers; the target gets a copy of the
// scope. No route: 404 for HTTP, a refused handshake for WebSocket, and a warning in the log.
import type { Application, Scope, Send } from '../asgi/types.js';
import { UnknownScopeTypeError } from '../errors.js';
import { createLogger } from '../logging.js';
import { NESTED, type Route } from './path-pattern.js';

const log = createLogger('routing');
/** The part of the path an outer router has not matched yet (private to routers). */
const REMAINING = 'path_remaining';

async function notFound(scope: Scope, send: Send, path: string): Promise<void> {
  log.warn(`no route for ${scope.type} ${path}`);
  if (scope.type === 'http') {
    const body = Buffer.from(`Not Found: ${path}\n`);
    await send({ type: 'http.response.start', status: 404, headers: [['content-type', 'text/plain; charset=utf-8'], ['content-length', String(body.length)]] });
    await send({ type: 'http.response.body', body });
  } else if (scope.type === 'websocket') {
    await send({ type: 'websocket.close' });
  }
}

function URLRouterImpl(routes: Route[]): Application {
  if (!Array.isArray(routes)) throw new UnknownScopeTypeError('URLRouter takes a list of path()/rePath() routes');
  const router: Application = async (scope, receive, send) => {
    if (scope.type !== 'http' && scope.type !== 'websocket') {
      throw new UnknownScopeTypeError(`URLRouter routes http and websocket scopes, not '${scope.type}'`);
    }
    const s = scope as Scope & { [REMAINING]?: string; path: string; root_path?: string };
    let p = s[REMAINING] ?? s.path;
    if (s[REMAINING] === undefined) {
      if (s.root_path && p.startsWith(s.root_path)) p = p.slice(s.root_path.length);
      p = p.replace(/^\//, '');
    }
    for (const route of routes) {
      const m = route.match(p);
      if (!m) continue;
      const outer = s.url_route ?? { args: [], kwargs: {} };
      const next = {
        ...s,
        url_route: { args: [...outer.args, ...m.args], kwargs: { ...outer.kwargs, ...m.kwargs } },
      } as Scope & { [REMAINING]?: string };
      if (route.prefix) next[REMAINING] = m.rest;
      else delete next[REMAINING];
      return route.app(next, receive, send);
    }
    return notFound(scope, send, s.path);
  };
  (router as unknown as Record<symbol, boolean>)[NESTED] = true;
  return router;
}

/** `URLRouter([path('chat/<str:room>/', ChatConsumer.asApp())])`, with or without `new`. */
export const URLRouter = URLRouterImpl as unknown as {
  (routes: Route[]): Application;
  new (routes: Route[]): Application;
};
