// Group history in Redis, beside a Redis layer's keys and on the shard that holds the group:
//   <prefix>history:<group>        a stream, one entry per message: id `<offset>-0`,
//                                  fields t (Redis time, ms) and m (the msgpack message)
//   <prefix>history-meta:<group>   a hash: epoch, seq (the last offset given)
// channels_redis never writes these names (its channel names cannot hold ':'). The stream is
// trimmed on every append: XADD … MAXLEN ~ <count> (whole nodes, cheap), then XTRIM MINID to
// the first entry young enough; since() applies both bounds exactly. A stream that is gone
// (FLUSHDB, a restart without persistence, an idle group's keys expiring) or a hash without
// its epoch starts a new epoch: both keys are made anew and offsets count from 1 again. Both
// keys expire after `idleMs` without a message (one day, or maxAgeMs if longer).
import { randomBytes } from 'node:crypto';
import type { Redis as RedisClient } from 'ioredis';
import { packMessage, unpackMessage } from '../layers/redis/codec.ts';
import { CachedScript } from '../layers/redis/lua.ts';
import type { LayerMessage } from '../layers/types.ts';
import type { HistoryLimits, HistoryPosition, HistoryStore, SinceResult, StampedMessage } from './types.ts';

/** What GroupHistory needs of a Redis layer (both Redis backends have it). */
export interface RedisBackedLayer {
  readonly prefix: string;
  runCommand<T>(name: string, fn: (client: RedisClient) => Promise<T>): Promise<T>;
}

/** The core Redis layer's group send with a first step in the same script. */
interface ScriptedGroupSend {
  groupSendScripted(
    group: string,
    message: LayerMessage,
    fields: readonly string[],
    script: { lua: string; keys: readonly string[]; args: readonly (string | number | Buffer)[] },
  ): Promise<unknown> | null;
}

export function isRedisBacked(layer: object): layer is RedisBackedLayer {
  return (
    typeof (layer as RedisBackedLayer).runCommand === 'function' &&
    typeof (layer as RedisBackedLayer).prefix === 'string'
  );
}

/**
 * KEYS: stream, meta. ARGV[1]: a new epoch, ARGV[2]: max age (ms, 0 none), ARGV[3]: how long
 * the keys of a group without messages are kept (ms). Makes both keys anew
 * (an empty stream, seq 0, the new epoch) when either is missing; the current time in ms is
 * left in `now`, the epoch in `epoch`.
 */
