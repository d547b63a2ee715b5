// InMemoryChannelLayer: the default backend, for one process. A receiver never sees the
// sender's object: `send` copies the message; `groupSend` checks and copies once, freezes the
// copy, and hands that one object to every member. A waiting receiver is resolved directly by
// the send (no timers, no polling). Expiry costs no timer per message: deadlines are checked
// when a queue is read, and one sweep per layer runs only while messages are queued.
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { ChannelFull, LayerClosedError } from '../errors.ts';
import { createLogger } from '../logging.ts';
import { parseLayerOptions, type BaseLayerOptions, type LayerSettings } from './base-layer.ts';
import { LocalChannels } from './local-channels.ts';
import { inspectMessage } from './message-check.ts';
import { checkChannelName, checkChannelPrefix, checkGroupName } from './names.ts';
import type { ChannelLayer, LayerBackend, LayerExtension, LayerMessage } from './types.ts';

const log = createLogger('layer:memory');

export type InMemoryChannelLayerOptions = BaseLayerOptions;

export interface DropEvent {
  channel: string;
  group: string | null;
  reason: 'full' | 'expired';
}

export interface MemoryLayerStats {
  /** send() calls that were accepted. */
  sent: number;
  /** send() calls refused with ChannelFull: the sender was told, so they are not dropped. */
  refused: number;
  groupSends: number;
  /** Messages handed to a channel (queued or taken by a reader): one per send, one per reached group member. */
  delivered: number;
  /** Every message not delivered: full members of a group send, and expiries. */
  dropped: number;
  droppedFull: number;
  expired: number;
  /** Messages waiting in queues now. */
  queued: number;
  channels: number;
  groups: number;
}

/** The `memory` backend: the shared options only. */
export const memoryBackend: LayerBackend = {
  name: 'memory',
  optionKeys: [],
  check: (options) => void parseLayerOptions(options, memoryBackend.optionKeys),
  make: (options) => new InMemoryChannelLayer(options),
};

