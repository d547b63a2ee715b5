// ChaosLayer: wraps any channel layer and, from a seed, drops, duplicates, delays and reorders
// the messages of `send` and `groupSend`, for testing an application against what the layer
// contract allows (at most once; no order across a delay). Every other call passes straight
// through. The decisions depend only on the seed and the order of the calls, so a failing run
// replays from its seed. With every rate 0 and no delay it is an exact pass-through.
import { InvalidOptionError, LayerClosedError } from '../errors.ts';
import { createLogger } from '../logging.ts';
import { inspectMessage } from './message-check.ts';
import { checkChannelName, checkGroupName } from './names.ts';
import { seededRandom } from './seeded-random.ts';
import type { ChannelLayer, LayerExtension, LayerMessage } from './types.ts';

const log = createLogger('layer:chaos');

export interface ChaosLayerOptions {
  /** Seed of every decision; the same seed and the same calls give the same faults. @default 1 */
  seed?: number;
  /** Share of messages dropped (0–1). @default 0 */
  drop?: number;
  /** Share of messages delivered twice (0–1). @default 0 */
  duplicate?: number;
  /** Each message waits a whole number of ms drawn from [min, max] before it is passed on. @default [0, 0] */
  delayMs?: readonly [number, number];
  /** Share of messages held back until the next message to the same destination has gone (0–1). @default 0 */
  reorder?: number;
  /** Longest a reordered message waits for a message to overtake it. @default 100 */
  reorderWindowMs?: number;
}

export interface ChaosStats {
  /** Calls to send and groupSend that passed the checks (each is one message). */
  messages: number;
  dropped: number;
  duplicated: number;
  delayed: number;
  reordered: number;
  /** Calls made to the wrapped layer's send/groupSend (duplicates count twice). */
  forwarded: number;
  /** Forwarded calls that failed after the caller had its answer (a delayed message to a full channel). */
  failed: number;
  /** Messages delayed or held back and not yet passed on. */
  pending: number;
}

const OPTION_KEYS = ['seed', 'drop', 'duplicate', 'delayMs', 'reorder', 'reorderWindowMs'];

function rate(name: string, value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new InvalidOptionError(`ChaosLayer option ${name} must be a share from 0 to 1 (0.05 = 5%), not ${value}`);
  }
  return value;
}

function wholeMs(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidOptionError(`ChaosLayer option ${name} must be a whole number of ms ≥ 0, not ${String(value)}`);
  }
  return value;
}

/** One message on its way: where it goes and how. */
interface Pending<M> {
  kind: 'send' | 'groupSend';
  target: string;
  message: M;
  copies: number;
  timer: NodeJS.Timeout | null;
}

export class ChaosLayer<M extends LayerMessage = LayerMessage> implements ChannelLayer<M> {
  readonly inner: ChannelLayer<M>;
  readonly extensions: readonly LayerExtension[];
  discardChannel?: (channel: string) => void;
  listen?: (channel: string, onMessage: (message: M) => boolean) => () => void;
  private readonly random: () => number;
  private readonly dropRate: number;
  private readonly duplicateRate: number;
  private readonly reorderRate: number;
  private readonly delay: readonly [number, number];
  private readonly reorderWindowMs: number;
  private readonly counters = {
    messages: 0,
    dropped: 0,
    duplicated: 0,
    delayed: 0,
    reordered: 0,
    forwarded: 0,
    failed: 0,
  };
  /** Delayed messages, and those held back for reordering (also in `held`). */
  private readonly pending = new Set<Pending<M>>();
  /** destination ('send:name' / 'groupSend:name') -> messages held back until the next one there */
  private readonly held = new Map<string, Pending<M>[]>();
  private idleWaiters: (() => void)[] = [];
  private closed = false;

  constructor(inner: ChannelLayer<M>, options: ChaosLayerOptions = {}) {
    if (inner === null || typeof inner !== 'object' || typeof inner.send !== 'function') {
      throw new InvalidOptionError(
        `ChaosLayer wraps a channel layer (an object with send, groupSend, receive, ...), not ${String(inner)}`,
      );
    }
    if (options === null || typeof options !== 'object') {
      throw new InvalidOptionError('ChaosLayer options must be an object');
    }
    for (const key of Object.keys(options)) {
      if (!OPTION_KEYS.includes(key)) {
        throw new InvalidOptionError(`unknown ChaosLayer option '${key}'; known options: ${OPTION_KEYS.join(', ')}`);
      }
    }
    const seed = options.seed ?? 1;
    if (typeof seed !== 'number' || !Number.isFinite(seed)) {
      throw new InvalidOptionError(`ChaosLayer option seed must be a finite number, not ${String(seed)}`);
    }
    this.dropRate = rate('drop', options.drop);
    this.duplicateRate = rate('duplicate', options.duplicate);
    this.reorderRate = rate('reorder', options.reorder);
    const delay = options.delayMs ?? [0, 0];
    if (!Array.isArray(delay) || delay.length !== 2) {
      throw new InvalidOptionError(`ChaosLayer option delayMs must be [min, max] in ms, not ${JSON.stringify(delay)}`);
    }
    const [min, max] = [wholeMs('delayMs[0]', delay[0]), wholeMs('delayMs[1]', delay[1])];
    if (min > max) {
      throw new InvalidOptionError(`ChaosLayer option delayMs must be [min, max] with min ≤ max, not [${min}, ${max}]`);
    }
    this.delay = [min, max];
    this.reorderWindowMs = wholeMs('reorderWindowMs', options.reorderWindowMs ?? 100);
    this.random = seededRandom(seed);
    this.inner = inner;
    this.extensions = inner.extensions;
    if (typeof inner.discardChannel === 'function') this.discardChannel = (channel) => inner.discardChannel!(channel);
    if (typeof inner.listen === 'function') this.listen = (channel, onMessage) => inner.listen!(channel, onMessage);
  }