const ENSURE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local maxAge = tonumber(ARGV[2])
local epoch = redis.call('HGET', KEYS[2], 'epoch')
if not epoch or redis.call('EXISTS', KEYS[1]) == 0 then
  epoch = ARGV[1]
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('XADD', KEYS[1], 'MAXLEN', '0', '0-1', 't', '0')
  redis.call('HSET', KEYS[2], 'epoch', epoch, 'seq', 0)
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
`;

/** ARGV[4]: the message, ARGV[5]: count bound. Leaves the offset in `n`. */
const APPEND_STEPS = `${ENSURE}
local n = redis.call('HINCRBY', KEYS[2], 'seq', 1)
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], n .. '-0', 't', now, 'm', ARGV[4])
local cutoff = now - maxAge
-- Old entries are let go on every 8th append (since() applies the age bound itself, so this only
-- frees memory): the oldest entry is read, and when it is too old, entries go 64 at a time;
-- the one just added is young, so the loop ends.
if maxAge > 0 and n % 8 == 0 and tonumber(redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1][2][2]) < cutoff then
  while true do
    local batch = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 64)
    local young = nil
    for i = 1, #batch do
      if tonumber(batch[i][2][2]) >= cutoff then
        young = i
        break
      end
    end
    if young then
      redis.call('XTRIM', KEYS[1], 'MINID', batch[young][1])
      break
    end
    redis.call('XTRIM', KEYS[1], 'MINID', (tonumber(string.match(batch[#batch][1], '^%d+')) + 1) .. '-0')
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
`;

/** Returns { offset, epoch }. */
const APPEND = `${APPEND_STEPS}
return { n, epoch }
`;

/**
 * The append as the first step of the core layer's group send (groupSendScripted): returns the
 * packed `offset` and `epoch` entries, written into the message the members receive.
 */
const APPEND_BEFORE_SEND = `${APPEND_STEPS}
return cmsgpack.pack('offset') .. cmsgpack.pack(n) .. cmsgpack.pack('epoch') .. cmsgpack.pack(epoch), { n, epoch }
`;

/**
 * ARGV[4]: the reader's offset, ARGV[5]: its epoch, ARGV[6]: count bound. Returns
 * { epoch, seq, gap reason or '', messages after the offset }.
 */
const SINCE = `${ENSURE}
local seq = tonumber(redis.call('HGET', KEYS[2], 'seq'))
local from = tonumber(ARGV[4])
if epoch ~= ARGV[5] or from > seq then return { epoch, seq, 'epoch' } end
if from == seq then return { epoch, seq, '', {} } end
if from + 1 < seq - tonumber(ARGV[6]) + 1 then return { epoch, seq, 'trimmed' } end
local entries = redis.call('XRANGE', KEYS[1], (from + 1) .. '-0', '+', 'COUNT', seq - from)
if #entries ~= seq - from or entries[1][1] ~= (from + 1) .. '-0' then return { epoch, seq, 'trimmed' } end
if maxAge > 0 and tonumber(entries[1][2][2]) < now - maxAge then return { epoch, seq, 'trimmed' } end
local out = {}
for i = 1, #entries do out[i] = entries[i][2][4] end
return { epoch, seq, '', out }
`;

/** Returns { epoch, seq }. */
const POSITION = `${ENSURE}
return { epoch, tonumber(redis.call('HGET', KEYS[2], 'seq')) }
`;

const appendScript = new CachedScript(APPEND);
const sinceScript = new CachedScript(SINCE);
const positionScript = new CachedScript(POSITION);

const FIELDS = ['offset', 'epoch'] as const;

function newEpoch(): string {
  return randomBytes(8).toString('hex');
}

export class RedisHistoryStore implements HistoryStore {
  private readonly layer: RedisBackedLayer;

  constructor(layer: RedisBackedLayer) {
    this.layer = layer;
  }

  private keys(group: string): [string, string] {
    return [`${this.layer.prefix}history:${group}`, `${this.layer.prefix}history-meta:${group}`];
  }

  async append(group: string, message: LayerMessage, limits: HistoryLimits): Promise<HistoryPosition> {
    const payload = packMessage(message);
    const [offset, epoch] = (await this.layer.runCommand(group, (c) =>
      appendScript.runBuffer(c, this.keys(group), [
        newEpoch(),
        limits.maxAgeMs,
        limits.idleMs,
        payload,
        limits.maxMessages,
      ]),
    )) as [number, Buffer];
    return { offset, epoch: epoch.toString() };
  }

  /**
   * Appends and sends to the group in one script, when the layer can (the core layer on one
   * host, unencrypted, one capacity): nothing can come between the two. Null otherwise.
   */
  appendAndSend(group: string, message: LayerMessage, limits: HistoryLimits): Promise<HistoryPosition> | null {
    const layer = this.layer as RedisBackedLayer & Partial<ScriptedGroupSend>;
    if (typeof layer.groupSendScripted !== 'function') return null;
    const sent = layer.groupSendScripted(group, message, FIELDS, {
      lua: APPEND_BEFORE_SEND,
      keys: this.keys(group),
      args: [newEpoch(), limits.maxAgeMs, limits.idleMs, packMessage(message), limits.maxMessages],
    });
    return sent === null
      ? null
      : sent.then((result) => {
          const [offset, epoch] = result as [number, string];
          return { offset, epoch };
        });
  }

  async since(group: string, from: HistoryPosition, limits: HistoryLimits): Promise<SinceResult> {
    const [epochBytes, seq, gap, entries] = (await this.layer.runCommand(group, (c) =>
      sinceScript.runBuffer(c, this.keys(group), [
        newEpoch(),
        limits.maxAgeMs,
        limits.idleMs,
        from.offset,
        from.epoch,
        limits.maxMessages,
      ]),
    )) as [Buffer, number, Buffer, Buffer[]?];
    const epoch = epochBytes.toString();
    const position = { offset: seq, epoch };
    const reason = gap.toString();
    if (reason === 'trimmed' || reason === 'epoch') return { gap: true, reason, position };
    const messages: StampedMessage[] = (entries ?? []).map((bytes, i) => ({
      ...(unpackMessage(bytes) as LayerMessage),
      offset: from.offset + 1 + i,
      epoch,
    }));
    return { gap: false, messages, position };
  }

  async position(group: string, limits: HistoryLimits): Promise<HistoryPosition> {
    const [epoch, seq] = (await this.layer.runCommand(group, (c) =>
      positionScript.runBuffer(c, this.keys(group), [newEpoch(), limits.maxAgeMs, limits.idleMs]),
    )) as [Buffer, number];
    return { offset: seq, epoch: epoch.toString() };
  }
}
