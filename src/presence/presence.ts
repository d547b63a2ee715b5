// Presence: who is in a group, live, across every process on the layer. A channel is tracked in
// a group with metadata; list() answers from every process; the group's members get
// `presence.join` and `presence.leave` messages. A tracked channel leaves when it is untracked
// (a consumer's clean-up does it as the socket closes), and the members of a process that died
// leave within `ttlMs`: each process refreshes its liveness every `heartbeatMs`, and the live
// processes remove the members of one that stopped, each removal reported by exactly one of them.
// The records live in a store: Redis keys of Canal's own for the Redis layers, a Map otherwise.
import { InvalidOptionError } from '../errors.ts';
import { createLogger, RepeatedLog } from '../logging.ts';
import { checkChannelName, checkGroupName } from '../layers/names.ts';
import { redisKeyAccess } from '../layers/redis/key-access.ts';
import type { ChannelLayer, LayerMessage } from '../layers/types.ts';
import { localPresenceStore } from './memory-presence.ts';
import { RedisPresenceStore } from './redis-presence.ts';

const log = createLogger('presence');
const failures = new RepeatedLog(log, 'warn');

/** What a tracked channel carries: a JSON object (who, since when, which device…). */
export type PresenceMeta = Record<string, unknown>;

export interface PresenceEntry {
  channel: string;
  meta: PresenceMeta;
  /** When the channel was first tracked in the group, ms since the epoch. */
  joinedAt: number;
}

/** The layer message a group's members get: `presence_join(event)` / `presence_leave(event)`. */
export interface PresenceEvent extends PresenceEntry {
  type: 'presence.join' | 'presence.leave';
  group: string;
}

export interface PresenceOptions {
  /** How often each process refreshes its liveness and looks for processes that stopped. @default 5000 */
  heartbeatMs?: number;
  /**
   * How soon the members of a process that died (killed, frozen, cut off from Redis) have left,
   * at most, ms. At least twice heartbeatMs. @default 15000
   */
  ttlMs?: number;
}

/** A member removed from the store, with the group it was in. */
export interface GoneEntry extends PresenceEntry {
  group: string;
}

/** Where the records live. Each removal is reported by one call only, so one process emits its leave. */
export interface PresenceStore {
  /** Records (or replaces) the entry; true when it was not recorded before. */
  track(group: string, entry: PresenceEntry): Promise<boolean>;
  /** Removes the entry; true when this call removed it. `last`: no other channel of this process stays in it. */
  untrack(group: string, channel: string, last: boolean): Promise<boolean>;
  /** The group's live entries, and those of dead processes this call removed. */
  list(group: string): Promise<{ present: PresenceEntry[]; gone: GoneEntry[] }>;
  /**
   * Refreshes this process's liveness and removes the members of processes that stopped.
   * `lost`: the store had forgotten this process (it was presumed dead): its entries must be tracked again.
   */
  heartbeat(): Promise<{ gone: GoneEntry[]; lost: boolean }>;
  /** Whether the store needs heartbeat() at all (a store of one process does not). */
  readonly needsHeartbeat: boolean;
  /** The layer is closed: heartbeats stop. */
  readonly closed: boolean;
  /** This process is done: forgets its liveness record. */
  close(): Promise<void>;
}

function checkInterval(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new InvalidOptionError(`presence: ${name} must be a whole number of milliseconds > 0, not ${String(value)}`);
  }
  return value;
}

/** The options with their defaults, checked. */
export function resolvePresenceOptions(options: PresenceOptions = {}): Required<PresenceOptions> {
  const unknown = Object.keys(options).filter((k) => k !== 'heartbeatMs' && k !== 'ttlMs');
  if (unknown.length) throw new InvalidOptionError(`presence: unknown option ${unknown.join(', ')}`);
  const heartbeatMs = checkInterval('heartbeatMs', options.heartbeatMs, 5000);
  const ttlMs = checkInterval('ttlMs', options.ttlMs, Math.max(15_000, 3 * heartbeatMs));
  if (ttlMs < 2 * heartbeatMs) {
    throw new InvalidOptionError(
      `presence: ttlMs (${ttlMs}) must be at least twice heartbeatMs (${heartbeatMs}), ` +
        'so that a late heartbeat is not taken for a death',
    );
  }
  return { heartbeatMs, ttlMs };
}

