// URLRouter: routes http and websocket scopes by path. Captures land in
// scope.url_route.{args, kwargs}, merged through nested routers; the target gets a copy of the
// scope, never the caller's. No route: 404 for HTTP, a refused handshake for WebSocket, and a
// line in the log (info, repeats counted) — never a crash.
import type { Application, Scope, Send } from '../asgi/types.ts';
import { InvalidOptionError, UnknownScopeTypeError } from '../errors.ts';
import { createLogger, quoteForLog, RepeatedLog } from '../logging.ts';
import { NESTED, type Route } from './path-pattern.ts';
import { copyScopeWithRoute } from '../asgi/copy-scope.ts';

const log = createLogger('routing');

/** The part of the path an outer router has not matched yet (private to routers). */
export const PATH_REMAINING = 'path_remaining';

type PathScope = Scope & { path: string; root_path?: string; [PATH_REMAINING]?: string };

// A path with no route is the client's doing (or a scanner's): info, with its repeats counted.
const notFoundLog = new RepeatedLog(log, 'info');

async function notFound(scope: PathScope, send: Send): Promise<void> {
  const kind = scope.type === 'http' ? 'HTTP requests with no route' : 'WebSockets with no route';
  notFoundLog.note(kind, `no route for ${scope.type} ${quoteForLog(scope.path)}`);
  if (scope.type === 'http') {
    const body = Buffer.from(`Not Found: ${scope.path}\n`);
    await send({
      type: 'http.response.start',
      status: 404,
      headers: [
        ['content-type', 'text/plain; charset=utf-8'],
        ['content-length', String(body.length)],
      ],
    });
    await send({ type: 'http.response.body', body });
  } else {
    // A close before accept: the server answers the handshake with 403.
    await send({ type: 'websocket.close' });
  }
}

/** The path this router matches: the outer router's remainder, or the path without root_path. */
function pathToMatch(scope: PathScope): string {
  const remaining = scope[PATH_REMAINING];
  if (remaining !== undefined) return remaining;
  let p = scope.path;
  const root = scope.root_path;
  if (root && root !== '/' && (p === root || p.startsWith(root.endsWith('/') ? root : root + '/')))
    p = p.slice(root.replace(/\/$/, '').length);
  return p.charCodeAt(0) === 47 /* / */ ? p.slice(1) : p;
}

function URLRouterImpl(routes: Route[]): Application {
  if (!Array.isArray(routes))
    throw new InvalidOptionError(
      `URLRouter takes a list of path()/rePath() routes, not ${routes === null ? 'null' : typeof routes}`,
    );
  routes.forEach((route, i) => {
    if (!route || typeof route.match !== 'function' || typeof route.app !== 'function') {
      throw new InvalidOptionError(
        `URLRouter: entry ${i} is not a route; make it with path(pattern, app) or rePath(regex, app)`,
      );
    }
  });
  const list = [...routes];
  // Not async: an async wrapper returning the target's promise costs every connection three
  // more turns of the microtask queue. Every failure is still a rejection, never a throw.
  const router: Application = (scope, receive, send) => {
    if (scope.type !== 'http' && scope.type !== 'websocket') {
      return Promise.reject(
        new UnknownScopeTypeError(
          `URLRouter routes http and websocket scopes, not '${scope.type}'; ` +
            `put it under ProtocolTypeRouter({ http, websocket })`,
        ),
      );
    }
    try {
      const s = scope as PathScope;
      const p = pathToMatch(s);
      for (const route of list) {
        const m = route.match(p);
        if (!m) continue;
        // The match's own args and kwargs are fresh objects: used as they are unless an outer
        // router captured something to merge with.
        const outer = s.url_route;
        const next = copyScopeWithRoute(
          s,
          outer === undefined
            ? { args: m.args, kwargs: m.kwargs }
            : {
                args: outer.args.length === 0 ? m.args : outer.args.concat(m.args),
                kwargs: Object.assign({}, outer.kwargs, m.kwargs),
              },
        ) as PathScope;
        if (route.prefix) next[PATH_REMAINING] = m.rest;
        else if (next[PATH_REMAINING] !== undefined) delete next[PATH_REMAINING];
        return route.app(next, receive, send);
      }
      return notFound(s, send);
    } catch (err) {
      return Promise.reject(err);
    }
  };
  (router as unknown as Record<symbol, boolean>)[NESTED] = true;
  return router;
}

/** `URLRouter([path('chat/<str:room>/', ChatConsumer.asApp())])`, with or without `new`. */
export const URLRouter = URLRouterImpl as unknown as {
  (routes: Route[]): Application;
  new (routes: Route[]): Application;
};
