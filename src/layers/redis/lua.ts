// Scripts the Redis layer runs. Their effects on keys are those of channels_redis 4.0's
// commands (sorted sets scored by send time, EXPIRE refreshed on every write), folded into
// one round trip each.
import { createHash } from 'node:crypto';
import type { Redis as RedisClient } from 'ioredis';

/**
 * send: KEYS[1] channel key; ARGV: member, now (float seconds), expiry, capacity.
 * Drops members older than expiry, refuses at capacity (returns 0), else adds (returns 1).
 */
export const SEND = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, math.floor(tonumber(ARGV[2])) - tonumber(ARGV[3]))
if redis.call('ZCOUNT', KEYS[1], '-inf', '+inf') >= tonumber(ARGV[4]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
`;

/**
 * group send, one shard: KEYS channel keys; ARGV: members (one per key), capacities (one per
 * key), now, expiry. Returns the 1-based indexes of the keys that were full.
 */
export const GROUP_SEND = `
local n = #KEYS
local now = ARGV[2 * n + 1]
local expiry = tonumber(ARGV[2 * n + 2])
local cutoff = math.floor(tonumber(now)) - expiry
local full = {}
for i = 1, n do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, cutoff)
  if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[n + i]) then
    redis.call('ZADD', KEYS[i], now, ARGV[i])
    redis.call('EXPIRE', KEYS[i], expiry)
  else
    full[#full + 1] = i
  end
end
return full
`;

/**
 * group sends in one round trip (one shard, no encryption, one capacity for every channel): the
 * group sends a process made in one turn of its event loop, in the order they were made.
 * KEYS: the group keys. ARGV: group cut-off, key prefix, capacity, expiry, then four per
 * message: the index of its group key in KEYS, head (12 random bytes and the map header of the
 * message with one more entry), rest (the message's entries and the packed "__asgi_channel__"
 * key), and its score (send time).
 * Each group's members are read once, as GROUP_MEMBERS does, and grouped by Redis key as the
 * two-step send does (a process-local channel a.b!c under <prefix>a.b!); each message is stored
 * under each key as head .. rest .. packed list of that key's channels: the bytes
 * channels_redis writes for {**message, "__asgi_channel__": channels}, with its own score and
 * the key's EXPIRE refreshed, or refused when the key holds `capacity` messages. Returns, per
 * message, the channels whose key was full.
 */
export const GROUP_FANOUT = `
local groupCutoff = ARGV[1]
local prefix = ARGV[2]
local capacity = tonumber(ARGV[3])
local expiry = tonumber(ARGV[4])
local find, sub, pack = string.find, string.sub, cmsgpack.pack
local groups = {}
local counts, added, addedList, addedKeys = {}, {}, {}, 0
local results = {}
for j = 1, (#ARGV - 4) / 4 do
  local base = j * 4
  local gi = tonumber(ARGV[base + 1])
  local g = groups[gi]
  if g == nil then
    redis.call('ZREMRANGEBYSCORE', KEYS[gi], 0, groupCutoff)
    local members = redis.call('ZRANGE', KEYS[gi], 0, -1)
    local order, lists, sizes = {}, {}, {}
    local keys = 0
    -- Members of one process come one after another, and most groups span few processes: a
    -- member that starts with the last process part (up to and with its '!') joins that list
    -- without a new string being made for it. Lists grow by counters, not by the # operator.
    local last, lastList, lastKey, lastSize = nil, nil, nil, 0
    for i = 1, #members do
      local channel = members[i]
      if last ~= nil and find(channel, last, 1, true) == 1 then
        lastSize = lastSize + 1
        lastList[lastSize] = channel
      else
        if lastKey ~= nil then sizes[lastKey] = lastSize end
        local bang = find(channel, '!', 1, true)
        local part = bang and sub(channel, 1, bang) or channel
        local key = prefix .. part
        local list = lists[key]
        if list == nil then
          list = {}
          lists[key] = list
          sizes[key] = 0
          keys = keys + 1
          order[keys] = key
        end
        local size = sizes[key] + 1
        list[size] = channel
        if bang then
          last, lastList, lastKey, lastSize = part, list, key, size
        else
          sizes[key] = size
          last, lastList, lastKey, lastSize = nil, nil, nil, 0
        end
      end
    end
    g = { order = order, lists = lists, keys = keys, packed = {} }
    groups[gi] = g
  end
  local head = ARGV[base + 2] .. ARGV[base + 3]
  local score = ARGV[base + 4]
  local full, nfull = {}, 0
  for k = 1, g.keys do
    local key = g.order[k]
    local count = counts[key]
    if count == nil then
      redis.call('ZREMRANGEBYSCORE', key, 0, math.floor(tonumber(score)) - expiry)
      count = redis.call('ZCARD', key)
    end
    if count < capacity then
      local packed = g.packed[k]
      if packed == nil then
        packed = pack(g.lists[key])
        g.packed[k] = packed
      end
      redis.call('ZADD', key, score, head .. packed)
      count = count + 1
      if not added[key] then
        added[key] = true
        addedKeys = addedKeys + 1
        addedList[addedKeys] = key
      end
    else
      local list = g.lists[key]
      for x = 1, #list do
        nfull = nfull + 1
        full[nfull] = list[x]
      end
    end
    counts[key] = count
  end
  results[j] = full
end
for i = 1, addedKeys do
  redis.call('EXPIRE', addedList[i], expiry)
end
return results
`;

/** group members: KEYS[1] group key; ARGV: cutoff. Drops expired memberships, returns the rest. */
export const GROUP_MEMBERS = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, ARGV[1])
return redis.call('ZRANGE', KEYS[1], 0, -1)
`;

/** Puts messages a crashed receiver left in KEYS[2] ($inflight) back into KEYS[1], as channels_redis does. */
export const RESTORE_INFLIGHT = `
local backed_up = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
for i = #backed_up, 1, -2 do
  redis.call('ZADD', KEYS[1], backed_up[i], backed_up[i - 1])
end
redis.call('DEL', KEYS[2])
`;

/** flush: deletes every key under the prefix (ARGV[1] is the pattern). */
export const FLUSH = `
local keys = redis.call('KEYS', ARGV[1])
for i = 1, #keys, 5000 do
  redis.call('DEL', unpack(keys, i, math.min(i + 4999, #keys)))
end
return #keys
`;

/**
 * Group sends (GROUP_FANOUT) with entries of each message written by a script of the caller's,
 * run first for each message in the same script: `prelude` is the body of a Lua function of
 * (KEYS, ARGV) that returns the msgpack bytes of those entries (keys and values) and a result.
 * KEYS: the group keys, then each message's prelude keys (nk each). ARGV: GROUP_FANOUT's (each
 * message's rest without the packed "__asgi_channel__"), then from index `start`: that packed
 * key, the number of group keys, nk, na, each message's prelude arguments (na each), and last
 * `start` itself. Returns { the preludes' results, the channels whose key was full, per message }.
 */
export function scriptedGroupSend(prelude: string): string {
  return `
local function fanout()
${GROUP_FANOUT}
end
local function prelude(KEYS, ARGV)
${prelude}
end
local start = tonumber(ARGV[#ARGV])
local channelKey = ARGV[start]
local g, nk, na = tonumber(ARGV[start + 1]), tonumber(ARGV[start + 2]), tonumber(ARGV[start + 3])
local results = {}
for j = 1, (start - 5) / 4 do
  local keys, args = {}, {}
  for i = 1, nk do keys[i] = KEYS[g + (j - 1) * nk + i] end
  for i = 1, na do args[i] = ARGV[start + 3 + (j - 1) * na + i] end
  local entries, result = prelude(keys, args)
  local at = 4 + (j - 1) * 4 + 3
  ARGV[at] = ARGV[at] .. entries .. channelKey
  results[j] = result
end
for i = #ARGV, start, -1 do ARGV[i] = nil end
return { results, fanout() }
`;
}

/**
 * A PUBLISH (the pub/sub layer's group send) of a message whose last entries are written by a
 * script of the caller's, run first in the same script (see scriptedGroupSend). KEYS: the
 * prelude's keys. ARGV: the channel, the message's map header and entries, then the prelude's
 * arguments. Returns { the prelude's result, the number of subscribers that got it }.
 */
export function scriptedPublish(prelude: string): string {
  return `
local function prelude(KEYS, ARGV)
${prelude}
end
local own = {}
for i = 3, #ARGV do own[i - 2] = ARGV[i] end
local entries, result = prelude(KEYS, own)
return { result, redis.call('PUBLISH', ARGV[1], ARGV[2] .. entries) }
`;
}

/**
 * A script run by EVALSHA, loaded by EVAL when Redis does not have it (a restart, SCRIPT FLUSH).
 * For scripts made after the client (defineCommand then would miss the auto-pipeline already
 * being filled in this turn).
 */
export class CachedScript {
  readonly text: string;
  private readonly sha: string;

  constructor(text: string) {
    this.text = text;
    this.sha = createHash('sha1').update(text).digest('hex');
  }

  run(client: RedisClient, keys: readonly string[], args: readonly unknown[]): Promise<unknown> {
    const all = [keys.length, ...keys, ...args] as (string | number | Buffer)[];
    return client.evalsha(this.sha, ...(all as [number])).catch((err: Error) => {
      if (!/NOSCRIPT/.test(err.message)) throw err;
      return client.eval(this.text, ...(all as [number]));
    });
  }

  /** As run, with string replies as Buffers. */
  runBuffer(client: RedisClient, keys: readonly string[], args: readonly unknown[]): Promise<unknown> {
    const all = [keys.length, ...keys, ...args];
    const c = client as unknown as Record<'evalshaBuffer' | 'evalBuffer', (...a: unknown[]) => Promise<unknown>>;
    return c.evalshaBuffer(this.sha, ...all).catch((err: Error) => {
      if (!/NOSCRIPT/.test(err.message)) throw err;
      return c.evalBuffer(this.text, ...all);
    });
  }
}
