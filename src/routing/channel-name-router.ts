// ChannelNameRouter: routes worker (`channel`) scopes by the channel name.
import type { Application } from '../asgi/types.js';
import { UnknownScopeTypeError } from '../errors.js';

function ChannelNameRouterImpl(routes: Record<string, Application>): Application {
  return async (scope, receive, send) => {
    if (scope.type !== 'channel') throw new UnknownScopeTypeError(`ChannelNameRouter routes channel scopes, not '${scope.type}'`);
    const app = routes[scope.channel];
    if (!app) {
      throw new UnknownScopeTypeError(`ChannelNameRouter has no application for channel '${scope.channel}'; it routes: ${Object.keys(routes).join(', ')}`);
    }
    return app(scope, receive, send);
  };
}

export const ChannelNameRouter = ChannelNameRouterImpl as unknown as {
  (routes: Record<string, Application>): Application;
  new (routes: Record<string, Application>): Application;
};