  stats(): ChaosStats {
    return { ...this.counters, pending: this.pending.size };
  }

  /** Resolves once no delayed or held-back message is left to pass on. */
  idle(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  send(channel: string, message: M): Promise<void> {
    return this.inject('send', channel, message);
  }

  groupSend(group: string, message: M): Promise<void> {
    return this.inject('groupSend', group, message);
  }

  receive(channel: string): Promise<M> {
    return this.inner.receive(channel);
  }

  newChannel(prefix?: string): Promise<string> {
    return this.inner.newChannel(prefix);
  }

  groupAdd(group: string, channel: string): Promise<void> {
    return this.inner.groupAdd(group, channel);
  }

  groupDiscard(group: string, channel: string): Promise<void> {
    return this.inner.groupDiscard(group, channel);
  }

  /** Also forgets the messages still on their way: they would have been flushed on arrival. */
  flush(): Promise<void> {
    this.cancelPending();
    return this.inner.flush();
  }

  close(): Promise<void> {
    this.closed = true;
    this.cancelPending();
    return this.inner.close();
  }

  private async inject(kind: 'send' | 'groupSend', target: string, message: M): Promise<void> {
    // The caller's mistakes are refused whatever happens to the message next (a dropped message
    // must not hide a bad name); the wrapped layer still applies its own size limit on arrival.
    if (this.closed) {
      throw new LayerClosedError('this channel layer is closed; make a new one (or use getChannelLayer())');
    }
    if (kind === 'send') checkChannelName(target);
    else checkGroupName(target);
    const faulty = this.dropRate > 0 || this.duplicateRate > 0 || this.reorderRate > 0 || this.delay[1] > 0;
    if (!faulty) {
      this.counters.messages++;
      this.counters.forwarded++;
      await this.forward(kind, target, message);
      return;
    }
    // The message is copied now, as the caller may change its object once send returns.
    const copy = inspectMessage(message, 0, kind, true).copy;
    this.counters.messages++;
    // Four draws per message whatever the rates, so one decision never shifts the next ones.
    const [d, u, r, t] = [this.random(), this.random(), this.random(), this.random()];
    const [min, max] = this.delay;
    const wait = min + Math.floor(t * (max - min + 1));
    if (d < this.dropRate) {
      this.counters.dropped++;
      return;
    }
    const copies = u < this.duplicateRate ? 2 : 1;
    if (copies === 2) this.counters.duplicated++;
    const p: Pending<M> = { kind, target, message: copy, copies, timer: null };
    if (r < this.reorderRate) {
      this.counters.reordered++;
      this.hold(p, wait);
      return;
    }
    if (wait > 0) {
      this.counters.delayed++;
      this.pending.add(p);
      p.timer = setTimeout(() => this.arrive(p), wait);
      return;
    }
    await this.deliver(p, true);
  }

  private hold(p: Pending<M>, wait: number): void {
    const key = `${p.kind}:${p.target}`;
    let list = this.held.get(key);
    if (!list) this.held.set(key, (list = []));
    list.push(p);
    this.pending.add(p);
    if (wait > 0) this.counters.delayed++;
    p.timer = setTimeout(() => this.release(key, p), wait + this.reorderWindowMs);
  }

  /** The window of a held-back message ran out with nothing to overtake it. */
  private release(key: string, p: Pending<M>): void {
    const list = this.held.get(key);
    const i = list?.indexOf(p) ?? -1;
    if (i === -1) return;
    list!.splice(i, 1);
    if (list!.length === 0) this.held.delete(key);
    this.arrive(p);
  }

  private arrive(p: Pending<M>): void {
    p.timer = null;
    this.pending.delete(p);
    void this.deliver(p, false);
    if (this.pending.size === 0) this.wakeIdle();
  }

  /**
   * Passes a message on, then whatever was held back for its destination (it has now been
   * overtaken). `direct`: the caller is still waiting, so the first copy's error is theirs.
   */
  private async deliver(p: Pending<M>, direct: boolean): Promise<void> {
    const key = `${p.kind}:${p.target}`;
    const overtaken = this.held.get(key);
    if (overtaken) {
      this.held.delete(key);
      for (const h of overtaken) {
        clearTimeout(h.timer!);
        h.timer = null;
        this.pending.delete(h);
      }
    }
    const calls: Promise<void>[] = [];
    for (let i = 0; i < p.copies; i++) calls.push(this.forwardCounted(p, direct && i === 0));
    for (const h of overtaken ?? []) for (let i = 0; i < h.copies; i++) calls.push(this.forwardCounted(h, false));
    if (overtaken && this.pending.size === 0) this.wakeIdle();
    const [first] = await Promise.allSettled(calls);
    if (direct && first!.status === 'rejected') throw first!.reason;
  }

  private forwardCounted(p: Pending<M>, callerWaits: boolean): Promise<void> {
    this.counters.forwarded++;
    const call = this.forward(p.kind, p.target, p.message);
    if (callerWaits) return call;
    return call.catch((err: Error) => {
      this.counters.failed++;
      if (log.enabled('debug')) log.debug(`${p.kind} to ${p.target} failed after its caller went on: ${err.message}`);
    });
  }

  private forward(kind: 'send' | 'groupSend', target: string, message: M): Promise<void> {
    return kind === 'send' ? this.inner.send(target, message) : this.inner.groupSend(target, message);
  }

  private cancelPending(): void {
    for (const p of this.pending) if (p.timer) clearTimeout(p.timer);
    this.pending.clear();
    this.held.clear();
    this.wakeIdle();
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
