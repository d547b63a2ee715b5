// canaljs: everything an application uses.
export * from './asgi/types.ts';
export { copyScope } from './asgi/copy-scope.ts';
export * from './errors.ts';
export {
  createLogger,
  setLogLevel,
  setLogFormat,
  setLogger,
  setLogSink,
  type Logger,
  type LogLevel,
  type LogFormat,
  type LogTarget,
} from './logging.ts';
export { createServer, resolveServerOptions, DEFAULT_SERVER_OPTIONS, LifespanStartupError } from './server/index.ts';
export type { CanalServer, CloseOptions, ServerOptions, ResolvedServerOptions, ServerStats } from './server/index.ts';
export type { ProxyHeadersOptions } from './server/index.ts';
export type { ListenAddress, ListenTarget, TlsOptions } from './server/index.ts';
export { httpTransport, type Transport, type TransportOptions, type TransportServer } from './server/index.ts';
export type { ChannelLayer, LayerMessage, LayerExtension, TypedMessage } from './layers/types.ts';
export {
  InMemoryChannelLayer,
  type InMemoryChannelLayerOptions,
  type MemoryLayerStats,
  type DropEvent,
} from './layers/memory.ts';
export { RedisChannelLayer, type RedisChannelLayerOptions } from './layers/redis/redis-layer.ts';
export { RedisPubSubChannelLayer, type RedisPubSubChannelLayerOptions } from './layers/redis/pubsub-layer.ts';
export { LayerUnavailableError } from './layers/redis/connection.ts';
export {
  GroupHistory,
  HistoryFeed,
  MemoryHistoryStore,
  RedisHistoryStore,
  positionFromQuery,
  type GroupHistoryOptions,
  type HistoryFeedOptions,
  type GapReason,
  type HistoryLimits,
  type HistoryPosition,
  type HistoryStore,
  type SinceResult,
  type StampedMessage,
} from './history/index.ts';
export { ChaosLayer, type ChaosLayerOptions, type ChaosStats } from './layers/chaos-layer.ts';
export {
  getChannelLayer,
  configureChannelLayers,
  closeChannelLayers,
  resetChannelLayers,
  registerLayerBackend,
  type ChannelLayersConfig,
  type LayerConfig,
} from './layers/registry.ts';
export { checkChannelName, checkGroupName, isProcessLocal, nonLocalPart } from './layers/names.ts';
export { inspectMessage, checkMessage } from './layers/message-check.ts';
export { parseLayerOptions, type BaseLayerOptions } from './layers/base-layer.ts';
export * from './consumers/index.ts';
export * from './presence/index.ts';
export * from './routing/index.ts';
export { Worker, type WorkerOptions, type WorkerStats } from './worker/worker.ts';
export { createMetrics, type CanalMetrics, type MetricsOptions, type MetricsLayers } from './metrics/create-metrics.ts';
export {
  startMetricsServer,
  checkReadiness,
  type MetricsServer,
  type MetricsServerOptions,
  type Readiness,
} from './metrics/metrics-server.ts';
export { defineConfig, type CanalConfig } from './cli/config.ts';
export * from './middleware/index.ts';
export { nodeHttpApp, type NodeHttpHandler, type NodeHttpAppOptions } from './adapters/node-http-app.ts';
export { StaticFiles, type StaticFilesOptions, type StaticHeaders } from './static/static-files.ts';
export {
  parseForm,
  resolveFormOptions,
  DEFAULT_FORM_OPTIONS,
  type ParsedForm,
  type UploadedFile,
  type FormOptions,
} from './request/forms.ts';
export { parseJson } from './request/parse-json.ts';
export { queryParams } from './request/query-params.ts';
export { requestHeader, mediaType } from './request/request-header.ts';
export { clientAsset, type ClientAssetOptions } from './static/client-asset.ts';
