// What every layer backed by a server (Redis today) shares, whatever the server: the common
// layer options, drop counters, `drop` events and their summary in the log, group sends handed
// off without waiting, the closed state, and the process-local channels.
import { EventEmitter } from 'node:events';
import { InvalidOptionError, LayerClosedError, LayerUnavailableError } from '../errors.ts';
import { createLogger } from '../logging.ts';
import { parseLayerOptions, type BaseLayerOptions, type LayerSettings } from './base-layer.ts';
import { LocalChannels } from './local-channels.ts';
import type { LayerMessage } from './types.ts';

/**
 * Group sends handed to a connected client whose answers are still due. Past this many,
 * groupSend waits for its own answer: a sender faster than the server is slowed down, and memory
 * stays bounded.
 */
export const MAX_UNANSWERED_GROUP_SENDS = 1024;

export interface DropEvent {
  channel: string | null;
  group: string | null;
  /**
   * `full`: the member's channel in Redis held `capacity` messages; `overflow`: this process's
   * buffer for the reader was full; `expired`: unread past `expiry`; `undecodable`;
   * `unavailable`: Redis was known to be away, so the group message was never sent;
   * `unconfirmed`: the group message was written to Redis and no answer came, so it may have
   * been delivered (counted apart from `dropped`).
   */
  reason: 'full' | 'expired' | 'unavailable' | 'undecodable' | 'overflow' | 'unconfirmed';
  /** For `unavailable` and `unconfirmed`: why Redis did not take the message (ERR_LAYER_UNAVAILABLE). */
  error?: Error;
}

export interface RemoteLayerStats {
  /** send() calls the server took (not those refused with ChannelFull or failed). */
  sent: number;
  /** groupSend() calls (their drops, if any, are counted below). */
  groupSends: number;
  /** Messages known to be lost: the sum of the five counts below (not `unconfirmed`). */
  dropped: number;
  droppedFull: number;
  expired: number;
  unavailable: number;
  undecodable: number;
  overflow: number;
  /** Group messages Redis did not answer for: maybe delivered, maybe not. */
  unconfirmed: number;
}

/** The drop cause of a group send that failed with `err`: `unconfirmed` when Redis may have carried it out. */
export function failedSendReason(err: unknown): 'unavailable' | 'unconfirmed' {
  return err instanceof LayerUnavailableError && err.unconfirmed ? 'unconfirmed' : 'unavailable';
}

/** How often counted drops are summed up in the log: one line per cause, not one per message. */
export const DROP_LOG_INTERVAL_MS = 5000;

/** Per cause: what was counted, and why, for the summary line (`n` messages). */
const SUMMARY: Record<DropEvent['reason'], (n: number) => string> = {
  unavailable: (n) => `${messages(n, 'group message')} dropped`,
  unconfirmed: (n) => `${messages(n, 'group message')} unconfirmed`,
  full: (n) => `${messages(n, 'group message')} dropped for a member`,
  overflow: (n) => `${messages(n, 'message')} dropped on arrival`,
  expired: (n) => `${messages(n, 'message')} dropped`,
  undecodable: (n) => `${messages(n, 'message')} dropped`,
};
const CAUSE: Record<DropEvent['reason'], string> = {
  unavailable: 'Redis unreachable',
  unconfirmed: 'Redis did not answer in time; they may have been delivered',
  full: "the member's channel was full (capacity)",
  overflow: "the reader's buffer was full (capacity)",
  expired: 'expired unread (expiry)',
  undecodable: 'could not be decoded (log level debug shows why)',
};