/** A JSON copy of `meta`: what every process reads back, whatever the store. */
function copyMeta(meta: unknown): PresenceMeta {
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) {
    throw new InvalidOptionError(
      `presence: meta must be a JSON object, not ${Array.isArray(meta) ? 'an array' : meta}`,
    );
  }
  return JSON.parse(JSON.stringify(meta)) as PresenceMeta;
}

export class Presence {
  readonly layer: ChannelLayer;
  readonly heartbeatMs: number;
  readonly ttlMs: number;
  readonly #store: PresenceStore;
  /** This process's tracked channels: group → channel → entry (tracked again if the store lost them). */
  readonly #local = new Map<string, Map<string, PresenceEntry>>();
  /** Untracked here, not yet removed from the store (it was unreachable): `group channel` → entry. */
  readonly #unsent = new Map<string, GoneEntry>();
  #timer: NodeJS.Timeout | null = null;
  #beating = false;
  #closed = false;

  constructor(layer: ChannelLayer, options: PresenceOptions = {}) {
    if (!layer || typeof layer.groupSend !== 'function') {
      throw new InvalidOptionError('presence: the first argument must be a channel layer with groups');
    }
    const resolved = resolvePresenceOptions(options);
    this.heartbeatMs = resolved.heartbeatMs;
    this.ttlMs = resolved.ttlMs;
    this.layer = layer;
    const redis = redisKeyAccess(layer);
    // A process is presumed dead when it missed heartbeats for ttl − heartbeat; the live ones
    // look every heartbeat, so its members are gone within ttl of its death.
    this.#store = redis ? new RedisPresenceStore(redis, this.ttlMs - this.heartbeatMs) : localPresenceStore(layer);
    if (this.#store.needsHeartbeat) {
      this.#timer = setInterval(() => void this.#heartbeat(), this.heartbeatMs);
      this.#timer.unref();
      void this.#heartbeat();
    }
  }

  /**
   * Tracks `channel` in `group` with `meta`, and sends `presence.join` to the group. Tracking a
   * tracked channel again replaces its meta (its joinedAt stays) and sends `presence.join` again.
   */
  async track(group: string, channel: string, meta: PresenceMeta = {}): Promise<PresenceEntry> {
    this.#checkOpen();
    checkGroupName(group);
    checkChannelName(channel);
    const copy = copyMeta(meta);
    let channels = this.#local.get(group);
    if (!channels) this.#local.set(group, (channels = new Map()));
    const joinedAt = channels.get(channel)?.joinedAt ?? Date.now();
    const entry: PresenceEntry = { channel, meta: copy, joinedAt };
    channels.set(channel, entry);
    try {
      await this.#store.track(group, entry);
    } catch (err) {
      // Not recorded: this process does not count it as tracked either.
      if (channels.get(channel) === entry) this.#forget(group, channel);
      throw err;
    }
    await this.#emit('presence.join', group, entry);
    return { ...entry, meta: copyMeta(copy) };
  }

  /** Stops tracking; sends `presence.leave` to the group. False when the channel was not tracked. */
  async untrack(group: string, channel: string): Promise<boolean> {
    this.#checkOpen();
    checkGroupName(group);
    checkChannelName(channel);
    const entry = this.#local.get(group)?.get(channel);
    if (!entry) return false;
    this.#forget(group, channel);
    let removed: boolean;
    try {
      removed = await this.#store.untrack(group, channel, !this.#local.has(group));
    } catch (err) {
      // The store may still hold it, and this process's heartbeat would keep it alive there:
      // the removal is made again with each heartbeat until it goes through.
      this.#unsent.set(`${group} ${channel}`, { group, ...entry });
      throw err;
    }
    // Not removed here: it was presumed dead and removed by another process, which sent the leave.
    if (removed) await this.#emit('presence.leave', group, entry);
    return removed;
  }

  /** Who is in `group` now, from every process, oldest first. */
  async list(group: string): Promise<PresenceEntry[]> {
    this.#checkOpen();
    checkGroupName(group);
    const { present, gone } = await this.#store.list(group);
    if (gone.length) void this.#emitGone(gone);
    return present.sort((a, b) => a.joinedAt - b.joinedAt || (a.channel < b.channel ? -1 : 1));
  }

