// Background workers (`canal worker <channel…>`, Channels' runworker): read named channels of
// a channel layer and run the app's `channel` branch once per message. Each message gets a
// fresh app instance with scope `{ type: 'channel', channel }`; its first `receive()` gives the
// message, and asking for a second one ends the instance. An error in one message is logged and
// the worker goes on. `concurrency` messages of one channel may be in hand at once (default 1:
// strictly one after another, as Channels).
// `stop()` stops reading and resolves when the messages in hand are done.
import { ASGI_VERSION, type Application, type ChannelScope, type ReceiveEvent } from '../asgi/types.ts';
import { type CanalError, InvalidOptionError, InvalidEventError, LayerClosedError, StopConsumer } from '../errors.ts';
import { createLogger } from '../logging.ts';
import { checkChannelName, isProcessLocal } from '../layers/names.ts';
import type { ChannelLayer, LayerMessage } from '../layers/types.ts';

const log = createLogger('worker');

export interface WorkerOptions {
  app: Application;
  layer: ChannelLayer;
  /** Named channels to read (not process-local ones). */
  channels: readonly string[];
  /** Messages of one channel handled at once. @default 1 */
  concurrency?: number;
}

export interface WorkerStats {
  handled: number;
  failed: number;
  inHand: number;
}

/**
 * A channel a worker may read: a valid name, and not process-local (those belong to the one
 * process that made them). Throws InvalidOptionError naming the value; callers prefix where
 * it came from (a flag, a config key).
 */
export function checkWorkerChannel(name: unknown): asserts name is string {
  try {
    checkChannelName(name);
  } catch (err) {
    throw new InvalidOptionError((err as CanalError).message);
  }
  if (isProcessLocal(name)) {
    throw new InvalidOptionError(
      `channel ${JSON.stringify(name)} must be a named channel (no '!'): ` +
        `process-local channels belong to their process`,
    );
  }
}

export class Worker {
  private readonly app: Application;
  private readonly layer: ChannelLayer;
  private readonly channels: readonly string[];
  private readonly concurrency: number;
  private running = false;
  private readers: Promise<void>[] = [];
  private readonly inHand = new Set<Promise<void>>();
  private readonly counters = { handled: 0, failed: 0 };

  constructor(options: WorkerOptions) {
    if (typeof options?.app !== 'function')
      throw new InvalidOptionError('worker option app must be an Application function');
    if (!options.layer) throw new InvalidOptionError('worker option layer is required');
    if (!Array.isArray(options.channels) || options.channels.length === 0) {
      throw new InvalidOptionError('worker needs at least one channel name to read, e.g. canal worker thumbnails');
    }
    for (const c of options.channels) {
      try {
        checkWorkerChannel(c);
      } catch (err) {
        throw new InvalidOptionError(`worker ${(err as CanalError).message}`);
      }
    }
    const concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new InvalidOptionError(
        `worker option concurrency must be a whole number ≥ 1, not ${String(options.concurrency)}`,
      );
    }
    this.app = options.app;
    this.layer = options.layer;
    this.channels = [...options.channels];
    this.concurrency = concurrency;
  }

  stats(): WorkerStats {
    return { ...this.counters, inHand: this.inHand.size };
  }

  /** Starts reading; resolves at once. */
  start(): void {
    if (this.running) return;
    this.running = true;
    for (const channel of this.channels) {
      for (let i = 0; i < this.concurrency; i++) this.readers.push(this.read(channel));
    }
    log.info(`reading ${this.channels.join(', ')} (concurrency ${this.concurrency})`);
  }

  private async read(channel: string): Promise<void> {
    let failures = 0;
    while (this.running) {
      let message: LayerMessage;
      try {
        message = await this.layer.receive(channel);
        failures = 0;
      } catch (err) {
        if (!this.running || err instanceof LayerClosedError) return;
        failures++;
        log.warn(`receive on ${channel} failed (${(err as Error).message}); retrying`);
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** Math.min(failures, 5), 3000)));
        continue;
      }
      // A message that reaches a reader while the worker is stopping has already left the
      // channel (at-most-once): dropping it would lose it, so it is handled, and stop() waits.
      const job = this.handle(channel, message);
      this.inHand.add(job);
      await job;
      this.inHand.delete(job);
    }
  }

  private async handle(channel: string, message: LayerMessage): Promise<void> {
    const scope: ChannelScope = { type: 'channel', channel, asgi: ASGI_VERSION };
    let given = false;
    const receive = (): Promise<ReceiveEvent> => {
      if (!given) {
        given = true;
        return Promise.resolve(message as unknown as ReceiveEvent);
      }
      // One message per instance: asking for another ends the instance (a consumer's loop
      // treats StopConsumer as a clean end).
      return Promise.reject(new StopConsumer());
    };
    const send = async (): Promise<void> => {
      throw new InvalidEventError(
        `a channel-scope app has nothing to send to; use the channel layer (channel ${channel})`,
      );
    };
    try {
      await this.app(scope, receive, send);
      this.counters.handled++;
    } catch (err) {
      if (err instanceof StopConsumer) {
        this.counters.handled++;
        return;
      }
      this.counters.failed++;
      log.error(`message ${JSON.stringify(message.type)} on channel ${channel} failed; the worker goes on`, err);
    }
  }

  /** Stops reading new messages and waits for the ones in hand. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    // Handling one message can let a pending receive resolve with another; wait for those too.
    while (this.inHand.size > 0) await Promise.allSettled([...this.inHand]);
  }
}
