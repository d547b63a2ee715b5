// Scripts the Redis layer runs. Their effects on keys are those of channels_redis 4.0's
// commands (sorted sets scored by send time, EXPIRE refreshed on every write), folded into
// one round trip each.

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
 * group send in one round trip (one shard, no encryption, one capacity for every channel):
 * KEYS[1] the group key; ARGV: group cut-off, key prefix, head (12 random bytes and the map
 * header of the message with one more entry), rest (the message's entries and the packed
 * "__asgi_channel__" key), capacity, now, expiry. Reads the members as GROUP_MEMBERS does,
 * groups them by Redis key as the two-step send does (a process-local channel a.b!c under
 * <prefix>a.b!), and stores head .. rest .. packed list of that key's channels: the bytes
 * channels_redis writes for {**message, "__asgi_channel__": channels}. Returns the channels
 * whose key was full.
 */
export const GROUP_FANOUT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, ARGV[1])
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
local full = {}
if #members == 0 then return full end
local prefix = ARGV[2]
local order, lists = {}, {}
-- Members of one process come one after another, and most groups span few processes: a
-- member that starts with the last process part (up to and with its '!') joins that list
-- without a new string being made for it.
local last, lastList = nil, nil
for i = 1, #members do
  local channel = members[i]
  if last ~= nil and string.find(channel, last, 1, true) == 1 then
    lastList[#lastList + 1] = channel
  else
    local bang = string.find(channel, '!', 1, true)
    local part = bang and string.sub(channel, 1, bang) or channel
    local key = prefix .. part
    local list = lists[key]
    if list == nil then
      list = {}
      lists[key] = list
      order[#order + 1] = key
    end
    list[#list + 1] = channel
    if bang then
      last, lastList = part, list
    else
      last, lastList = nil, nil
    end
  end
end
local capacity = tonumber(ARGV[5])
local now = ARGV[6]
local expiry = tonumber(ARGV[7])
local cutoff = math.floor(tonumber(now)) - expiry
local head = ARGV[3] .. ARGV[4]
for _, key in ipairs(order) do
  local list = lists[key]
  redis.call('ZREMRANGEBYSCORE', key, 0, cutoff)
  if redis.call('ZCOUNT', key, '-inf', '+inf') < capacity then
    redis.call('ZADD', key, now, head .. cmsgpack.pack(list))
    redis.call('EXPIRE', key, expiry)
  else
    for j = 1, #list do full[#full + 1] = list[j] end
  end
end
return full
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
