// RedisChannelLayer: the `redis` backend, byte-compatible with channels_redis 4.0's core layer,
// so Django and Canal processes on one Redis reach each other's channels and groups.
//
// Keys (prefix `asgi` by default):
//   <prefix><channel>                 sorted set of messages (member = 12 random bytes + msgpack,
//                                     score = send time); a process-local channel `a.b!c` is
//                                     stored under `<prefix>a.b!` with `__asgi_channel__` inside
//   <prefix>:group:<group>            sorted set of member channel names, score = join time
// Every process reads all of its process-local channels with ONE loop per shard (BZMPOP of up
// to 256 messages from `<prefix>specific.<client id>!`; before Redis 7, BZPOPMIN and then
// ZPOPMIN for what else is waiting) and hands each
// message to the local channel(s) named inside it: a group message for 1000 sockets of this
// process is one Redis member, decoded once, shared (frozen) by all 1000 receivers.
import { randomUUID } from 'node:crypto';
import type { Redis as RedisClient } from 'ioredis';
import { ChannelFull, InvalidOptionError, LayerClosedError } from '../../errors.ts';
import { createLogger } from '../../logging.ts';
import type { ChannelLayer, LayerBackend, LayerExtension, LayerMessage } from '../types.ts';
import { ChannelListCache } from './channel-list-cache.ts';
import { consistentHash } from './consistent-hash.ts';
import { CHANNEL_KEY, decodeMessage, encodeMessage, groupMessageParts, type CodecOptions } from './codec.ts';
import { LayerUnavailableError, Shard } from './connection.ts';
import { MultiFernet } from './fernet.ts';
import { keyAccess, REDIS_KEY_ACCESS, type RedisKeyAccess } from './key-access.ts';
import { parseHosts, RECONNECT_MAX_DELAY_MS, type RedisHost } from './hosts.ts';
import {
  CachedScript,
  FLUSH,
  GROUP_FANOUT,
  GROUP_MEMBERS,
  GROUP_SEND,
  RESTORE_INFLIGHT,
  SEND,
  scriptedGroupSend,
} from './lua.ts';
import { parseLayerOptions, type BaseLayerOptions } from '../base-layer.ts';
import { checkMessage } from '../message-check.ts';
import { checkChannelName, checkChannelPrefix, checkGroupName, nonLocalPart } from '../names.ts';
import { failedSendReason, RemoteLayer } from '../remote-layer.ts';
import { Memberships } from './memberships.ts';

const log = createLogger('layer:redis');

export interface RedisChannelLayerOptions extends BaseLayerOptions {
  /**
   * Redis hosts; several shard channels and groups by channels_redis' consistent hash.
   * @default ['redis://localhost:6379']
   */
  hosts?: readonly RedisHost[];
  /** Key prefix. @default 'asgi' */
  prefix?: string;
  /** Fernet keys shared with channels_redis' `symmetric_encryption_keys`: encrypt with the first, decrypt with any. */
  symmetricEncryptionKeys?: readonly (string | Buffer)[];
  /** How long a call waits for Redis before failing with ERR_LAYER_UNAVAILABLE. @default 2000 */
  commandTimeoutMs?: number;
  /** BZPOPMIN timeout of the receive loops, seconds. @default 5 */
  blockTimeout?: number;
}

/**
 * The `prefix` option, checked. It only begins Redis keys, never channel names, so any string
 * will do, as in channels_redis (flush() escapes its glob characters).
 */
export function checkKeyPrefix(value: unknown): string {
  if (value === undefined) return 'asgi';
  if (typeof value !== 'string') {
    throw new InvalidOptionError(`prefix must be a string such as 'asgi', not ${JSON.stringify(value)}`);
  }
  return value;
}

/** `text` matched literally in a Redis KEYS/SCAN pattern. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** Most messages one read of this process's channels takes from Redis. */
const BATCH_POP = 256;

/**
 * Resolves once the event loop has handled this pass's I/O (the deliveries just made are
 * written by then). The next pop waits for it: messages that came while those deliveries ran
 * are then taken together, and each socket gets them in one write, instead of one message per
 * round trip, each written on its own.
 */
