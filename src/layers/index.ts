// The channel layers: the contract, the shared checks a backend reuses, the backends, and the
// process's layers by alias.
export type { ChannelLayer, LayerMessage, LayerExtension } from './types.ts';
export { checkChannelName, checkGroupName, isProcessLocal, nonLocalPart, MAX_NAME_LENGTH } from './names.ts';
export { inspectMessage, checkMessage, type CopyMode } from './message-check.ts';
export { parseLayerOptions, BASE_OPTION_KEYS, type BaseLayerOptions, type LayerSettings } from './base-layer.ts';
export {
  InMemoryChannelLayer,
  type InMemoryChannelLayerOptions,
  type MemoryLayerStats,
  type DropEvent,
} from './memory.ts';
export { RedisChannelLayer, type RedisChannelLayerOptions } from './redis/redis-layer.ts';
export { RedisPubSubChannelLayer, type RedisPubSubChannelLayerOptions } from './redis/pubsub-layer.ts';
export {
  configureChannelLayers,
  getChannelLayer,
  closeChannelLayers,
  resetChannelLayers,
  registerLayerBackend,
  type ChannelLayersConfig,
  type LayerConfig,
  type LayerClass,
} from './registry.ts';
