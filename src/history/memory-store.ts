// Group history in this process: a ring of the last `maxMessages` messages per group. Offsets
// grow for the life of the store; its epoch is made with it, so a restarted process answers
// positions of the one before with a gap.
import { randomBytes } from 'node:crypto';
import type { LayerMessage } from '../layers/types.ts';
import type { HistoryLimits, HistoryPosition, HistoryStore, SinceResult, StampedMessage } from './types.ts';

class Ring {
  /** Entry n is at n % size of these arrays, which grow up to `size` (the count bound when made). */
  readonly size: number;
  constructor(size: number) {
    this.size = size;
  }
  readonly messages: (LayerMessage | undefined)[] = [];
  readonly times: number[] = [];
  /** The last offset given, and the oldest one kept (last + 1 when none is kept). */
  last = 0;
  first = 1;
}

export class MemoryHistoryStore implements HistoryStore {
  readonly epoch = randomBytes(8).toString('hex');
  private readonly rings = new Map<string, Ring>();

  /** Synchronous append, so a send through the memory layer needs no extra turn. */
  appendNow(group: string, message: LayerMessage, limits: HistoryLimits): HistoryPosition {
    let ring = this.rings.get(group);
    if (!ring) this.rings.set(group, (ring = new Ring(limits.maxMessages)));
    const now = Date.now();
    const n = ++ring.last;
    const size = Math.min(ring.size, limits.maxMessages);
    const at = n % ring.size;
    ring.messages[at] = message;
    ring.times[at] = now;
    if (n - ring.first + 1 > size) ring.first = n - size + 1;
    this.dropOld(ring, limits, now);
    return { offset: n, epoch: this.epoch };
  }

  async append(group: string, message: LayerMessage, limits: HistoryLimits): Promise<HistoryPosition> {
    return this.appendNow(group, message, limits);
  }

  /** Lets go of the oldest messages past the age bound (entries are in time order). */
  private dropOld(ring: Ring, limits: HistoryLimits, now: number): void {
    if (limits.maxAgeMs <= 0) return;
    const cutoff = now - limits.maxAgeMs;
    const size = ring.size;
    while (ring.first <= ring.last && ring.times[ring.first % size]! < cutoff) {
      ring.messages[ring.first % size] = undefined;
      ring.first++;
    }
  }

  async since(group: string, from: HistoryPosition, limits: HistoryLimits): Promise<SinceResult> {
    const ring = this.rings.get(group);
    const position = { offset: ring?.last ?? 0, epoch: this.epoch };
    if (from.epoch !== this.epoch || from.offset > position.offset) return { gap: true, reason: 'epoch', position };
    if (!ring) return { gap: false, messages: [], position };
    this.dropOld(ring, limits, Date.now());
    // The kept run must begin at or before the message after `from`; a smaller count bound
    // than the ring was filled with is honoured too.
    const first = Math.max(ring.first, ring.last - limits.maxMessages + 1);
    if (from.offset + 1 < first) return { gap: true, reason: 'trimmed', position };
    const messages: StampedMessage[] = [];
    const size = ring.size;
    for (let n = from.offset + 1; n <= ring.last; n++) {
      messages.push({ ...(ring.messages[n % size] as LayerMessage), offset: n, epoch: this.epoch });
    }
    return { gap: false, messages, position };
  }

  async position(group: string): Promise<HistoryPosition> {
    return { offset: this.rings.get(group)?.last ?? 0, epoch: this.epoch };
  }
}
