export { ProtocolTypeRouter, type ProtocolTypeRoutes } from './protocol-type-router.js';
export { URLRouter } from './url-router.js';
export { ChannelNameRouter } from './channel-name-router.js';
export { path, rePath, registerConverter, getConverter, type Converter, type Route, type RouteMatch } from './path-pattern.js';
