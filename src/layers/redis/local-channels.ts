// The process-local side of a Redis layer: a bounded buffer and a line of waiting receivers
// per channel of this process. Messages read from Redis once are handed to every local
// channel named in them; the same (frozen) object is shared, never copied per member.
import { InvalidOptionError, LayerClosedError } from '../../errors.ts';
import type { LayerMessage } from '../types.ts';

interface Waiter<M> {
  resolve(message: M): void;
  reject(error: Error): void;
}

interface Listener<M> {
  /** The channel's name, the string it was registered with. */
  name: string;
  onMessage(message: M): boolean;
}

interface LocalChannel<M> {
  buffer: M[];
  /** When each buffered message arrived (ms), for expiry. */
  arrived: number[];
  waiters: Waiter<M>[];
}

export class LocalChannels<M extends LayerMessage = LayerMessage> {
  private readonly channels = new Map<string, LocalChannel<M>>();
  /** Push readers (listen()): called on delivery instead of buffering. */
  private readonly listeners = new Map<string, Listener<M>>();
  private waiting = 0;

  /**
   * @param capacityFor buffer bound per channel
   * @param onDrop called for each message pushed out of a full buffer (oldest first out) or
   *   found expired in it
   * @param expiryMs how long a message may wait in a buffer unread
   */
  declare private readonly capacityFor: (channel: string) => number;
  declare private readonly onDrop: (channel: string, reason: 'overflow' | 'expired') => void;
  declare private readonly expiryMs: number;
  constructor(
    capacityFor: (channel: string) => number,
    onDrop: (channel: string, reason: 'overflow' | 'expired') => void,
    expiryMs: number,
  ) {
    this.capacityFor = capacityFor;
    this.onDrop = onDrop;
    this.expiryMs = expiryMs;
  }

  receive(channel: string): Promise<M> {
    const entry = this.channels.get(channel);
    if (entry && entry.buffer.length > 0) {
      const cutoff = Date.now() - this.expiryMs;
      while (entry.buffer.length > 0 && entry.arrived[0]! < cutoff) {
        entry.buffer.shift();
        entry.arrived.shift();
        this.onDrop(channel, 'expired');
      }
      if (entry.buffer.length > 0) {
        const message = entry.buffer.shift()!;
        entry.arrived.shift();
        if (entry.buffer.length === 0 && entry.waiters.length === 0) this.channels.delete(channel);
        return Promise.resolve(message);
      }
    }
    return new Promise<M>((resolve, reject) => {
      let e = entry;
      if (!e) this.channels.set(channel, (e = { buffer: [], arrived: [], waiters: [] }));
      e.waiters.push({ resolve, reject });
      this.waiting++;
    });
  }

  /** Hands one message to each named channel: a waiting receiver first, else the buffer. */
  deliver(message: M, channels: readonly string[]): void {
    for (const channel of channels) {
      const listener = this.listeners.get(channel);
      if (listener !== undefined) {
        if (!listener.onMessage(message)) this.onDrop(channel, 'overflow');
        continue;
      }
      let entry = this.channels.get(channel);
      const waiter = entry?.waiters.shift();
      if (waiter) {
        this.waiting--;
        if (entry!.waiters.length === 0 && entry!.buffer.length === 0) this.channels.delete(channel);
        waiter.resolve(message);
        continue;
      }
      if (!entry) this.channels.set(channel, (entry = { buffer: [], arrived: [], waiters: [] }));
      entry.buffer.push(message);
      entry.arrived.push(Date.now());
      if (entry.buffer.length > this.capacityFor(channel)) {
        entry.buffer.shift();
        entry.arrived.shift();
        this.onDrop(channel, 'overflow');
      }
    }
  }

  /** Push delivery for the channel's one reader; buffered messages go first. Returns the stop function. */
  listen(channel: string, onMessage: (message: M) => boolean): () => void {
    const entry = this.channels.get(channel);
    if (this.listeners.has(channel) || (entry && entry.waiters.length > 0)) {
      throw new InvalidOptionError(`channel ${channel} already has a reader; a channel has one reader`);
    }
    if (entry) {
      while (entry.buffer.length > 0 && onMessage(entry.buffer[0]!)) {
        entry.buffer.shift();
        entry.arrived.shift();
      }
      if (entry.buffer.length === 0) this.channels.delete(channel);
    }
    const listener: Listener<M> = { name: channel, onMessage };
    this.listeners.set(channel, listener);
    return () => {
      if (this.listeners.get(channel) === listener) this.listeners.delete(channel);
    };
  }

  /**
   * `names` with each name that has a listener replaced by the string the listener was
   * registered with. Names decoded from a message are new strings: a Map lookup with one
   * compares its characters with the key's, where the key's own string matches at once
   * (1000 lookups: ≈52 against ≈18 µs). For lists kept and used for many messages.
   */
  ownNames(names: readonly string[]): string[] {
    return names.map((name) => this.listeners.get(name)?.name ?? name);
  }

  /** Whether some reader (a listener or a waiting receive) is there. */
  get readers(): number {
    return this.waiting + this.listeners.size;
  }

  /** The channel's reader has gone: its waiting receives never settle, its buffer is dropped. */
  forget(channel: string): void {
    this.listeners.delete(channel);
    const entry = this.channels.get(channel);
    if (!entry) return;
    this.waiting -= entry.waiters.length;
    this.channels.delete(channel);
  }

  has(channel: string): boolean {
    return this.channels.has(channel);
  }

  get waiters(): number {
    return this.waiting;
  }

  /** Forgets buffered messages; waiting receivers keep waiting. */
  clearBuffers(): void {
    for (const [name, entry] of this.channels) {
      entry.buffer.length = 0;
      entry.arrived.length = 0;
      if (entry.waiters.length === 0) this.channels.delete(name);
    }
  }

  rejectAll(reason: string): void {
    for (const entry of this.channels.values()) {
      for (const w of entry.waiters) w.reject(new LayerClosedError(reason));
    }
    this.channels.clear();
    this.listeners.clear();
    this.waiting = 0;
  }
}
