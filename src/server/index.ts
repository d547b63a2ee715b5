export { createServer, type CanalServer, type CloseOptions } from './server.ts';
export {
  resolveServerOptions,
  DEFAULT_SERVER_OPTIONS,
  type ServerOptions,
  type ResolvedServerOptions,
} from './options.ts';
export { httpTransport, type Transport, type TransportOptions, type TransportServer } from './transport.ts';
export type { ListenAddress, ListenTarget } from './listeners.ts';
export type { TlsOptions } from './tls.ts';
export { LifespanStartupError } from './lifespan.ts';
export type { ProxyHeadersOptions } from './proxy-headers.ts';
export type { ServerStats } from './context.ts';
