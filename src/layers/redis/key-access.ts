// How a feature above the layer that keeps Redis keys of its own (presence) reaches the Redis
// layers' command clients. Keyed by a symbol, so it is no part of the layers' public API: their
// names, methods and behaviour stay as they are.
import { consistentHash } from './consistent-hash.ts';
import type { Shard } from './connection.ts';

export const REDIS_KEY_ACCESS: unique symbol = Symbol('canal.redisKeyAccess');

export interface RedisKeyAccess {
  /** What begins every key of the layer (its `prefix` option). */
  readonly prefix: string;
  /** The command side of each shard, in the order of the `hosts` option. */
  readonly shards: readonly Shard[];
  /** The index of the shard that holds `name`'s keys (channels_redis' consistent hash). */
  shardIndex(name: string): number;
}

/** The key access of a Redis layer; null for a layer that has none. */
export function redisKeyAccess(layer: object): RedisKeyAccess | null {
  const get = (layer as { [REDIS_KEY_ACCESS]?: () => RedisKeyAccess })[REDIS_KEY_ACCESS];
  return typeof get === 'function' ? get.call(layer) : null;
}

export function keyAccess(prefix: string, shards: readonly Shard[]): RedisKeyAccess {
  return { prefix, shards, shardIndex: (name) => consistentHash(name, shards.length) };
}
