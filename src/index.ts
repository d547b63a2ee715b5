// canal: everything an application uses.
export * from './asgi/types.js';
export { copyScope } from './asgi/copy-scope.js';
export { SETTLED } from './asgi/settled.js';
export * from './errors.js';
export { createLogger, setLogLevel, type Logger, type LogLevel } from './logging.js';
export { createServer, resolveServerOptions, DEFAULT_SERVER_OPTIONS, LifespanStartupError } from './server/index.js';
export type { CanalServer, CloseOptions, ServerOptions, ResolvedServerOptions, ServerStats } from './server/index.js';
export type { ChannelLayer, LayerMessage, LayerExtension } from './layers/types.js';
export { InMemoryChannelLayer, type InMemoryChannelLayerOptions, type MemoryLayerStats, type DropEvent } from './layers/memory.js';
export { RedisChannelLayer, type RedisChannelLayerOptions } from './layers/redis/redis-layer.js';
export { RedisPubSubChannelLayer, type RedisPubSubChannelLayerOptions } from './layers/redis/pubsub-layer.js';
export { LayerUnavailableError } from './layers/redis/connection.js';
export {
  getChannelLayer,
  configureChannelLayers,
  closeChannelLayers,
  resetChannelLayers,
  registerLayerBackend,
  type ChannelLayersConfig,
  type LayerConfig,
} from './layers/registry.js';
export { checkChannelName, checkGroupName, isProcessLocal, nonLocalPart } from './layers/names.js';
export { inspectMessage, checkMessage } from './layers/message-check.js';
export { parseLayerOptions, type BaseLayerOptions } from './layers/base-layer.js';
export * from './consumers/index.js';
export * from './routing/index.js';
export { Worker, type WorkerOptions } from './worker/worker.js';
export { defineConfig, type CanalConfig } from './config.js';
export * from './middleware/index.js';
export { StaticFiles, type StaticFilesOptions, type StaticHeaders } from './static/static-files.js';
export { parseForm, resolveFormOptions, DEFAULT_FORM_OPTIONS, type ParsedForm, type UploadedFile, type FormOptions } from './http/forms.js';
export { parseJson } from './http/parse-json.js';
export { requestHeader, mediaType } from './http/request-header.js';
