// ProtocolTypeRouter: one app per scope type (http, websocket, lifespan, channel). A lifespan
// scope with no entry returns at once: the server then runs without lifespan events, as the
// ASGI lifespan spec allows for apps that do not support it.
import type { Application } from '../asgi/types.ts';
import { InvalidOptionError, UnknownScopeTypeError } from '../errors.ts';

export interface ProtocolTypeRoutes {
  http?: Application;
  websocket?: Application;
  lifespan?: Application;
  channel?: Application;
}

const KNOWN = ['http', 'websocket', 'lifespan', 'channel'];

function ProtocolTypeRouterImpl(routes: ProtocolTypeRoutes): Application {
  if (!routes || typeof routes !== 'object')
    throw new InvalidOptionError('ProtocolTypeRouter takes an object: { http, websocket, lifespan, channel }');
  for (const [key, app] of Object.entries(routes)) {
    if (!KNOWN.includes(key))
      throw new InvalidOptionError(`ProtocolTypeRouter: unknown scope type '${key}'; use ${KNOWN.join(', ')}`);
    if (typeof app !== 'function')
      throw new InvalidOptionError(
        `ProtocolTypeRouter: '${key}' must be an application (a function), not ${app === null ? 'null' : typeof app}`,
      );
  }
  const table: ProtocolTypeRoutes = { ...routes };
  const { http, websocket, lifespan, channel } = table;
  // Not async: an async wrapper returning the inner app's promise costs the request three
  // more turns of the microtask queue. Every failure is still a rejection, never a throw.
  // The app is picked by comparing the type, not by looking it up as a key of the table.
  return (scope, receive, send) => {
    const type = scope.type;
    const app =
      type === 'http'
        ? http
        : type === 'websocket'
          ? websocket
          : type === 'lifespan'
            ? lifespan
            : type === 'channel'
              ? channel
              : undefined;
    try {
      if (app) return app(scope, receive, send);
    } catch (err) {
      return Promise.reject(err);
    }
    if (scope.type === 'lifespan') return Promise.resolve();
    return Promise.reject(
      new UnknownScopeTypeError(
        `ProtocolTypeRouter has no application for '${String(scope.type)}' scopes; ` +
          `it routes: ${Object.keys(table).join(', ') || '(nothing)'}`,
      ),
    );
  };
}

/** `ProtocolTypeRouter({ http: httpApp, websocket: URLRouter([...]) })`, with or without `new`. */
export const ProtocolTypeRouter = ProtocolTypeRouterImpl as unknown as {
  (routes: ProtocolTypeRoutes): Application;
  new (routes: ProtocolTypeRoutes): Application;
};
