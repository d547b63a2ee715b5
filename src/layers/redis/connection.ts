// One shard's Redis clients: a command client (auto-pipelined) and blocking clients for
// BZPOPMIN, created on demand. While Redis is known to be away (the command client lost its
// connection and is reconnecting), calls fail at once with a coded error naming the host instead
// of waiting or queueing; the clients reconnect by themselves, with a short capped backoff.
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type { Redis as RedisClient } from 'ioredis';
import { LayerUnavailableError } from '../../errors.ts';
import { createLogger } from '../../logging.ts';
import { clientOptions, type HostSpec } from './hosts.ts';

export { LayerUnavailableError };

const log = createLogger('layer:redis');
const require = createRequire(import.meta.url);

/** The Redis client library, loaded when the first Redis layer is made (not on import). */
export function redisClass(): typeof RedisClient {
  return (require('ioredis') as { Redis: typeof RedisClient }).Redis;
}

/** ioredis' refusal of a command it did not write (the connection was not open). */
const NOT_WRITTEN = "Stream isn't writeable";

export class Shard extends EventEmitter {
  readonly label: string;
  readonly client: RedisClient;
  private readonly spec: HostSpec;
  private readonly waitMs: number;
  private readonly idleBlockers: RedisClient[] = [];
  private readonly allBlockers = new Set<RedisClient>();
  private downSince = 0;
  private closed = false;

  constructor(spec: HostSpec, waitMs: number) {
    super();
    this.spec = spec;
    this.label = spec.label;
    this.waitMs = waitMs;
    this.client = new (redisClass())(clientOptions(spec, { commandTimeout: waitMs }));
    this.client.on('error', (err) => log.debug(`${this.label}: ${err.message}`));
    this.client.on('close', () => {
      if (!this.downSince && !this.closed) {
        this.downSince = Date.now();
        log.warn(`Redis at ${this.label} is unreachable; reconnecting`);
        this.emit('down');
      }
    });
    this.client.on('ready', () => {
      if (this.downSince) {
        const downMs = Date.now() - this.downSince;
        this.downSince = 0;
        log.warn(`Redis at ${this.label} is back after ${downMs} ms`);
        this.emit('reconnect', downMs);
      }
    });
  }

  private readonly readying = new WeakMap<RedisClient, Promise<RedisClient>>();

  /** Resolves once the client is connected; rejects after `waitMs` with a clear error. */
  ready(client: RedisClient = this.client): Promise<RedisClient> {
    if (client.status === 'ready') return Promise.resolve(client);
    if (this.closed) return Promise.reject(new LayerUnavailableError(`the Redis layer for ${this.label} is closed`));
    // One wait per client, shared by every call made while it connects.
    let pending = this.readying.get(client);
    if (!pending) {
      pending = new Promise<RedisClient>((resolve, reject) => {
        const timer = setTimeout(() => {
          client.off('ready', onReady);
          this.readying.delete(client);
          reject(this.unavailable());
        }, this.waitMs);
        const onReady = () => {
          clearTimeout(timer);
          this.readying.delete(client);
          resolve(client);
        };
        client.once('ready', onReady);
      });
      this.readying.set(client, pending);
    }
    return pending;
  }

  /**
   * Whether Redis is known to be away: the command client lost its connection and has not got
   * it back (from the moment ioredis drops it, before its `close` event comes).
   */
  get down(): boolean {
    const status = this.client.status;
    if (status === 'ready') return false;
    return this.downSince !== 0 || status === 'reconnecting' || status === 'close' || status === 'end';
  }

  unavailable(cause?: unknown, unconfirmed = false): LayerUnavailableError {
    const why = cause instanceof Error ? `: ${cause.message}` : '';
    if (unconfirmed) {
      return new LayerUnavailableError(
        `Redis at ${this.label} did not answer${why}; it may still carry the command out — ` +
          'is redis-server running there, and not overloaded?',
        { cause, unconfirmed },
      );
    }
    return new LayerUnavailableError(
      `Redis at ${this.label} is unreachable${why} — is redis-server running there? Check the layer's hosts option.`,
      { cause },
    );
  }

  /**
   * Runs one command; connection failures become LayerUnavailableError, `unconfirmed` when the
   * command was written. While Redis is known to be away it fails at once, sending nothing;
   * before the first connection it waits for it (up to the command timeout).
   */
  async run<T>(fn: (client: RedisClient) => Promise<T>): Promise<T> {
    const client = this.client.status === 'ready' ? this.client : await this.connected();
    try {
      return await fn(client);
    } catch (err) {
      if (err instanceof Error && /ReplyError|ERR |WRONGTYPE|NOSCRIPT/.test(`${err.name} ${err.message}`)) throw err;
      throw this.unavailable(err, !(err instanceof Error && err.message.startsWith(NOT_WRITTEN)));
    }
  }

  private connected(): Promise<RedisClient> {
    return this.down ? Promise.reject(this.unavailable()) : this.ready();
  }

  /** Resolves when Redis answers a PING within `timeoutMs`; rejects with LayerUnavailableError. */
  async ping(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(this.unavailable(new Error(`no answer to PING within ${timeoutMs} ms`))),
        timeoutMs,
      );
    });
    try {
      await Promise.race([this.run((c) => c.ping()), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A connection for a blocking command; give it back with `release`. */
  async blocker(): Promise<RedisClient> {
    let client = this.idleBlockers.pop();
    if (!client) {
      client = new (redisClass())(clientOptions(this.spec, { enableAutoPipelining: false }));
      client.on('error', (err) => log.debug(`${this.label} (blocking): ${err.message}`));
      this.allBlockers.add(client);
    }
    return this.ready(client);
  }

  release(client: RedisClient): void {
    if (this.closed || client.status === 'end') {
      this.allBlockers.delete(client);
      return;
    }
    this.idleBlockers.push(client);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
    const clients = [this.client, ...this.allBlockers];
    this.allBlockers.clear();
    this.idleBlockers.length = 0;
    for (const c of clients) c.disconnect(false);
  }
}
