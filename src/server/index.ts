export { createServer, type CanalServer, type CloseOptions } from './server.js';
export { resolveServerOptions, DEFAULT_SERVER_OPTIONS, type ServerOptions, type ResolvedServerOptions } from './options.js';
export { LifespanStartupError } from './lifespan.js';
export type { ServerStats } from './context.js';
