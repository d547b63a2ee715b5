// Options every backend shares, with channels_redis' names and defaults (seconds):
// expiry, groupExpiry, capacity, channelCapacity (glob strings or [RegExp, n] pairs),
// and maxMessageBytes. Unknown keys and bad values are refused at construction.
import { InvalidOptionError } from '../errors.ts';

export interface BaseLayerOptions {
  /** Seconds a message may wait unread. @default 60 */
  expiry?: number;
  /** Seconds a group membership lasts. @default 86400 */
  groupExpiry?: number;
  /** Messages a channel holds before send raises ChannelFull. @default 100 */
  capacity?: number;
  /** Per-channel capacities: `{ 'http.response!*': 10 }` globs or `[[/^worker\./, 500]]`. */
  channelCapacity?: Record<string, number> | readonly (readonly [RegExp | string, number])[];
  /** Largest encoded message accepted. @default 1 MiB */
  maxMessageBytes?: number;
}

export interface LayerSettings {
  expiry: number;
  groupExpiry: number;
  capacity: number;
  maxMessageBytes: number;
  /** True when no channelCapacity rule is set: every channel's capacity is `capacity`. */
  uniformCapacity: boolean;
  capacityFor(channel: string): number;
}

export const BASE_OPTION_KEYS = ['expiry', 'groupExpiry', 'capacity', 'channelCapacity', 'maxMessageBytes'];

function globToRegExp(glob: string): RegExp {
  const escaped = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

function positive(name: string, value: unknown, fallback: number, integer: boolean): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new InvalidOptionError(
      `layer option ${name} must be a ${integer ? 'whole ' : ''}number > 0, not ${String(value)}`,
    );
  }
  return value;
}

export function parseLayerOptions(options: BaseLayerOptions = {}, extraKeys: readonly string[] = []): LayerSettings {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('layer options must be an object');
  for (const key of Object.keys(options)) {
    if (!BASE_OPTION_KEYS.includes(key) && !extraKeys.includes(key)) {
      throw new InvalidOptionError(
        `unknown layer option '${key}'; known options: ${[...BASE_OPTION_KEYS, ...extraKeys].join(', ')}`,
      );
    }
  }
  const expiry = positive('expiry', options.expiry, 60, false);
  const groupExpiry = positive('groupExpiry', options.groupExpiry, 86400, false);
  const capacity = positive('capacity', options.capacity, 100, true);
  const maxMessageBytes = positive('maxMessageBytes', options.maxMessageBytes, 1024 * 1024, true);
  const rules: [RegExp, number][] = [];
  const raw = options.channelCapacity;
  if (raw !== undefined) {
    const entries = Array.isArray(raw) ? raw : Object.entries(raw as Record<string, number>);
    for (const entry of entries as [RegExp | string, number][]) {
      const [pattern, n] = entry;
      positive(`channelCapacity[${String(pattern)}]`, n, 0, true);
      if (pattern instanceof RegExp) rules.push([pattern, n]);
      else if (typeof pattern === 'string') rules.push([globToRegExp(pattern), n]);
      else
        throw new InvalidOptionError(
          `channelCapacity patterns must be glob strings or RegExps, not ${String(pattern)}`,
        );
    }
  }
  const cache = new Map<string, number>();
  const capacityFor = (channel: string): number => {
    if (rules.length === 0) return capacity;
    let n = cache.get(channel);
    if (n === undefined) {
      n = rules.find(([re]) => re.test(channel))?.[1] ?? capacity;
      if (cache.size > 10000) cache.clear();
      cache.set(channel, n);
    }
    return n;
  };
  return { expiry, groupExpiry, capacity, maxMessageBytes, uniformCapacity: rules.length === 0, capacityFor };
}
