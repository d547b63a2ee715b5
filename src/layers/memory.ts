// InMemoryChannelLayer: the default backend, for one process. A receiver never sees the
// sender's object: `send` copies the message; `groupSend` checks and copies once, freezes the
// copy, and hands that one object to every member. A waiting receiver is resolved directly by
// the send (no timers, no polling). Expiry costs no timer per message: deadlines are checked
// when a queue is read, and one sweep per layer runs only while messages are queued.
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { ChannelFull, InvalidOptionError, LayerClosedError } from '../errors.ts';
import { createLogger } from '../logging.ts';
import { parseLayerOptions, type BaseLayerOptions, type LayerSettings } from './base-layer.ts';
import { inspectMessage } from './message-check.ts';
import { checkChannelName, checkChannelPrefix, checkGroupName } from './names.ts';
import type { ChannelLayer, LayerExtension, LayerMessage } from './types.ts';

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

interface Waiter<M> {
  resolve(message: M): void;
  reject(err: Error): void;
}

interface Channel<M> {
  messages: M[];
  deadlines: number[];
  head: number;
  waiters: Waiter<M>[];
  /** A push reader (listen()): called on delivery instead of queueing. */
  listener: ((message: M) => boolean) | null;
}

export class InMemoryChannelLayer<M extends LayerMessage = LayerMessage>
  extends EventEmitter
  implements ChannelLayer<M>
{
  readonly extensions: readonly LayerExtension[] = ['groups', 'flush'];
  private readonly settings: LayerSettings;
  private readonly processId = randomBytes(6).toString('hex');
  private counter = 0;
  private readonly channels = new Map<string, Channel<M>>();
  /** group -> channel -> join time (ms) */
  private readonly groups = new Map<string, Map<string, number>>();
  /** channel -> its groups, so an expiry leaves its groups without scanning them all */
  private readonly memberOf = new Map<string, Set<string>>();
  private queued = 0;
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
    this.settings = parseLayerOptions(options);
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
    return { ...this.counters, queued: this.queued, channels: this.channels.size, groups: this.groups.size };
  }

  private assertOpen(): void {
    if (this.closed)
      throw new LayerClosedError('this channel layer is closed; make a new one (or use getChannelLayer())');
  }

  private channel(name: string): Channel<M> {
    let c = this.channels.get(name);
    if (!c) this.channels.set(name, (c = { messages: [], deadlines: [], head: 0, waiters: [], listener: null }));
    return c;
  }

  private drop(channel: string, group: string | null, reason: DropEvent['reason']): void {
    this.counters.dropped++;
    if (reason === 'full') this.counters.droppedFull++;
    else this.counters.expired++;
    if (log.enabled('debug'))
      log.debug(`dropped a message for ${channel}${group ? ` (group ${group})` : ''}: ${reason}`);
    if (this.listenerCount('drop') > 0) this.emit('drop', { channel, group, reason } satisfies DropEvent);
  }

  /** Hands `message` to the channel: a waiting receiver first, else the queue. False when full. */
  private deliver(name: string, message: M, now: number): boolean {
    const c = this.channels.get(name);
    if (c && c.listener !== null) {
      if (!c.listener(message)) return false;
      this.counters.delivered++;
      return true;
    }
    if (c && c.waiters.length > 0) {
      this.counters.delivered++;
      c.waiters.shift()!.resolve(message);
      if (c.waiters.length === 0 && c.messages.length === c.head) this.channels.delete(name);
      return true;
    }
    const ch = c ?? this.channel(name);
    if (ch.messages.length - ch.head >= this.settings.capacityFor(name)) {
      this.purge(name, ch, now);
      if (ch.messages.length - ch.head >= this.settings.capacityFor(name)) return false;
    }
    ch.messages.push(message);
    ch.deadlines.push(now + this.settings.expiry * 1000);
    this.queued++;
    this.counters.delivered++;
    if (!this.sweeper) {
      this.sweeper = setInterval(() => this.sweep(), Math.max(50, Math.min(this.settings.expiry * 1000, 10_000)));
      this.sweeper.unref();
    }
    return true;
  }

  /** Removes expired messages at the head of a queue; each expiry also removes the channel from its groups. */
  private purge(name: string, c: Channel<M>, now: number): void {
    let expired = 0;
    while (c.head < c.messages.length && c.deadlines[c.head]! <= now) {
      c.messages[c.head] = undefined as unknown as M;
      c.head++;
      expired++;
      this.drop(name, null, 'expired');
    }
    if (expired === 0) return;
    this.queued -= expired;
    this.compact(c);
    const groups = this.memberOf.get(name);
    if (groups) {
      this.memberOf.delete(name);
      for (const group of groups) this.leave(group, name);
    }
    if (c.messages.length === 0 && c.waiters.length === 0 && c.listener === null) this.channels.delete(name);
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

  private compact(c: Channel<M>): void {
    if (c.head === c.messages.length) {
      c.messages.length = 0;
      c.deadlines.length = 0;
      c.head = 0;
    } else if (c.head > 64 && c.head * 2 > c.messages.length) {
      c.messages.splice(0, c.head);
      c.deadlines.splice(0, c.head);
      c.head = 0;
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const [name, c] of this.channels) if (c.head < c.messages.length) this.purge(name, c, now);
    if (this.queued === 0 && this.sweeper) {
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
    const c = this.channels.get(channel);
    if (c && c.head < c.messages.length) {
      const now = Date.now();
      if (c.deadlines[c.head]! <= now) this.purge(channel, c, now);
      if (c.head < c.messages.length) {
        const message = c.messages[c.head]!;
        c.messages[c.head] = undefined as unknown as M;
        c.head++;
        this.queued--;
        this.compact(c);
        if (c.messages.length === 0 && c.waiters.length === 0 && c.listener === null) this.channels.delete(channel);
        return Promise.resolve(message);
      }
    }
    return new Promise<M>((resolve, reject) => this.channel(channel).waiters.push({ resolve, reject }));
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
    const c = this.channel(channel);
    if (c.listener !== null || c.waiters.length > 0) {
      throw new InvalidOptionError(`channel ${channel} already has a reader; a channel has one reader`);
    }
    c.listener = onMessage;
    while (c.head < c.messages.length) {
      if (!onMessage(c.messages[c.head]!)) break;
      c.messages[c.head] = undefined as unknown as M;
      c.head++;
      this.queued--;
    }
    this.compact(c);
    return () => {
      const now = this.channels.get(channel);
      if (now?.listener !== onMessage) return;
      now.listener = null;
      if (now.messages.length === now.head && now.waiters.length === 0) this.channels.delete(channel);
    };
  }

  discardChannel(channel: string): void {
    const c = this.channels.get(channel);
    if (!c) return;
    this.queued -= c.messages.length - c.head;
    this.channels.delete(channel);
  }

  async flush(): Promise<void> {
    this.assertOpen();
    for (const c of this.channels.values()) {
      c.messages.length = 0;
      c.deadlines.length = 0;
      c.head = 0;
    }
    for (const [name, c] of this.channels)
      if (c.waiters.length === 0 && c.listener === null) this.channels.delete(name);
    this.groups.clear();
    this.memberOf.clear();
    this.queued = 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    for (const c of this.channels.values()) {
      for (const w of c.waiters) w.reject(new LayerClosedError('the channel layer was closed while receiving'));
    }
    this.channels.clear();
    this.groups.clear();
    this.memberOf.clear();
  }
}