function messages(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

export abstract class RemoteLayer<M extends LayerMessage> extends EventEmitter {
  protected readonly settings: LayerSettings;
  protected closed = false;
  /** This process's channels: what is read from the server is pushed to them (pushDroppingOldest). */
  protected readonly local: LocalChannels<M>;
  private readonly counters: RemoteLayerStats = {
    sent: 0,
    groupSends: 0,
    dropped: 0,
    droppedFull: 0,
    expired: 0,
    unavailable: 0,
    undecodable: 0,
    overflow: 0,
    unconfirmed: 0,
  };
  private readonly unanswered = new Set<Promise<void>>();
  /** Drops counted since the last summary line, by cause. */
  private readonly unlogged = new Map<DropEvent['reason'], number>();
  private summaryTimer: NodeJS.Timeout | null = null;
  private summarySince = 0;
  private readonly layerLog: ReturnType<typeof createLogger>;

  protected constructor(backend: string, options: object, ownKeys: readonly string[]) {
    super();
    this.layerLog = createLogger(`layer:${backend}`);
    if (options === null || typeof options !== 'object')
      throw new InvalidOptionError(`${backend} layer options must be an object`);
    try {
      this.settings = parseLayerOptions(options as BaseLayerOptions, ownKeys);
    } catch (err) {
      if (err instanceof InvalidOptionError) throw new InvalidOptionError(`${backend} layer: ${err.message}`);
      throw err;
    }
    this.local = new LocalChannels<M>(
      this.settings.capacityFor,
      (channel, reason) => this.countDrop({ channel, group: null, reason }),
      this.settings.expiry * 1000,
    );
  }

  get expiry(): number {
    return this.settings.expiry;
  }
  get groupExpiry(): number {
    return this.settings.groupExpiry;
  }
  capacityFor(channel: string): number {
    return this.settings.capacityFor(channel);
  }

  stats(): RemoteLayerStats {
    return { ...this.counters };
  }

  /** Counts one send() the server took. */
  protected countSent(): void {
    this.counters.sent++;
  }

  /** Counts one groupSend() call that passed its checks. */
  protected countGroupSend(): void {
    this.counters.groupSends++;
  }

  /** Counts one message lost (or, `unconfirmed`, perhaps lost) for its cause, for stats() and the log. */
  protected countDrop(event: DropEvent): void {
    const reason = event.reason;
    if (reason === 'full') this.counters.droppedFull++;
    else this.counters[reason]++;
    if (reason !== 'unconfirmed') this.counters.dropped++;
    this.unlogged.set(reason, (this.unlogged.get(reason) ?? 0) + 1);
    if (this.summaryTimer === null) {
      this.summarySince = Date.now();
      this.summaryTimer = setTimeout(this.logDrops, DROP_LOG_INTERVAL_MS);
      this.summaryTimer.unref();
    }
    if (this.listenerCount('drop') > 0) this.emit('drop', event);
  }

  /**
   * Logs the drops counted since the last summary, one warning per cause:
   * `812 group messages dropped in the last 5 s: Redis unreachable`. Runs DROP_LOG_INTERVAL_MS
   * after the first drop of an interval, and at close().
   */
  protected readonly logDrops = (): void => {
    if (this.summaryTimer !== null) clearTimeout(this.summaryTimer);
    this.summaryTimer = null;
    if (this.unlogged.size === 0) return;
    const seconds = Math.max(1, Math.round((Date.now() - this.summarySince) / 1000));
    for (const [reason, n] of this.unlogged) {
      this.layerLog.warn(`${SUMMARY[reason](n)} in the last ${seconds} s: ${CAUSE[reason]}`);
    }
    this.unlogged.clear();
  };

  /**
   * Hands a group send to the server without waiting for the answer (see docs/redis-layers.md):
   * groupSend returns at once, unless MAX_UNANSWERED_GROUP_SENDS are already due, in which case
   * it waits for this one. `sent` counts its own drops; an error it raises is logged.
   */
  protected async handOff(sent: Promise<void>, group: string): Promise<void> {
    if (this.unanswered.size >= MAX_UNANSWERED_GROUP_SENDS) {
      await sent;
      return;
    }
    const answered: Promise<void> = sent.then(
      (): void => void this.unanswered.delete(answered),
      (err: unknown): void => {
        this.unanswered.delete(answered);
        this.layerLog.error(`groupSend to ${group} failed`, err);
      },
    );
    this.unanswered.add(answered);
  }

  /** Waits for the answers of every group send handed off (close() does, before disconnecting). */
  protected async answersDue(): Promise<void> {
    if (this.unanswered.size > 0) await Promise.allSettled([...this.unanswered]);
  }

  protected assertOpen(): void {
    if (this.closed)
      throw new LayerClosedError('this channel layer is closed; make a new one (or use getChannelLayer())');
  }
  protected markClosed(): void {
    this.closed = true;
    this.local.rejectAll('the channel layer was closed while receiving');
  }

  /** A consumer has ended: forget its process-local channel's waiting receives and buffer. */
  discardChannel(channel: string): void {
    this.local.forget(channel);
  }

  /** One decoded message for several local channels: frozen, shared by all of them. */
  protected deliverShared(message: M, channels: readonly string[]): void {
    this.local.pushDroppingOldest(channels.length > 1 ? deepFreeze(message) : message, channels, Date.now());
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value) && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key in value) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}
