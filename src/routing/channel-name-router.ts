// ChannelNameRouter: routes worker (`channel`) scopes by the channel name they were read from.
import type { Application } from '../asgi/types.js';
import { InvalidOptionError, NoRouteError, UnknownScopeTypeError } from '../errors.js';

function ChannelNameRouterImpl(routes: Record<string, Application>): Application {
  if (!routes || typeof routes !== 'object') throw new InvalidOptionError("ChannelNameRouter takes an object of channel name → application, e.g. { thumbnails: ThumbnailConsumer.asApp() }");
  for (const [name, app] of Object.entries(routes)) {
    if (typeof app !== 'function') throw new InvalidOptionError(`ChannelNameRouter: the entry for channel '${name}' must be an application, not ${app === null ? 'null' : typeof app}`);
  }
  const table = new Map(Object.entries(routes));
  return async (scope, receive, send) => {
    if (scope.type !== 'channel') {
      throw new UnknownScopeTypeError(`ChannelNameRouter routes channel scopes, not '${scope.type}'; put it under ProtocolTypeRouter({ channel })`);
    }
    const app = table.get(scope.channel);
    if (!app) {
      throw new NoRouteError(`ChannelNameRouter has no application for channel '${scope.channel}'; it routes: ${[...table.keys()].join(', ') || '(nothing)'}`);
    }
    return app(scope, receive, send);
  };
}

/** `ChannelNameRouter({ thumbnails: ThumbnailConsumer.asApp() })`, with or without `new`. */
export const ChannelNameRouter = ChannelNameRouterImpl as unknown as {
  (routes: Record<string, Application>): Application;
  new (routes: Record<string, Application>): Application;
};
