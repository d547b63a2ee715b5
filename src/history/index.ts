export { GroupHistory, positionFromQuery, type GroupHistoryOptions } from './group-history.ts';
export { HistoryFeed, type HistoryFeedOptions } from './history-feed.ts';
export { MemoryHistoryStore } from './memory-store.ts';
export { RedisHistoryStore } from './redis-store.ts';
export type {
  GapReason,
  HistoryLimits,
  HistoryPosition,
  HistoryStore,
  SinceResult,
  StampedMessage,
} from './types.ts';
