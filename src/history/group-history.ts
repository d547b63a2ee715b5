// GroupHistory: opt-in history for chosen groups, above any channel layer. A message sent
// through it is appended to the group's history first, which gives it its offset, and then
// sent to the group by the layer's own groupSend with `offset` and `epoch` added, so the
// layer's fan-out is unchanged and groups sent to without it cost what they did.
import { InvalidMessageError, InvalidOptionError } from '../errors.ts';
import { checkMessage, inspectMessage } from '../layers/message-check.ts';
import { checkGroupName } from '../layers/names.ts';
import type { ChannelLayer, LayerMessage } from '../layers/types.ts';
import { MemoryHistoryStore } from './memory-store.ts';
import { isRedisBacked, RedisHistoryStore } from './redis-store.ts';
import type { HistoryLimits, HistoryPosition, HistoryStore, SinceResult, StampedMessage } from './types.ts';

export interface GroupHistoryOptions {
  /** Messages kept per group. @default 1000 */
  maxMessages?: number;
  /** How long a message is kept, ms; 0 keeps messages until the count bound drops them. @default 300000 */
  maxAgeMs?: number;
  /**
   * How long Redis keeps the history keys of a group that has had no message, ms; a client
   * back after that gets an 'epoch' gap. At least maxAgeMs. @default 86400000 (a day)
   */
  idleMs?: number;
  /**
   * Largest message, as the layer counts it (msgpack bytes); checked before the append, so a
   * message the layer would refuse never enters the history. Give the layer's own value.
   * @default 1048576
   */
  maxMessageBytes?: number;
  /**
   * Where the history is kept. Default: in Redis for the Redis layers (on the group's shard,
   * under the layer's prefix), in this process for any other layer — one store per layer, so
   * every GroupHistory of one in-memory layer shares the offsets of a group.
   */
  store?: HistoryStore;
}

const memoryStores = new WeakMap<object, MemoryHistoryStore>();

function storeFor(layer: ChannelLayer<LayerMessage>): HistoryStore {
  if (isRedisBacked(layer)) return new RedisHistoryStore(layer);
  let store = memoryStores.get(layer);
  if (!store) memoryStores.set(layer, (store = new MemoryHistoryStore()));
  return store;
}

function wholeNumber(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min)
    throw new InvalidOptionError(`GroupHistory: ${name} must be a whole number >= ${min}, not ${String(value)}`);
  return value;
}

/** Reads a position from `?since=<offset>&epoch=<epoch>`; null when either is missing or malformed. */
export function positionFromQuery(query: URLSearchParams): HistoryPosition | null {
  const since = query.get('since');
  const epoch = query.get('epoch');
  if (since === null || epoch === null || !/^\d{1,15}$/.test(since) || epoch.length === 0 || epoch.length > 64)
    return null;
  return { offset: Number(since), epoch };
}

export class GroupHistory<M extends LayerMessage = LayerMessage> {
  readonly layer: ChannelLayer<M>;
  readonly store: HistoryStore;
  private readonly limits: HistoryLimits;
  private readonly maxMessageBytes: number;

  constructor(layer: ChannelLayer<M>, options: GroupHistoryOptions = {}) {
    this.layer = layer;
    const maxAgeMs = wholeNumber('maxAgeMs', options.maxAgeMs, 300_000, 0);
    this.limits = {
      maxMessages: wholeNumber('maxMessages', options.maxMessages, 1000, 1),
      maxAgeMs,
      idleMs: Math.max(maxAgeMs, wholeNumber('idleMs', options.idleMs, 86_400_000, 1)),
    };
    this.maxMessageBytes = wholeNumber('maxMessageBytes', options.maxMessageBytes, 1024 * 1024, 1);
    this.store = options.store ?? storeFor(layer as unknown as ChannelLayer<LayerMessage>);
  }

  get maxMessages(): number {
    return this.limits.maxMessages;
  }
  get maxAgeMs(): number {
    return this.limits.maxAgeMs;
  }

  /**
   * Appends `message` to the group's history, then sends it to the group with its `offset`
   * and `epoch`. Resolves with that position once the layer's groupSend has. The two fields
   * are the history's: a message that has either is refused.
   */
  async groupSend(group: string, message: M): Promise<HistoryPosition> {
    checkGroupName(group);
    if (Object.hasOwn(message, 'offset') || Object.hasOwn(message, 'epoch'))
      throw new InvalidMessageError(
        `GroupHistory.groupSend(${JSON.stringify(group)}): 'offset' and 'epoch' are set by the history; rename them`,
      );
    const store = this.store;
    let position: HistoryPosition;
    if (store instanceof MemoryHistoryStore) {
      // Kept as a frozen copy: later changes to the caller's object do not reach the history.
      const { copy } = inspectMessage(message, this.maxMessageBytes, 'groupSend', 'frozen');
      position = store.appendNow(group, copy, this.limits);
    } else {
      checkMessage(message, this.maxMessageBytes, 'groupSend');
      // The core Redis layer appends and sends in one script; other layers in two steps.
      const inOneStep = store instanceof RedisHistoryStore ? store.appendAndSend(group, message, this.limits) : null;
      if (inOneStep !== null) return inOneStep;
      position = await store.append(group, message, this.limits);
    }
    await this.layer.groupSend(group, { ...message, offset: position.offset, epoch: position.epoch });
    return position;
  }

  /**
   * The messages after `from`, in order, each once; or `{ gap: true, reason }` when some are no
   * longer kept ('trimmed') or `from` is of another epoch ('epoch'): the reader must reload.
   * `position` is the group's current one either way.
   */
  since(group: string, from: HistoryPosition): Promise<SinceResult<M>> {
    checkGroupName(group);
    return this.store.since(group, from, this.limits) as Promise<SinceResult<M>>;
  }

  /** The group's last offset and epoch: where a reader that has just loaded the state starts. */
  position(group: string): Promise<HistoryPosition> {
    checkGroupName(group);
    return this.store.position(group, this.limits);
  }
}

export type { StampedMessage };
