export { ProtocolTypeRouter, type ProtocolTypeRoutes } from './protocol-type-router.ts';
export { URLRouter } from './url-router.ts';
export { ChannelNameRouter } from './channel-name-router.ts';
export {
  path,
  rePath,
  registerConverter,
  getConverter,
  type Converter,
  type Route,
  type RouteMatch,
} from './path-pattern.ts';
