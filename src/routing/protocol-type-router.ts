// ProtocolTypeRouter: one app per scope type (http, websocket, lifespan, channel). A lifespan
// scope with no entry is answered by returning (the server then runs without lifespan).
import type { Application } from '../asgi/types.js';
import { UnknownScopeTypeError } from '../errors.js';

export interface ProtocolTypeRoutes {
  http?: Application;
  websocket?: Application;
  lifespan?: Application;
  channel?: Application;
}

function ProtocolTypeRouterImpl(routes: ProtocolTypeRoutes): Application {
  for (const [key, app] of Object.entries(routes ?? {})) {
    if (typeof app !== 'function') throw new UnknownScopeTypeError(`ProtocolTypeRouter: '${key}' must be an application, not ${typeof app}`);
  }
  return async (scope, receive, send) => {
    const app = routes[scope.type as keyof ProtocolTypeRoutes];
    if (app) return app(scope, receive, send);
    if (scope.type === 'lifespan') return;
    throw new UnknownScopeTypeError(
      `ProtocolTypeRouter has no application for '${scope.type}' scopes; it routes: ${Object.keys(routes).join(', ') || '(nothing)'}`,
    );
  };
}

export const ProtocolTypeRouter = ProtocolTypeRouterImpl as unknown as {
  (routes: ProtocolTypeRoutes): Application;
  new (routes: ProtocolTypeRoutes): Application;
};
