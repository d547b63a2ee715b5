// The channels a process reads itself, for every backend: per channel, a bounded queue of
// messages waiting for their reader and the receives waiting for a message, or one push reader
// (listen()). The memory layer keeps all of its channels here; a remote layer keeps those of
// its process, and hands each message read from the server to every channel named in it, the
// same (frozen) object shared, never copied per member.
//
// Two ways in, one per kind of sender, because the spec's capacity rule depends on who can
// still be told (docs/channel-layer-spec.md, `capacityScope`):
// - push(): a full reader refuses the message and the queue keeps its older messages. The
//   sender still holds the message (the memory layer's send raises ChannelFull, its groupSend
//   counts a `full` drop).
// - pushDroppingOldest(): the message has already left its sender (read from Redis), so it is
//   kept and the oldest queued message makes room for it; a full push reader drops it. Either
//   drop is counted as `overflow`.
// A message waits at most `expiryMs`: it is found expired when its queue is read or when room
// is made for push(), and counted as `expired`.
import { InvalidOptionError, LayerClosedError } from '../errors.ts';
import type { LayerMessage } from './types.ts';

interface Waiter<M> {
  resolve(message: M): void;
  reject(error: Error): void;
}

interface LocalChannel<M> {
  readonly name: string;
  /** Queued messages from `head` on (a slot before it is already read). */
  messages: M[];
  /** When each queued message expires (ms). */
  deadlines: number[];
  head: number;
  waiters: Waiter<M>[];
}

/** A channel's push reader (listen()): called on delivery instead of queueing. */
interface Listener<M> {
  /** The channel's name, in the string the reader was registered with (see ownNames). */
  readonly name: string;
  onMessage(message: M): boolean;
}

export type LocalDropReason = 'overflow' | 'expired';

export class LocalChannels<M extends LayerMessage = LayerMessage> {
  /** Queues and waiting receives; a channel is kept while it has either. */
  private readonly channels = new Map<string, LocalChannel<M>>();
  /** Push readers, looked up first on every delivery. */
  private readonly listeners = new Map<string, Listener<M>>();
  private waiting = 0;
  private queuedCount = 0;

  declare private readonly capacityFor: (channel: string) => number;
  declare private readonly onDrop: (channel: string, reason: LocalDropReason) => void;
  declare private readonly expiryMs: number;
  /**
   * @param capacityFor how many messages a channel's queue holds
   * @param onDrop called once for each message dropped: expired, or (pushDroppingOldest) overflow
   * @param expiryMs how long a message may wait in a queue unread
   */
  constructor(
    capacityFor: (channel: string) => number,
    onDrop: (channel: string, reason: LocalDropReason) => void,
    expiryMs: number,
  ) {
    this.capacityFor = capacityFor;
    this.onDrop = onDrop;
    this.expiryMs = expiryMs;
  }

  private entry(name: string): LocalChannel<M> {
    let c = this.channels.get(name);
    if (c === undefined) {
      c = { name, messages: [], deadlines: [], head: 0, waiters: [] };
      this.channels.set(name, c);
    }
    return c;
  }

  private dropIfIdle(c: LocalChannel<M>): void {
    if (c.head === c.messages.length && c.waiters.length === 0) this.channels.delete(c.name);
  }

  /** Hands `message` to the channel's first waiting receive; false when none waits. */
  private resolveWaiter(c: LocalChannel<M>, message: M): boolean {
    const waiter = c.waiters.shift();
    if (waiter === undefined) return false;
    this.waiting--;
    this.dropIfIdle(c);
    waiter.resolve(message);
    return true;
  }

  private enqueue(c: LocalChannel<M>, message: M, now: number): void {
    c.messages.push(message);
    c.deadlines.push(now + this.expiryMs);
    this.queuedCount++;
  }

  /** Removes the queue's oldest message. */
  private shift(c: LocalChannel<M>): M {
    const message = c.messages[c.head]!;
    c.messages[c.head] = undefined as unknown as M;
    c.head++;
    this.queuedCount--;
    return message;
  }

