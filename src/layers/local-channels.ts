// The channels a process reads itself, for every backend: per channel, a bounded queue of
// messages waiting for their reader, the receives waiting for a message, or one push reader
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
  /** The channel's name, in the string it was first used with (see ownNames). */
  readonly name: string;
  /** Queued messages from `head` on (a slot before it is already read). */
  messages: M[];
  /** When each queued message expires (ms). */
  deadlines: number[];
  head: number;
  waiters: Waiter<M>[];
  /** The push reader (listen()): called on delivery instead of queueing. */
  listener: ((message: M) => boolean) | null;
}

export type LocalDropReason = 'overflow' | 'expired';

export class LocalChannels<M extends LayerMessage = LayerMessage> {
  /** A channel is kept while it has queued messages, waiting receives or a listener. */
  private readonly channels = new Map<string, LocalChannel<M>>();
  private waiting = 0;
  private listening = 0;
  /** Messages queued in every channel. */
  queued = 0;

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
      c = { name, messages: [], deadlines: [], head: 0, waiters: [], listener: null };
      this.channels.set(name, c);
    }
    return c;
  }

  private dropIfIdle(c: LocalChannel<M>): void {
    if (c.head === c.messages.length && c.waiters.length === 0 && c.listener === null) this.channels.delete(c.name);
  }

  /** Hands `message` to a listener or a waiting receive; undefined when the channel has neither. */
  private handOver(c: LocalChannel<M> | undefined, message: M): boolean | undefined {
    if (c === undefined) return undefined;
    if (c.listener !== null) return c.listener(message);
    const waiter = c.waiters.shift();
    if (waiter === undefined) return undefined;
    this.waiting--;
    this.dropIfIdle(c);
    waiter.resolve(message);
    return true;
  }

  private enqueue(c: LocalChannel<M>, message: M, now: number): void {
    c.messages.push(message);
    c.deadlines.push(now + this.expiryMs);
    this.queued++;
  }

  /** Removes the queue's oldest message. */
  private shift(c: LocalChannel<M>): M {
    const message = c.messages[c.head]!;
    c.messages[c.head] = undefined as unknown as M;
    c.head++;
    this.queued--;
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
    const c = this.channels.get(channel);
    const handed = this.handOver(c, message);
    if (handed !== undefined) return handed;
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
      const c = this.channels.get(channel);
      const handed = this.handOver(c, message);
      if (handed === true) continue;
      if (handed === false) {
        this.onDrop(channel, 'overflow');
        continue;
      }
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
    const existing = this.channels.get(channel);
    if (existing !== undefined && (existing.listener !== null || existing.waiters.length > 0)) {
      throw new InvalidOptionError(`channel ${channel} already has a reader; a channel has one reader`);
    }
    const c = existing ?? this.entry(channel);
    c.listener = onMessage;
    this.listening++;
    while (c.head < c.messages.length && onMessage(c.messages[c.head]!)) this.shift(c);
    this.compact(c);
    return () => {
      const now = this.channels.get(channel);
      if (now?.listener !== onMessage) return;
      now.listener = null;
      this.listening--;
      this.dropIfIdle(now);
    };
  }

  /**
   * `names` with each name of a channel kept here replaced by the string the channel was first
   * used with. A name decoded from a message is a new string, which a Map lookup compares
   * character by character; the kept string matches at once. For lists of names kept and used
   * for many messages.
   */
  ownNames(names: readonly string[]): string[] {
    return names.map((name) => this.channels.get(name)?.name ?? name);
  }

  /** How many readers (listeners and waiting receives) there are. */
  get readers(): number {
    return this.waiting + this.listening;
  }

  /** How many channels are kept (see `channels`). */
  get size(): number {
    return this.channels.size;
  }

  /** Drops expired messages from every queue. */
  sweep(now: number): void {
    for (const c of this.channels.values()) if (c.head < c.messages.length) this.purge(c, now);
  }

  /** The channel's reader has gone: its waiting receives never settle, its queue is dropped. */
  forget(channel: string): void {
    const c = this.channels.get(channel);
    if (c === undefined) return;
    this.queued -= c.messages.length - c.head;
    this.waiting -= c.waiters.length;
    if (c.listener !== null) this.listening--;
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
    this.queued = 0;
  }

  /** Rejects every waiting receive with LayerClosedError(`reason`) and forgets everything. */
  rejectAll(reason: string): void {
    for (const c of this.channels.values()) for (const w of c.waiters) w.reject(new LayerClosedError(reason));
    this.channels.clear();
    this.waiting = 0;
    this.listening = 0;
    this.queued = 0;
  }
}
