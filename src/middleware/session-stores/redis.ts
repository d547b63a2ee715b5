// Sessions in Redis, shared by every process: one key per session (`<prefix><key>`, JSON) with
// the session's lifetime as its TTL. The Redis client is loaded when the store is made.
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import { InvalidOptionError } from '../../errors.ts';
import type { SessionStore } from '../session.ts';

const require = createRequire(import.meta.url);

export interface RedisSessionStoreOptions {
  /** @default 'redis://127.0.0.1:6379/0' */
  url?: string;
  /** @default 'canal:session:' */
  prefix?: string;
}

export class RedisSessionStore implements SessionStore {
  private readonly client: Redis;
  private readonly prefix: string;

  constructor(options: RedisSessionStoreOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new InvalidOptionError(`RedisSessionStore options must be an object { url?, prefix? }, not ${options}`);
    }
    for (const k of Object.keys(options))
      if (k !== 'url' && k !== 'prefix')
        throw new InvalidOptionError(`unknown RedisSessionStore option '${k}'; known: url, prefix`);
    const { Redis: RedisClient } = require('ioredis') as { Redis: typeof Redis };
    this.client = new RedisClient(options.url ?? 'redis://127.0.0.1:6379/0', {
      protocol: 2,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: true,
    });
    this.client.on('error', () => {});
    this.prefix = options.prefix ?? 'canal:session:';
  }

  async load(key: string): Promise<Record<string, unknown> | null> {
    const json = await this.client.get(this.prefix + key);
    return json ? (JSON.parse(json) as Record<string, unknown>) : null;
  }
  async save(key: string, data: Record<string, unknown>, ttlSeconds: number): Promise<void> {
    await this.client.set(this.prefix + key, JSON.stringify(data), 'EX', ttlSeconds);
  }
  async delete(key: string): Promise<void> {
    await this.client.del(this.prefix + key);
  }
  async close(): Promise<void> {
    this.client.disconnect();
  }
}
