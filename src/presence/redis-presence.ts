// Presence records in Redis, under keys of Canal's own beside the layer's (whose keys and formats
// stay those of channels_redis). On the shard of each group (prefix `asgi` by default):
//   <prefix>presence:<group>          hash: channel → "<process id> <JSON {meta, joinedAt}>"
//   <prefix>presence:proc:<id>        set: the groups process <id> has members in (on this shard)
//   <prefix>presence:procs:           sorted set: process id → the time it is presumed dead
//                                     (Redis' clock, ms), pushed on by each of its heartbeats
// Group names hold no ':', so no group's key is another's. Every change is one script, so that
// Redis decides alone which call removed a member: the one that removed it is the only one told,
// and only its process sends the `presence.leave`.
import { randomUUID } from 'node:crypto';
import type { Redis as RedisClient } from 'ioredis';
import type { Shard } from '../layers/redis/connection.ts';
import type { RedisKeyAccess } from '../layers/redis/key-access.ts';
import type { GoneEntry, PresenceEntry, PresenceStore } from './presence.ts';

// Redis' clock in ms, shared by every process whatever their own clocks say.
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * KEYS: group hash, process set, process index. ARGV: channel, record, group, process id,
 * window (ms). Marks the process alive, records the entry. Returns {process was new, entry was new}.
 */
const TRACK = `${NOW}
local fresh = redis.call('ZADD', KEYS[3], now + tonumber(ARGV[5]), ARGV[4])
redis.call('SADD', KEYS[2], ARGV[3])
local created = redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return {fresh, created}
`;

/** KEYS: group hash, process set. ARGV: channel, group, '1' when no other channel of the process stays. */
const UNTRACK = `
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
if ARGV[3] == '1' then redis.call('SREM', KEYS[2], ARGV[2]) end
return removed
`;

/**
 * KEYS: group hash, process index. Returns {live: channel, record, …}, {removed: channel, record, …}:
 * the entries of processes presumed dead are removed here, and returned to be reported.
 */
const LIST = `${NOW}
local all = redis.call('HGETALL', KEYS[1])
local alive = {}
local present, gone = {}, {}
for i = 1, #all, 2 do
  local record = all[i + 1]
  local proc = string.sub(record, 1, (string.find(record, ' ', 1, true) or 1) - 1)
  local ok = alive[proc]
  if ok == nil then
    local deadline = redis.call('ZSCORE', KEYS[2], proc)
    ok = deadline ~= false and tonumber(deadline) >= now
    alive[proc] = ok
  end
  local out = ok and present or gone
  out[#out + 1] = all[i]
  out[#out + 1] = record
  if not ok then redis.call('HDEL', KEYS[1], all[i]) end
end
return {present, gone}
`;

/**
 * KEYS: process index. ARGV: process id, window (ms), key base (<prefix>presence:), most dead
 * processes to clear per call. Marks the process alive; removes every entry of up to that many
 * processes presumed dead, with their sets and index entries. Returns
 * {process was new, group, channel, record, group, channel, record, …}.
 */
const HEARTBEAT = `${NOW}
local base = ARGV[3]
local fresh = redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
local out = {fresh}
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - 1, 'LIMIT', 0, tonumber(ARGV[4]))
for _, proc in ipairs(dead) do
  local mark = proc .. ' '
  local setKey = base .. 'proc:' .. proc
  for _, group in ipairs(redis.call('SMEMBERS', setKey)) do
    local hash = base .. group
    local all = redis.call('HGETALL', hash)
    for i = 1, #all, 2 do
      local record = all[i + 1]
      if string.sub(record, 1, #mark) == mark then
        redis.call('HDEL', hash, all[i])
        out[#out + 1] = group
        out[#out + 1] = all[i]
        out[#out + 1] = record
      end
    end
  end
  redis.call('DEL', setKey)
  redis.call('ZREM', KEYS[1], proc)
end
return out
`;