export class InMemoryChannelLayer<M extends LayerMessage = LayerMessage>
  extends EventEmitter
  implements ChannelLayer<M>
{
  readonly extensions: readonly LayerExtension[] = ['groups', 'flush'];
  private readonly settings: LayerSettings;
  private readonly processId = randomBytes(6).toString('hex');
  private counter = 0;
  private readonly channels: LocalChannels<M>;
  /** group -> channel -> join time (ms) */
  private readonly groups = new Map<string, Map<string, number>>();
  /** channel -> its groups, so an expiry leaves its groups without scanning them all */
  private readonly memberOf = new Map<string, Set<string>>();
  private sweeper: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly counters = {
    sent: 0,
    refused: 0,
    groupSends: 0,
    delivered: 0,
    dropped: 0,
    droppedFull: 0,
    expired: 0,
  };

  constructor(options: InMemoryChannelLayerOptions = {}) {
    super();
    this.settings = parseLayerOptions(options, memoryBackend.optionKeys);
    this.channels = new LocalChannels<M>(
      this.settings.capacityFor,
      (channel) => this.expire(channel),
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

  stats(): MemoryLayerStats {
    return { ...this.counters, queued: this.channels.queued, channels: this.channels.size, groups: this.groups.size };
  }

  private assertOpen(): void {
    if (this.closed)
      throw new LayerClosedError('this channel layer is closed; make a new one (or use getChannelLayer())');
  }

  private drop(channel: string, group: string | null, reason: DropEvent['reason']): void {
    this.counters.dropped++;
    if (reason === 'full') this.counters.droppedFull++;
    else this.counters.expired++;
    if (log.enabled('debug'))
      log.debug(`dropped a message for ${channel}${group ? ` (group ${group})` : ''}: ${reason}`);
    if (this.listenerCount('drop') > 0) this.emit('drop', { channel, group, reason } satisfies DropEvent);
  }

  /** A message of `channel` expired unread: counted, and the channel leaves its groups. */
  private expire(channel: string): void {
    this.drop(channel, null, 'expired');
    const groups = this.memberOf.get(channel);
    if (groups) {
      this.memberOf.delete(channel);
      for (const group of groups) this.leave(group, channel);
    }
  }

  /** Hands `message` to the channel (see LocalChannels.push); false when it is full. */
  private deliver(name: string, message: M, now: number): boolean {
    if (!this.channels.push(name, message, now)) return false;
    this.counters.delivered++;
    if (this.sweeper === null && this.channels.queued > 0) {
      this.sweeper = setInterval(() => this.sweep(), Math.max(50, Math.min(this.settings.expiry * 1000, 10_000)));
      this.sweeper.unref();
    }
    return true;
  }

  /** Removes one membership from the group side (the caller updates memberOf). */
  private leave(group: string, channel: string): void {
    const members = this.groups.get(group);
    if (members?.delete(channel) && members.size === 0) this.groups.delete(group);
  }

  private forgetMembership(group: string, channel: string): void {
    const groups = this.memberOf.get(channel);
    if (groups?.delete(group) && groups.size === 0) this.memberOf.delete(channel);
  }

  private sweep(): void {
    this.channels.sweep(Date.now());
    if (this.channels.queued === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  async send(channel: string, message: M): Promise<void> {
    this.assertOpen();
    checkChannelName(channel);
    const { copy } = inspectMessage(message, this.settings.maxMessageBytes, 'send', true);
    // deliver() counts what it delivers; a refused send is neither sent nor delivered.
    if (this.deliver(channel, copy, Date.now())) {
      this.counters.sent++;
    } else {
      this.counters.refused++;
      throw new ChannelFull(
        `channel ${channel} is full (capacity ${this.settings.capacityFor(channel)}); its reader is not keeping up`,
      );
    }
  }

  receive(channel: string): Promise<M> {
    try {
      this.assertOpen();
      checkChannelName(channel);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.channels.receive(channel);
  }

  async newChannel(prefix = 'specific.'): Promise<string> {
    this.assertOpen();
    checkChannelPrefix(prefix);
    const name = `${prefix}${this.processId}!${(++this.counter).toString(36)}${randomBytes(4).toString('hex')}`;
    checkChannelName(name);
    return name;
  }

  async groupAdd(group: string, channel: string): Promise<void> {
    this.assertOpen();
    checkGroupName(group);
    checkChannelName(channel);
    let members = this.groups.get(group);
    if (!members) this.groups.set(group, (members = new Map()));
    members.delete(channel); // re-adding refreshes the join time and moves it last
    members.set(channel, Date.now());
    let groups = this.memberOf.get(channel);
    if (!groups) this.memberOf.set(channel, (groups = new Set()));
    groups.add(group);
  }

  async groupDiscard(group: string, channel: string): Promise<void> {
    this.assertOpen();
    checkGroupName(group);
    checkChannelName(channel);
    this.leave(group, channel);
    this.forgetMembership(group, channel);
  }

  async groupSend(group: string, message: M): Promise<void> {
    this.assertOpen();
    checkGroupName(group);
    const members = this.groups.get(group);
    // One frozen copy, made in the validating walk, is shared by every member.
    const { copy: shared } = inspectMessage(message, this.settings.maxMessageBytes, 'groupSend', 'frozen');
    this.counters.groupSends++;
    if (!members) return;
    const now = Date.now();
    const cutoff = now - this.settings.groupExpiry * 1000;
    for (const [channel, joined] of members) {
      if (joined <= cutoff) {
        members.delete(channel);
        this.forgetMembership(group, channel);
        continue;
      }
      if (!this.deliver(channel, shared, now)) this.drop(channel, group, 'full');
    }
    if (members.size === 0) this.groups.delete(group);
  }

  /**
   * Push delivery for a channel's one reader: `onMessage` is called synchronously as messages
   * arrive (queued ones first), instead of resolving a receive() per message. It returns false
   * when the reader is full; the message is then refused as by a full channel.
   */
  listen(channel: string, onMessage: (message: M) => boolean): () => void {
    this.assertOpen();
    checkChannelName(channel);
    return this.channels.listen(channel, onMessage);
  }

  discardChannel(channel: string): void {
    this.channels.forget(channel);
  }

  async flush(): Promise<void> {
    this.assertOpen();
    this.channels.clearQueues();
    this.groups.clear();
    this.memberOf.clear();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    this.channels.rejectAll('the channel layer was closed while receiving');
    this.groups.clear();
    this.memberOf.clear();
  }
}
