// ChannelNameRouter: routes worker (`channel`) scopes by the channel name they were read from.
import type { Application } from '../asgi/types.ts';
import { InvalidOptionError, NoRouteError, UnknownScopeTypeError } from '../errors.ts';

function ChannelNameRouterImpl(routes: Record<string, Application>): Application {
  if (!routes || typeof routes !== 'object')
    throw new InvalidOptionError(
      'ChannelNameRouter takes an object of channel name → application, e.g. { thumbnails: ThumbnailConsumer.asApp() }',
    );
  for (const [name, app] of Object.entries(routes)) {
    if (typeof app !== 'function')
      throw new InvalidOptionError(
        `ChannelNameRouter: the entry for channel '${name}' must be an application, ` +
          `not ${app === null ? 'null' : typeof app}`,
      );
  }
  const table = new Map(Object.entries(routes));
  // Not async, as the other routers: every failure is still a rejection, never a throw.
  return (scope, receive, send) => {
    if (scope.type !== 'channel') {
      return Promise.reject(
        new UnknownScopeTypeError(
          `ChannelNameRouter routes channel scopes, not '${scope.type}'; put it under ProtocolTypeRouter({ channel })`,
        ),
      );
    }
    const app = table.get(scope.channel);
    if (!app) {
      return Promise.reject(
        new NoRouteError(
          `ChannelNameRouter has no application for channel '${scope.channel}'; ` +
            `it routes: ${[...table.keys()].join(', ') || '(nothing)'}`,
        ),
      );
    }
    try {
      return app(scope, receive, send);
    } catch (err) {
      return Promise.reject(err);
    }
  };
}

/** `ChannelNameRouter({ thumbnails: ThumbnailConsumer.asApp() })`, with or without `new`. */
export const ChannelNameRouter = ChannelNameRouterImpl as unknown as {
  (routes: Record<string, Application>): Application;
  new (routes: Record<string, Application>): Application;
};