/** KEYS: process index, process set. ARGV: process id. */
const LEAVE = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
return 1
`;

/** Dead processes one heartbeat clears on a shard; more are left to the next ones. */
const DEAD_PER_BEAT = 16;

type Scripts = {
  canalPresenceTrack(...args: (string | number)[]): Promise<[number, number]>;
  canalPresenceUntrack(...args: string[]): Promise<number>;
  canalPresenceList(...args: string[]): Promise<[string[], string[]]>;
  canalPresenceHeartbeat(...args: (string | number)[]): Promise<(number | string)[]>;
  canalPresenceLeave(...args: string[]): Promise<number>;
};

function defineScripts(client: RedisClient): void {
  if ('canalPresenceTrack' in client) return;
  client.defineCommand('canalPresenceTrack', { numberOfKeys: 3, lua: TRACK });
  client.defineCommand('canalPresenceUntrack', { numberOfKeys: 2, lua: UNTRACK });
  client.defineCommand('canalPresenceList', { numberOfKeys: 2, lua: LIST });
  client.defineCommand('canalPresenceHeartbeat', { numberOfKeys: 1, lua: HEARTBEAT });
  client.defineCommand('canalPresenceLeave', { numberOfKeys: 2, lua: LEAVE });
}

function parseRecord(channel: string, record: string): PresenceEntry {
  const data = JSON.parse(record.slice(record.indexOf(' ') + 1)) as { meta: PresenceEntry['meta']; joinedAt: number };
  return { channel, meta: data.meta, joinedAt: data.joinedAt };
}

export class RedisPresenceStore implements PresenceStore {
  readonly needsHeartbeat = true;
  /** This process on the store: a new id per Presence. */
  readonly id = randomUUID().replace(/-/g, '');
  readonly #redis: RedisKeyAccess;
  readonly #base: string;
  readonly #windowMs: number;
  /** Per shard: whether Redis has heard of this process (so that being new again means it was lost). */
  readonly #known: boolean[];
  #lost = false;

  /** `windowMs`: how long after its last heartbeat a process is presumed dead. */
  constructor(redis: RedisKeyAccess, windowMs: number) {
    this.#redis = redis;
    this.#base = `${redis.prefix}presence:`;
    this.#windowMs = windowMs;
    this.#known = redis.shards.map(() => false);
    for (const shard of redis.shards) defineScripts(shard.client);
  }

  get closed(): boolean {
    return this.#redis.shards.some((s) => s.isClosed);
  }

  #shard(group: string): [number, Shard] {
    const index = this.#redis.shardIndex(group);
    return [index, this.#redis.shards[index]!];
  }

  #run<T>(shard: Shard, fn: (scripts: Scripts) => Promise<T>): Promise<T> {
    return shard.run((client) => fn(client as unknown as Scripts));
  }

  /** Redis added this process anew: when it knew it before, it had presumed it dead. */
  #heard(index: number, fresh: number): void {
    if (fresh === 1 && this.#known[index]) this.#lost = true;
    this.#known[index] = true;
  }

  async track(group: string, entry: PresenceEntry): Promise<boolean> {
    const [index, shard] = this.#shard(group);
    const record = `${this.id} ${JSON.stringify({ meta: entry.meta, joinedAt: entry.joinedAt })}`;
    const [fresh, created] = await this.#run(shard, (s) =>
      s.canalPresenceTrack(
        this.#base + group,
        `${this.#base}proc:${this.id}`,
        `${this.#base}procs:`,
        entry.channel,
        record,
        group,
        this.id,
        this.#windowMs,
      ),
    );
    this.#heard(index, fresh);
    return created === 1;
  }

  async untrack(group: string, channel: string, last: boolean): Promise<boolean> {
    const [, shard] = this.#shard(group);
    const removed = await this.#run(shard, (s) =>
      s.canalPresenceUntrack(this.#base + group, `${this.#base}proc:${this.id}`, channel, group, last ? '1' : '0'),
    );
    return removed === 1;
  }

  async list(group: string): Promise<{ present: PresenceEntry[]; gone: GoneEntry[] }> {
    const [, shard] = this.#shard(group);
    const [live, removed] = await this.#run(shard, (s) =>
      s.canalPresenceList(this.#base + group, `${this.#base}procs:`),
    );
    const present: PresenceEntry[] = [];
    for (let i = 0; i < live.length; i += 2) present.push(parseRecord(live[i]!, live[i + 1]!));
    const gone: GoneEntry[] = [];
    for (let i = 0; i < removed.length; i += 2) gone.push({ group, ...parseRecord(removed[i]!, removed[i + 1]!) });
    return { present, gone };
  }

  async heartbeat(): Promise<{ gone: GoneEntry[]; lost: boolean }> {
    const gone: GoneEntry[] = [];
    const shards = this.#redis.shards;
    const replies = await Promise.allSettled(
      shards.map((shard) =>
        this.#run(shard, (s) =>
          s.canalPresenceHeartbeat(`${this.#base}procs:`, this.id, this.#windowMs, this.#base, DEAD_PER_BEAT),
        ),
      ),
    );
    let failure: unknown = null;
    replies.forEach((reply, index) => {
      if (reply.status === 'rejected') {
        failure ??= reply.reason;
        return;
      }
      const out = reply.value;
      this.#heard(index, Number(out[0]));
      for (let i = 1; i < out.length; i += 3) {
        gone.push({ group: String(out[i]), ...parseRecord(String(out[i + 1]), String(out[i + 2])) });
      }
    });
    // What was removed is reported even when another shard failed; the failure is raised then.
    if (failure !== null && gone.length === 0) throw failure;
    const lost = this.#lost;
    this.#lost = false;
    return { gone, lost };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.#redis.shards.map((shard) =>
        shard.isClosed
          ? undefined
          : this.#run(shard, (s) =>
              s.canalPresenceLeave(`${this.#base}procs:`, `${this.#base}proc:${this.id}`, this.id),
            ),
      ),
    );
  }
}
