// The channel layers: the contract, the shared checks a backend reuses, the backends, and the
// process's layers by alias.
export type { ChannelLayer, LayerMessage, LayerExtension } from './types.js';
export { checkChannelName, checkGroupName, isProcessLocal, nonLocalPart, MAX_NAME_LENGTH } from './names.js';
export { inspectMessage, checkMessage, type CopyMode } from './message-check.js';
export { parseLayerOptions, BASE_OPTION_KEYS, type BaseLayerOptions, type LayerSettings } from './base-layer.js';
export { InMemoryChannelLayer, type InMemoryChannelLayerOptions, type MemoryLayerStats, type DropEvent } from './memory.js';
export { RedisChannelLayer, type RedisChannelLayerOptions } from './redis/redis-layer.js';
export { RedisPubSubChannelLayer, type RedisPubSubChannelLayerOptions } from './redis/pubsub-layer.js';
export {
  configureChannelLayers,
  getChannelLayer,
  closeChannelLayers,
  resetChannelLayers,
  registerLayerBackend,
  type ChannelLayersConfig,
  type LayerConfig,
  type LayerClass,
} from './registry.js';