  private compact(c: LocalChannel<M>): void {
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

  /** Drops the expired messages at the head of the channel's queue. */
  private purge(c: LocalChannel<M>, now: number): void {
    let expired = false;
    while (c.head < c.messages.length && c.deadlines[c.head]! <= now) {
      this.shift(c);
      expired = true;
      this.onDrop(c.name, 'expired');
    }
    if (!expired) return;
    this.compact(c);
    this.dropIfIdle(c);
  }

  /**
   * Hands `message` to the channel: its listener, else its first waiting receive, else its
   * queue. False when refused: the listener is full, or the queue holds its capacity of
   * unexpired messages. A refused message is not counted here: its sender is told.
   */
  push(channel: string, message: M, now: number): boolean {
    const listener = this.listeners.get(channel);
    if (listener !== undefined) return listener.onMessage(message);
    const c = this.channels.get(channel);
    if (c !== undefined && this.resolveWaiter(c, message)) return true;
    const q = c ?? this.entry(channel);
    if (q.messages.length - q.head >= this.capacityFor(channel)) {
      this.purge(q, now);
      if (q.messages.length - q.head >= this.capacityFor(channel)) return false;
    }
    this.enqueue(this.channels.get(channel) ?? this.entry(channel), message, now);
    return true;
  }

  /**
   * Hands `message` to each of `channels` as push() does, but it is never refused: a full
   * queue drops its oldest message to keep it, a full listener drops it (`overflow`).
   */
  pushDroppingOldest(message: M, channels: readonly string[], now: number): void {
    for (const channel of channels) {
      const listener = this.listeners.get(channel);
      if (listener !== undefined) {
        if (!listener.onMessage(message)) this.onDrop(channel, 'overflow');
        continue;
      }
      const c = this.channels.get(channel);
      if (c !== undefined && this.resolveWaiter(c, message)) continue;
      const q = c ?? this.entry(channel);
      this.enqueue(q, message, now);
      if (q.messages.length - q.head > this.capacityFor(channel)) {
        this.shift(q);
        this.compact(q);
        this.onDrop(channel, 'overflow');
      }
    }
  }

  /** The channel's next unexpired message, or a promise of the next one to arrive. */
  receive(channel: string): Promise<M> {
    const c = this.channels.get(channel);
    if (c !== undefined && c.head < c.messages.length) {
      const now = Date.now();
      if (c.deadlines[c.head]! <= now) this.purge(c, now);
      if (c.head < c.messages.length) {
        const message = this.shift(c);
        this.compact(c);
        this.dropIfIdle(c);
        return Promise.resolve(message);
      }
    }
    return new Promise<M>((resolve, reject) => {
      this.entry(channel).waiters.push({ resolve, reject });
      this.waiting++;
    });
  }

  /**
   * Push delivery for the channel's one reader: queued messages go first, as long as it takes
   * them. Throws when the channel already has a reader. Returns the function that stops it.
   */
  listen(channel: string, onMessage: (message: M) => boolean): () => void {
    const c = this.channels.get(channel);
    if (this.listeners.has(channel) || (c !== undefined && c.waiters.length > 0)) {
      throw new InvalidOptionError(`channel ${channel} already has a reader; a channel has one reader`);
    }
    if (c !== undefined) {
      while (c.head < c.messages.length && onMessage(c.messages[c.head]!)) this.shift(c);
      this.compact(c);
      this.dropIfIdle(c);
    }
    const listener: Listener<M> = { name: channel, onMessage };
    this.listeners.set(channel, listener);
    return () => {
      if (this.listeners.get(channel) === listener) this.listeners.delete(channel);
    };
  }

  /**
   * `names` with each name that has a listener replaced by the string the listener was
   * registered with. A name decoded from a message is a new string, which a Map lookup compares
   * character by character; the registered string matches at once. For lists of names kept and
   * used for many messages.
   */
  ownNames(names: readonly string[]): string[] {
    return names.map((name) => this.listeners.get(name)?.name ?? name);
  }

  /** Messages queued in every channel. */
  get queued(): number {
    return this.queuedCount;
  }

  /** How many readers (listeners and waiting receives) there are. */
  get readers(): number {
    return this.waiting + this.listeners.size;
  }

  /** How many channels have a queue, a waiting receive or a listener. */
  get size(): number {
    let n = this.channels.size;
    for (const name of this.listeners.keys()) if (!this.channels.has(name)) n++;
    return n;
  }

  /** Drops expired messages from every queue. */
  sweep(now: number): void {
    for (const c of this.channels.values()) if (c.head < c.messages.length) this.purge(c, now);
  }

  /** The channel's reader has gone: its waiting receives never settle, its queue is dropped. */
  forget(channel: string): void {
    this.listeners.delete(channel);
    const c = this.channels.get(channel);
    if (c === undefined) return;
    this.queuedCount -= c.messages.length - c.head;
    this.waiting -= c.waiters.length;
    this.channels.delete(channel);
  }

  /** Forgets every queued message; readers keep reading. */
  clearQueues(): void {
    for (const c of this.channels.values()) {
      c.messages.length = 0;
      c.deadlines.length = 0;
      c.head = 0;
      this.dropIfIdle(c);
    }
    this.queuedCount = 0;
  }

  /** Rejects every waiting receive with LayerClosedError(`reason`) and forgets everything. */
  rejectAll(reason: string): void {
    for (const c of this.channels.values()) for (const w of c.waiters) w.reject(new LayerClosedError(reason));
    this.channels.clear();
    this.listeners.clear();
    this.waiting = 0;
    this.queuedCount = 0;
  }
}