  /** The groups this process tracks `channel` in. */
  groupsOf(channel: string): string[] {
    const out: string[] = [];
    for (const [group, channels] of this.#local) if (channels.has(channel)) out.push(group);
    return out;
  }

  /**
   * Untracks every channel of this process (their leaves are sent) and stops the heartbeat.
   * Call it before the layer is closed; a process that ends without it is handled as one that
   * died (its members leave within ttlMs).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    const all = [...this.#local].flatMap(([group, channels]) => [...channels.keys()].map((c) => [group, c] as const));
    for (const [group, channel] of all) {
      await this.untrack(group, channel).catch((err: Error) =>
        failures.note('untrack on close', `presence: could not untrack ${channel} from ${group}: ${err.message}`),
      );
    }
    this.#closed = true;
    if (shared.get(this.layer) === this) shared.delete(this.layer);
    await this.#store.close().catch(() => {});
  }

  #checkOpen(): void {
    if (this.#closed) throw new InvalidOptionError('presence: this Presence is closed');
  }

  #forget(group: string, channel: string): void {
    const channels = this.#local.get(group);
    if (!channels?.delete(channel)) return;
    if (channels.size === 0) this.#local.delete(group);
  }

  #emit(type: PresenceEvent['type'], group: string, entry: PresenceEntry): Promise<void> {
    const event: PresenceEvent = { type, group, channel: entry.channel, meta: entry.meta, joinedAt: entry.joinedAt };
    return this.layer.groupSend(group, event as unknown as LayerMessage);
  }

  async #emitGone(gone: readonly GoneEntry[]): Promise<void> {
    for (const g of gone) {
      await this.#emit('presence.leave', g.group, g).catch((err: Error) =>
        failures.note('leave of a dead process', `presence: could not send the leave of ${g.channel}: ${err.message}`),
      );
    }
  }

  async #heartbeat(): Promise<void> {
    if (this.#beating || this.#closed) return;
    if (this.#store.closed) {
      if (this.#timer) clearInterval(this.#timer);
      this.#timer = null;
      return;
    }
    this.#beating = true;
    try {
      const { gone, lost } = await this.#store.heartbeat();
      if (gone.length) await this.#emitGone(gone);
      if (lost) await this.#trackAgain();
      if (this.#unsent.size) await this.#untrackUnsent();
    } catch (err) {
      if (!this.#store.closed) failures.note('heartbeat', `presence: heartbeat failed: ${(err as Error).message}`);
    } finally {
      this.#beating = false;
    }
  }

  async #untrackUnsent(): Promise<void> {
    for (const [key, g] of [...this.#unsent]) {
      // Tracked again since: the entry is wanted after all.
      if (this.#local.get(g.group)?.has(g.channel)) {
        this.#unsent.delete(key);
        continue;
      }
      const removed = await this.#store.untrack(g.group, g.channel, !this.#local.has(g.group));
      this.#unsent.delete(key);
      if (removed) await this.#emit('presence.leave', g.group, g);
    }
  }

  /** The store forgot this process (presumed dead, or Redis lost its keys): its members join again. */
  async #trackAgain(): Promise<void> {
    let count = 0;
    for (const [group, channels] of this.#local) {
      for (const entry of channels.values()) {
        if (await this.#store.track(group, entry)) {
          count++;
          await this.#emit('presence.join', group, entry);
        }
      }
    }
    if (count) log.info(`presence: tracked ${count} channels again after they were presumed gone`);
  }
}

const shared = new WeakMap<ChannelLayer, Presence>();

/**
 * The Presence of `layer` in this process, made on first use (one heartbeat per process and
 * layer, shared by every consumer). Options given later must match the first ones.
 */
export function presenceFor(layer: ChannelLayer, options?: PresenceOptions): Presence {
  const existing = shared.get(layer);
  if (existing) {
    if (options) {
      const probe = resolvePresenceOptions(options);
      if (probe.heartbeatMs !== existing.heartbeatMs || probe.ttlMs !== existing.ttlMs) {
        throw new InvalidOptionError(
          `presence: this layer's Presence has heartbeatMs ${existing.heartbeatMs} and ttlMs ${existing.ttlMs}; ` +
            'it cannot be asked for with other options',
        );
      }
    }
    return existing;
  }
  const made = new Presence(layer, options);
  shared.set(layer, made);
  return made;
}