function afterThisPass(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Most group sends one script carries; a turn that makes more sends several scripts. */
const MAX_GROUP_BATCH = 128;

/**
 * The group sends of one turn of the event loop (one shard, no encryption, one capacity),
 * sent to Redis together as one GROUP_FANOUT script: messages that arrive together are stored
 * together, and a receive loop waiting on their key gets them in one reply instead of the
 * first alone. Each group's members are read once per script.
 */
class GroupBatch {
  /** Distinct group keys, in first-use order. */
  readonly keys: string[] = [];
  private readonly keyIndex = new Map<string, number>();
  /** Four per message: its group key's index (1-based, as Lua's KEYS), head, rest, score. */
  readonly args: (number | Buffer)[] = [];
  size = 0;
  sent = false;
  resolve!: (full: string[][]) => void;
  reject!: (err: unknown) => void;
  /** Per message, the channels whose key was full. */
  readonly answer = new Promise<string[][]>((resolve, reject) => {
    this.resolve = resolve;
    this.reject = reject;
  });

  /** Adds one message; returns its index in the answer. */
  add(groupKey: string, head: Buffer, rest: Buffer, score: number): number {
    let k = this.keyIndex.get(groupKey);
    if (k === undefined) {
      k = this.keys.push(groupKey);
      this.keyIndex.set(groupKey, k);
    }
    this.args.push(k, head, rest, score);
    return this.size++;
  }
}

/**
 * The group sends of one turn made by groupSendScripted with one prelude, sent as one script:
 * each message's prelude runs, then GROUP_FANOUT stores them all, reading each group's members
 * once, as for a GroupBatch.
 */
class ScriptedBatch {
  readonly script: CachedScript;
  readonly lua: string;
  readonly nk: number;
  readonly na: number;
  /** Distinct group keys, in first-use order; then, apart, each message's prelude keys and arguments. */
  readonly keys: string[] = [];
  readonly preludeKeys: string[] = [];
  private readonly keyIndex = new Map<string, number>();
  /** Four per message, as GroupBatch's. */
  readonly args: (number | Buffer)[] = [];
  readonly preludeArgs: unknown[] = [];
  size = 0;
  sent = false;
  resolve!: (answer: [unknown[], string[][]]) => void;
  reject!: (err: unknown) => void;
  readonly answer = new Promise<[unknown[], string[][]]>((resolve, reject) => {
    this.resolve = resolve;
    this.reject = reject;
  });

  constructor(script: CachedScript, lua: string, nk: number, na: number) {
    this.script = script;
    this.lua = lua;
    this.nk = nk;
    this.na = na;
  }

  fits(lua: string, nk: number, na: number): boolean {
    return !this.sent && this.lua === lua && this.nk === nk && this.na === na && this.size < MAX_GROUP_BATCH;
  }

  add(groupKey: string, head: Buffer, rest: Buffer, score: number, keys: readonly string[], args: readonly unknown[]) {
    let k = this.keyIndex.get(groupKey);
    if (k === undefined) {
      k = this.keys.push(groupKey);
      this.keyIndex.set(groupKey, k);
    }
    this.args.push(k, head, rest, score);
    this.preludeKeys.push(...keys);
    this.preludeArgs.push(...args);
    return this.size++;
  }
}

/** The `redis` backend. The Redis client library is loaded when a layer is made, not before. */
export const redisBackend: LayerBackend = {
  name: 'redis',
  optionKeys: ['hosts', 'prefix', 'symmetricEncryptionKeys', 'commandTimeoutMs', 'blockTimeout'],
  check(options) {
    const { hosts, ...rest } = options as { hosts?: [] };
    parseHosts(hosts);
    parseLayerOptions(rest, redisBackend.optionKeys);
    checkKeyPrefix((rest as { prefix?: unknown }).prefix);
  },
  make: (options) => new RedisChannelLayer(options),
};

export class RedisChannelLayer<M extends LayerMessage = LayerMessage>
  extends RemoteLayer<M>
  implements ChannelLayer<M>
{
  readonly extensions: readonly LayerExtension[] = ['groups', 'flush'];
  readonly prefix: string;
  /** This process's id inside process-local channel names (`specific.<clientPrefix>!…`). */
  readonly clientPrefix = randomUUID().replace(/-/g, '');
  private readonly shards: Shard[];
  private readonly codec: CodecOptions;
  private readonly blockTimeout: number;
  private sendCursor = 0;
  private receiveCursor = 0;
  /** Groups this process's channels joined, so memberships come back after Redis loses them. */
  private readonly memberships = new Memberships();
  private readonly loops = new Set<number>();
  /** Member lists of recent group messages, by their bytes (unencrypted layers only). */
  private readonly lists: ChannelListCache | null;
  /** The group sends of this turn, not yet sent (see GroupBatch). */
  private groupBatch: GroupBatch | null = null;
  /** Whether Redis has BZMPOP (7.0+): null until the first receive loop finds out. */
  private batchPop: boolean | null = null;

  constructor(options: RedisChannelLayerOptions = {}) {
    super(redisBackend.name, options, redisBackend.optionKeys);
    try {
      this.prefix = checkKeyPrefix(options.prefix);
    } catch (err) {
      throw new InvalidOptionError(`redis layer: ${(err as Error).message}`);
    }
    const waitMs = options.commandTimeoutMs ?? 2000;
    if (!Number.isInteger(waitMs) || waitMs <= 0)
      throw new InvalidOptionError(`commandTimeoutMs must be a whole number > 0, not ${waitMs}`);
    this.blockTimeout = options.blockTimeout ?? 5;
    const crypter = options.symmetricEncryptionKeys ? new MultiFernet(options.symmetricEncryptionKeys) : null;
    this.codec = { crypter, ttlSeconds: this.expiry + 10 };
    this.lists = crypter === null ? new ChannelListCache() : null;
    this.shards = parseHosts(options.hosts).map((spec) => new Shard(spec, waitMs));
    this.shards.forEach((shard, index) => {
      shard.client.defineCommand('canalSend', { numberOfKeys: 1, lua: SEND });
      shard.client.defineCommand('canalGroupMembers', { numberOfKeys: 1, lua: GROUP_MEMBERS });
      shard.client.defineCommand('canalGroupFanout', { lua: GROUP_FANOUT }); // numkeys first
      shard.client.defineCommand('canalFlush', { numberOfKeys: 0, lua: FLUSH });
      shard.client.defineCommand('canalRestoreInflight', { numberOfKeys: 2, lua: RESTORE_INFLIGHT });
      shard.on('reconnect', (downMs: number) => {
        this.emit('reconnect', { host: shard.label, downMs });
        this.restoreMemberships(index).catch((err) =>
          log.warn(`restoring group memberships on ${shard.label} failed: ${err.message}`),
        );
      });
    });
  }

  private shardFor(name: string): Shard {
    return this.shards[consistentHash(name, this.shards.length)]!;
  }

  /** The command clients, for keys of Canal's own beside the layer's (presence). */
  [REDIS_KEY_ACCESS](): RedisKeyAccess {
    return keyAccess(this.prefix, this.shards);
  }

  private lastScore = 0;

  private get now(): number {
    return Date.now() / 1000;
  }

  /**
   * Send time as the message's score, strictly increasing within this process, so messages
   * sent in the same millisecond keep their order (equal scores sort by the random member).
   */
  private nextScore(): number {
    let s = (performance.timeOrigin + performance.now()) / 1000;
    if (s <= this.lastScore) s = this.lastScore + 0.000001;
    this.lastScore = s;
    return s;
  }

  async send(channel: string, message: M): Promise<void> {
    this.assertOpen();
    checkChannelName(channel);
    checkMessage(message, this.settings.maxMessageBytes, 'send');
    const local = channel.includes('!');
    const body = local ? { ...message, __asgi_channel__: channel } : message;
    const key = this.prefix + nonLocalPart(channel);
    const shard = local ? this.shardFor(nonLocalPart(channel)) : this.shards[this.sendCursor++ % this.shards.length]!;
    const member = encodeMessage(body, this.codec);
    // Scored now: messages are ordered by the calls, whichever command reaches Redis first.
    const score = this.nextScore();
    this.sendGroupBatch(); // group sends made before this one go first
    const ok = await shard.run((c) =>
      (c as RedisClient & { canalSend: (...a: unknown[]) => Promise<number> }).canalSend(
        key,
        member,
        score,
        this.expirySeconds,
        this.capacityFor(channel),
      ),
    );
    if (ok === 0)
      throw new ChannelFull(
        `channel ${channel} is full (capacity ${this.capacityFor(channel)}); its reader is not keeping up`,
      );
    this.countSent();
  }

  async receive(channel: string): Promise<M> {
    this.assertOpen();
    checkChannelName(channel);
    if (!channel.includes('!')) return this.receiveNamed(channel);
    const base = nonLocalPart(channel);
    if (!base.endsWith(this.clientPrefix + '!')) {
      throw new InvalidOptionError(
        `channel ${channel} was not made by this layer's newChannel(); only its maker can receive on it`,
      );
    }
    const pending = this.local.receive(channel);
    this.ensureLoop(consistentHash(base, this.shards.length), this.prefix + base);
    return pending;
  }

  /** Push delivery for one of this process's channels (see the layer contract). */
  listen(channel: string, onMessage: (message: M) => boolean): () => void {
    const base = nonLocalPart(channel);
    if (!channel.includes('!') || !base.endsWith(this.clientPrefix + '!')) {
      throw new InvalidOptionError(
        `listen(${JSON.stringify(channel)}): only channels made by this layer's newChannel() can be listened to`,
      );
    }
    this.assertOpen();
    checkChannelName(channel);
    const stop = this.local.listen(channel, onMessage);
    this.ensureLoop(consistentHash(base, this.shards.length), this.prefix + base);
    return stop;
  }

  async newChannel(prefix = 'specific.'): Promise<string> {
    this.assertOpen();
    checkChannelPrefix(prefix);
    const name = `${prefix}${this.clientPrefix}!${randomUUID().replace(/-/g, '')}`;
    checkChannelName(name);
    return name;
  }

  /** Whether `channel` is a process-local channel of this layer (its memberships are recorded). */
  private isOwn(channel: string): boolean {
    return channel.includes('!') && nonLocalPart(channel).endsWith(this.clientPrefix + '!');
  }

  async groupAdd(group: string, channel: string): Promise<void> {
    this.assertOpen();
    checkGroupName(group);
    checkChannelName(channel);
    const own = this.isOwn(channel);
    const call = this.memberships.begin(group, channel);
    const key = this.groupKey(group);
    this.sendGroupBatch(); // group sends made before this one go first
    try {
      const shard = this.shardFor(group);
      await shard.run((c) => c.multi().zadd(key, this.now, channel).expire(key, this.groupExpiry).exec());
    } catch (err) {
      // A failed join leaves nothing: it is not recorded, and a ZADD Redis may still carry out
      // (written, unanswered) is undone once Redis answers, unless the channel was a member.
      const latest = this.memberships.end(group, channel, call);
      const unconfirmed = (err as LayerUnavailableError).unconfirmed === true;
      if (latest && own && unconfirmed && !this.memberships.has(group, channel)) this.removeLater(group, channel);
      throw err;
    }
    // Recorded once Redis confirmed it, unless a later groupAdd/groupDiscard of the pair began.
    if (this.memberships.end(group, channel, call) && own) this.memberships.add(group, channel);
  }

  async groupDiscard(group: string, channel: string): Promise<void> {
    this.assertOpen();
    checkGroupName(group);
    checkChannelName(channel);
    const call = this.memberships.begin(group, channel);
    this.memberships.delete(group, channel); // never restored again, whatever Redis answers
    this.sendGroupBatch(); // group sends made before this one go first
    try {
      await this.shardFor(group).run((c) => c.zrem(this.groupKey(group), channel));
    } catch (err) {
      if (this.memberships.end(group, channel, call) && this.isOwn(channel)) this.removeLater(group, channel);
      throw err;
    }
    this.memberships.end(group, channel, call);
  }

  /**
   * The channel's reader has gone for good: besides its buffer, the memberships it still has
   * are let go, here and in Redis (a consumer that ended without leaving its groups, refused or
   * ended by an error), so they are neither restored nor sent to.
   */
  override discardChannel(channel: string): void {
    super.discardChannel(channel);
    for (const group of this.memberships.deleteChannel(channel)) this.removeLater(group, channel);
  }

  /**
   * Removes a membership from Redis that no one should have: now when Redis is connected, else
   * when it is back (restoreMemberships); a removal that fails is tried again then.
   */
  private removeLater(group: string, channel: string): void {
    this.memberships.markStale(group, channel);
    const index = consistentHash(group, this.shards.length);
    if (!this.shards[index]!.down) this.removeStale(index).catch(() => {});
  }

  /** Sends the removals due on shard `index` (see removeLater). */
  private async removeStale(index: number): Promise<void> {
    const stale = this.memberships.takeStale((group) => consistentHash(group, this.shards.length) === index);
    if (stale.length === 0 || this.closed) return;
    const shard = this.shards[index]!;
    await shard.run((c) => {
      const multi = c.multi();
      for (const { group, channel } of stale) multi.zrem(this.groupKey(group), channel);
      return multi.exec();
    });
    this.memberships.removed(stale);
  }

  async groupSend(group: string, message: M): Promise<void> {
    this.assertOpen();
    checkGroupName(group);
    checkMessage(message, this.settings.maxMessageBytes, 'groupSend');
    this.countGroupSend();
    // One shard, no encryption and one capacity for all (the usual set-up): Redis reads the
    // members and stores the message in one script, one round trip. Otherwise two: the members,
    // then a script per shard with the messages built here.
    if (
      this.shards.length === 1 &&
      this.codec.crypter === null &&
      this.settings.uniformCapacity &&
      !Object.hasOwn(message, '__asgi_channel__')
    ) {
      const { head, rest } = groupMessageParts(message);
      // Connected: the message joins the group sends of this turn, which go to Redis together
      // as one script when the turn ends, and groupSend returns without waiting for the answer,
      // so a consumer that sends a group message per frame handles its next frame at once
      // (docs/redis-layers.md). Order is the order of the calls, which later sends of this layer
      // keep; drops of full members are counted when the answer comes. Redis away: the sends
      // of this turn go now, this one after them, and its drop is counted before groupSend
      // returns (at once while Redis is known to be away: nothing is held back for later).
      const connected = this.shards[0]!.client.status === 'ready';
      if (!connected) this.sendGroupBatch();
      const batch = connected ? this.turnBatch() : new GroupBatch();
      const sent = this.queueGroupSend(batch, group, head, rest);
      if (!connected || batch.size >= MAX_GROUP_BATCH) this.sendGroupBatch(batch);
      return connected ? this.handOff(sent, group) : sent;
    }
    // Group sends of this turn go first: the connection's order is the order of the calls,
    // and so is the score, taken now rather than after the members' round trip.
    this.sendGroupBatch();
    const score = this.nextScore();
    let members: string[];
    try {
      members = await this.shardFor(group).run((c) =>
        (c as RedisClient & { canalGroupMembers: (...a: unknown[]) => Promise<string[]> }).canalGroupMembers(
          this.groupKey(group),
          Math.floor(this.now) - this.groupExpiry,
        ),
      );
    } catch (err) {
      // groupSend never raises for delivery problems: an outage is counted as a drop (nothing
      // was stored, whether or not the read of the members was answered).
      if (!(err instanceof LayerUnavailableError)) throw err;
      this.countDrop({ channel: null, group, reason: 'unavailable', error: err });
      return;
    }
    if (members.length === 0) return;
    // One member per Redis key: every channel of one process shares the key and the message.
    const byKey = new Map<string, string[]>();
    for (const channel of members) {
      const key = this.prefix + nonLocalPart(channel);
      const list = byKey.get(key);
      if (list) list.push(channel);
      else byKey.set(key, [channel]);
    }
    const byShard = new Map<
      number,
      { keys: string[]; payloads: Buffer[]; capacities: number[]; channels: string[][] }
    >();
    for (const [key, channels] of byKey) {
      const index = consistentHash(key.slice(this.prefix.length), this.shards.length);
      let batch = byShard.get(index);
      if (!batch) byShard.set(index, (batch = { keys: [], payloads: [], capacities: [], channels: [] }));
      batch.keys.push(key);
      batch.payloads.push(encodeMessage({ ...message, __asgi_channel__: channels }, this.codec));
      batch.capacities.push(this.capacityFor(channels[0]!));
      batch.channels.push(channels);
    }
    await Promise.all(
      [...byShard].map(async ([index, batch]) => {
        const shard = this.shards[index]!;
        try {
          const full = (await shard.run((c) =>
            c.eval(
              GROUP_SEND,
              batch.keys.length,
              ...batch.keys,
              ...batch.payloads,
              ...batch.capacities,
              score,
              this.expirySeconds,
            ),
          )) as number[];
          for (const i of full)
            for (const channel of batch.channels[i - 1]!) this.countDrop({ channel, group, reason: 'full' });
        } catch (err) {
          if (!(err instanceof LayerUnavailableError)) throw err;
          const reason = failedSendReason(err);
          for (const channels of batch.channels) {
            for (const channel of channels) this.countDrop({ channel, group, reason, error: err });
          }
        }
      }),
    );
  }

  /** The scripts made by scriptedGroupSend, by prelude. */
  private readonly scripted = new Map<string, CachedScript>();
  /** The groupSendScripted calls of this turn, not yet sent (see ScriptedBatch). */
  private scriptedBatch: ScriptedBatch | null = null;

  /**
   * A group send with a step of the caller's run first, in the same script on the group's shard,
   * which writes the message's last `fields.length` entries (the history's offset and epoch: the
   * append and the fan-out are then one step). `script.lua` is the body of a Lua function of
   * (KEYS, ARGV), given `script.keys` and `script.args`, that returns the msgpack bytes of those
   * entries and a result, which this resolves with. The calls of one turn go to Redis together,
   * in order with the layer's other group sends. Null when this layer cannot send a group
   * message in one script (several hosts, encryption, per-channel capacities): use groupSend.
   * Rejects with ERR_LAYER_UNAVAILABLE when Redis is away; drops of full members are counted.
   */
  groupSendScripted(
    group: string,
    message: M,
    fields: readonly string[],
    script: { lua: string; keys: readonly string[]; args: readonly (string | number | Buffer)[] },
  ): Promise<unknown> | null {
    this.assertOpen();
    checkGroupName(group);
    if (this.shards.length !== 1 || this.codec.crypter !== null || !this.settings.uniformCapacity) return null;
    for (const field of fields) {
      if (Object.hasOwn(message, field)) throw new InvalidOptionError(`groupSendScripted: the message has ${field}`);
    }
    checkMessage(message, this.settings.maxMessageBytes, 'groupSend');
    this.countGroupSend();
    const { head, rest } = groupMessageParts(message, fields.length);
    const connected = this.shards[0]!.client.status === 'ready';
    const nk = script.keys.length;
    const na = script.args.length;
    let batch = this.scriptedBatch;
    if (batch === null || !batch.fits(script.lua, nk, na)) {
      this.sendGroupBatch(); // group sends made before this one go first
      let lua = this.scripted.get(script.lua);
      if (lua === undefined) this.scripted.set(script.lua, (lua = new CachedScript(scriptedGroupSend(script.lua))));
      const made = (batch = new ScriptedBatch(lua, script.lua, nk, na));
      if (connected) {
        this.scriptedBatch = made;
        process.nextTick(() => this.sendScriptedBatch(made));
      }
    }
    const index = batch.add(
      this.groupKey(group),
      head,
      rest.subarray(0, rest.length - CHANNEL_KEY.length),
      this.nextScore(),
      script.keys,
      script.args,
    );
    if (!connected || batch.size >= MAX_GROUP_BATCH) this.sendScriptedBatch(batch);
    return batch.answer.then(([results, full]) => {
      for (const channel of full[index]!) this.countDrop({ channel, group, reason: 'full' });
      return results[index];
    });
  }

  private sendScriptedBatch(batch: ScriptedBatch | null = this.scriptedBatch): void {
    if (batch === null || batch.sent) return;
    batch.sent = true;
    if (batch === this.scriptedBatch) this.scriptedBatch = null;
    const start = 4 + batch.args.length + 1;
    this.shards[0]!.run(
      (c) =>
        batch.script.run(
          c,
          [...batch.keys, ...batch.preludeKeys],
          [
            Math.floor(this.now) - this.groupExpiry,
            this.prefix,
            this.settings.capacity,
            this.expirySeconds,
            ...batch.args,
            CHANNEL_KEY,
            batch.keys.length,
            batch.nk,
            batch.na,
            ...batch.preludeArgs,
            start,
          ],
        ) as Promise<[unknown[], string[][]]>,
    ).then(batch.resolve, batch.reject);
  }

  /** The batch of this turn's group sends, made (and its sending at the turn's end set) by the first. */
  private turnBatch(): GroupBatch {
    let batch = this.groupBatch;
    if (batch === null) {
      this.sendScriptedBatch(); // the scripted group sends made before this one go first
      const made = (batch = this.groupBatch = new GroupBatch());
      process.nextTick(() => this.sendGroupBatch(made));
    }
    return batch;
  }

  /** Adds one group send to `batch`; the promise settles when Redis has answered for it. */
  private queueGroupSend(batch: GroupBatch, group: string, head: Buffer, rest: Buffer): Promise<void> {
    const index = batch.add(this.groupKey(group), head, rest, this.nextScore());
    return batch.answer.then(
      (full) => {
        for (const channel of full[index]!) this.countDrop({ channel, group, reason: 'full' });
      },
      (err: unknown) => {
        if (!(err instanceof LayerUnavailableError)) throw err;
        this.countDrop({ channel: null, group, reason: failedSendReason(err), error: err as Error });
      },
    );
  }

  /** Sends the group sends waiting in `batch` (by default the current turn's) as one script. */
  private sendGroupBatch(batch: GroupBatch | null = this.groupBatch): void {
    this.sendScriptedBatch(); // open only when no GroupBatch is, so it is the older
    if (batch === null || batch.sent) return;
    batch.sent = true;
    if (batch === this.groupBatch) this.groupBatch = null;
    this.shards[0]!.run((c) =>
      (c as RedisClient & { canalGroupFanout: (...a: unknown[]) => Promise<string[][]> }).canalGroupFanout(
        batch.keys.length,
        ...batch.keys,
        Math.floor(this.now) - this.groupExpiry,
        this.prefix,
        this.settings.capacity,
        this.expirySeconds,
        ...batch.args,
      ),
    ).then(batch.resolve, batch.reject);
  }

  async ping(timeoutMs: number): Promise<void> {
    this.assertOpen();
    await Promise.all(this.shards.map((shard) => shard.ping(timeoutMs)));
  }

  /**
   * Runs `fn` with the command client of the shard that holds `name` (channels_redis' consistent
   * hash, as for groups), under the layer's command timeout: a lost connection fails with
   * ERR_LAYER_UNAVAILABLE. For features that keep keys of their own beside the layer's (group
   * history); they must use keys under `prefix` that the layer never writes.
   */
  runCommand<T>(name: string, fn: (client: RedisClient) => Promise<T>): Promise<T> {
    this.assertOpen();
    return this.shardFor(name).run(fn);
  }

  async flush(): Promise<void> {
    this.assertOpen();
    this.sendGroupBatch();
    this.memberships.clear();
    this.local.clearQueues();
    const pattern = globEscape(this.prefix) + '*';
    type Flushing = RedisClient & { canalFlush: (pattern: string) => Promise<number> };
    await Promise.all(this.shards.map((s) => s.run((c) => (c as Flushing).canalFlush(pattern))));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.sendGroupBatch();
    this.markClosed();
    // Group sends already handed to Redis get their answers (within the command timeout).
    await this.answersDue();
    this.logDrops();
    await Promise.all(this.shards.map((s) => s.close()));
  }

  private groupKey(group: string): string {
    return `${this.prefix}:group:${group}`;
  }

  /** Whole seconds for EXPIRE and the score cut-off (Redis TTLs are whole seconds). */
  private get expirySeconds(): number {
    return Math.max(1, Math.ceil(this.expiry));
  }

  /** A named (not process-local) channel: shared by every reader, each message to one of them. */
  private async receiveNamed(channel: string): Promise<M> {
    const key = this.prefix + channel;
    for (;;) {
      this.assertOpen();
      const shard = this.shards[this.receiveCursor++ % this.shards.length]!;
      let client: RedisClient;
      try {
        client = await shard.blocker();
      } catch (err) {
        if (this.closed) throw new LayerClosedError(`layer closed while receiving on ${channel}`);
        throw err;
      }
      let result: [string, string, string] | null;
      try {
        await shard.run((c) =>
          (c as RedisClient & { canalRestoreInflight: (...a: string[]) => Promise<unknown> }).canalRestoreInflight(
            key,
            key + '$inflight',
          ),
        );
        result = (await client.bzpopminBuffer(key, this.blockTimeout)) as unknown as [string, string, string] | null;
      } catch (err) {
        if (this.closed) throw new LayerClosedError(`layer closed while receiving on ${channel}`);
        throw err instanceof LayerUnavailableError ? err : shard.unavailable(err);
      } finally {
        shard.release(client);
      }
      if (!result) continue;
      const message = this.accept(result[1] as unknown as Buffer, Number(result[2]));
      if (!message) continue;
      delete (message as Record<string, unknown>).__asgi_channel__;
      return message;
    }
  }

  /** Decodes one member; null when it expired unread (counted) or cannot be read (logged). */
  private accept(member: Buffer, score: number): M | null {
    return this.expired(score) ? null : this.decode(member);
  }

  /** Whether a message sent at `score` is past `expiry`; counted as dropped when it is. */
  private expired(score: number): boolean {
    if (this.now - score <= this.expiry) return false;
    this.countDrop({ channel: null, group: null, reason: 'expired' });
    return true;
  }

  /** Decodes one member; null (logged and counted) when it cannot be read. */
  private decode(member: Buffer): M | null {
    try {
      return decodeMessage(member, this.codec) as M;
    } catch (err) {
      log.debug(`dropped a message that could not be decoded: ${(err as Error).message}`);
      this.countDrop({ channel: null, group: null, reason: 'undecodable' });
      return null;
    }
  }

  /** The one receive loop of a shard: runs while any local channel of this process waits. */
  private ensureLoop(index: number, key: string): void {
    if (this.loops.has(index)) return;
    this.loops.add(index);
    const shard = this.shards[index]!;
    const run = async () => {
      let failures = 0;
      while (!this.closed && this.local.readers > 0) {
        let client: RedisClient | undefined;
        try {
          client = await shard.blocker();
          if (this.batchPop !== false) {
            // Redis 7: up to BATCH_POP messages in one blocking round trip.
            let got: [Buffer, [Buffer, Buffer][]] | null;
            try {
              got = (await client.callBuffer('BZMPOP', this.blockTimeout, 1, key, 'MIN', 'COUNT', BATCH_POP)) as
                | [Buffer, [Buffer, Buffer][]]
                | null;
              this.batchPop = true;
            } catch (err) {
              if (this.batchPop === null && /unknown command/i.test((err as Error).message)) {
                this.batchPop = false; // Redis before 7.0: BZPOPMIN, then ZPOPMIN for the rest
                log.debug(`${shard.label} has no BZMPOP (Redis < 7); reading with BZPOPMIN + ZPOPMIN`);
                shard.release(client);
                client = undefined;
                continue;
              }
              throw err;
            }
            shard.release(client);
            client = undefined;
            failures = 0;
            if (!got) continue;
            const popped = got[1];
            for (let i = 0; i < popped.length; i++) this.dispatch(popped[i]![0], Number(popped[i]![1].toString()));
            await afterThisPass();
            continue;
          }
          const first = (await client.bzpopminBuffer(key, this.blockTimeout)) as unknown as
            | [Buffer, Buffer, Buffer]
            | null;
          shard.release(client);
          client = undefined;
          failures = 0;
          if (!first) continue;
          this.dispatch(first[1], Number(first[2].toString()));
          // Whatever else arrived meanwhile comes in one more round trip.
          const rest = (await shard.run((c) => c.zpopminBuffer(key, BATCH_POP - 1))) as unknown as Buffer[];
          for (let i = 0; i < rest.length; i += 2) this.dispatch(rest[i]!, Number(rest[i + 1]!.toString()));
          await afterThisPass();
        } catch (err) {
          if (client) shard.release(client);
          if (this.closed) break;
          failures++;
          log.debug(`receive loop on ${shard.label}: ${(err as Error).message}`);
          // Short and capped, as the clients' reconnection: the loop is back soon after Redis.
          const pause = Math.min(50 * 2 ** Math.min(failures, 5), RECONNECT_MAX_DELAY_MS);
          await new Promise((r) => setTimeout(r, pause).unref());
        }
      }
      this.loops.delete(index);
    };
    run().catch((err) => {
      this.loops.delete(index);
      log.error(`receive loop on ${shard.label} stopped`, err);
    });
  }

  private dispatch(member: Buffer, score: number): void {
    if (this.expired(score)) return;
    // A group message naming the same channels as one before it: its list is not decoded again.
    const known = this.lists?.take(member);
    if (known) {
      this.deliverShared(known.message as M, known.channels);
      return;
    }
    const message = this.decode(member);
    if (!message) return;
    const target = (message as Record<string, unknown>).__asgi_channel__;
    delete (message as Record<string, unknown>).__asgi_channel__;
    if (Array.isArray(target)) {
      const kept = this.lists?.learn(member, message, target as string[], (names) => this.local.ownNames(names));
      this.deliverShared(message, kept ?? (target as string[]));
    } else this.deliverShared(message, typeof target === 'string' ? [target] : []);
  }

  /**
   * After Redis came back: re-adds this process's memberships (a restart without persistence
   * loses them) and removes those no one should have (see removeLater), in one transaction.
   */
  private async restoreMemberships(index: number): Promise<void> {
    const shard = this.shards[index]!;
    const now = this.now;
    let count = 0;
    const multi = shard.client.multi();
    for (const [group, channels] of this.memberships.groups()) {
      if (consistentHash(group, this.shards.length) !== index) continue;
      const key = this.groupKey(group);
      for (const channel of channels) {
        multi.zadd(key, 'NX', now, channel);
        count++;
      }
      multi.expire(key, this.groupExpiry);
    }
    const stale = this.memberships.takeStale((group) => consistentHash(group, this.shards.length) === index);
    for (const { group, channel } of stale) multi.zrem(this.groupKey(group), channel);
    if (count === 0 && stale.length === 0) return;
    await shard.run(() => multi.exec());
    this.memberships.removed(stale);
    if (count > 0) log.info(`restored ${count} group memberships on ${shard.label}`);
  }
}
