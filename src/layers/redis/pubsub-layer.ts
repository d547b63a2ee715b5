// RedisPubSubChannelLayer: the `redis-pubsub` backend, byte-compatible with channels_redis'
// pub/sub layer. Nothing is stored in Redis: a send is one PUBLISH on the channel's name, a
// group send one PUBLISH on `<prefix>__group__<group>`, and each process fans a group message
// out to its own member channels. A process subscribes to a group when its first channel joins
// and unsubscribes when the last one leaves.
//
// What it adds to channels_redis' pub/sub layer: the local queues are bounded by `capacity`
// and `expiry` with every drop counted; after a reconnect every subscription is restored
// (ioredis resubscribes) and a `reconnect` event says how long Redis was away, since messages
// published meanwhile are gone. Differences from the core layer, by the nature of pub/sub: a
// named channel read by several processes gives each of them every message (not one reader),
// a message sent while nobody is subscribed is lost, and `send` cannot see the reader's queue,
// so it never raises ChannelFull (overflow is counted on the receiving side).
import { randomUUID } from 'node:crypto';
import type { Redis as RedisClient } from 'ioredis';
import { CanalError, InvalidOptionError, LayerUnavailableError } from '../../errors.ts';
import { createLogger } from '../../logging.ts';
import type { ChannelLayer, LayerBackend, LayerExtension, LayerMessage } from '../types.ts';
import { consistentHash } from './consistent-hash.ts';
import { packedMapParts, packMessage, unpackMessage } from './codec.ts';
import { redisClass, Shard } from './connection.ts';
import { keyAccess, REDIS_KEY_ACCESS, type RedisKeyAccess } from './key-access.ts';
import { CachedScript, scriptedPublish } from './lua.ts';
import { clientOptions, parseHosts, type HostSpec, type RedisHost } from './hosts.ts';
import { parseLayerOptions, type BaseLayerOptions } from '../base-layer.ts';
import { checkMessage } from '../message-check.ts';
import { checkChannelName, checkChannelPrefix, checkGroupName, MAX_NAME_LENGTH } from '../names.ts';
import { failedSendReason, RemoteLayer, type RemoteLayerStats } from '../remote-layer.ts';

const log = createLogger('layer:redis-pubsub');

export interface RedisPubSubChannelLayerOptions extends BaseLayerOptions {
  /** @default ['redis://localhost:6379'] */
  hosts?: readonly RedisHost[];
  /** Prefix of channel names made by newChannel() and of group channels. @default 'asgi' */
  prefix?: string;
  /** How long a call waits for Redis before failing with ERR_LAYER_UNAVAILABLE. @default 2000 */
  commandTimeoutMs?: number;
}

export interface RedisPubSubLayerStats extends RemoteLayerStats {
  /**
   * Messages PUBLISHed while no process was subscribed to their channel: nobody got them. An
   * empty group counts too; a group whose members' processes were reconnecting to Redis is a loss.
   */
  unheard: number;
}

/** The longest prefix that keeps newChannel()'s names (`<prefix>specific.<32-character id>`) valid. */
export const MAX_PUBSUB_PREFIX = MAX_NAME_LENGTH - 1 - 'specific.'.length - 32;

/**
 * The `prefix` option, checked. It begins channel names, so it must keep them valid: one that
 * cannot (a ':', a space) is refused here, rather than failing every newChannel() later.
 */
export function checkPubSubPrefix(value: unknown): string {
  if (value === undefined) return 'asgi';
  if (typeof value !== 'string') {
    throw new InvalidOptionError(`prefix must be a string such as 'asgi', not ${JSON.stringify(value)}`);
  }
  if (!/^[A-Za-z0-9._-]*$/.test(value) || value.length > MAX_PUBSUB_PREFIX) {
    throw new InvalidOptionError(
      `prefix ${JSON.stringify(value)} cannot begin channel names (newChannel() gives ${value}specific.<id>): ` +
        `use ASCII letters, digits, '-', '_' and '.', at most ${MAX_PUBSUB_PREFIX} characters, e.g. 'asgi' or 'myapp.'`,
    );
  }
  return value;
}

/** groupAdd with a channel that this process does not read. */
export class NotLocalChannelError extends CanalError {
  constructor(message: string) {
    super('ERR_NOT_LOCAL_CHANNEL', message);
  }
}

interface PubSubShard {
  commands: Shard;
  subscriber: RedisClient;
  subscribed: Map<string, Promise<unknown>>;
  /** Names waiting for the one SUBSCRIBE that will carry them all (while the client is readied). */
  batch: { names: string[]; done: Promise<unknown> } | null;
}

/** The `redis-pubsub` backend. The Redis client library is loaded when a layer is made, not before. */
export const redisPubSubBackend: LayerBackend = {
  name: 'redis-pubsub',
  optionKeys: ['hosts', 'prefix', 'commandTimeoutMs'],
  check(options) {
    const { hosts, ...rest } = options as { hosts?: [] };
    parseHosts(hosts);
    parseLayerOptions(rest, redisPubSubBackend.optionKeys);
    checkPubSubPrefix((rest as { prefix?: unknown }).prefix);
  },
  make: (options) => new RedisPubSubChannelLayer(options),
};

export class RedisPubSubChannelLayer<M extends LayerMessage = LayerMessage>
  extends RemoteLayer<M>
  implements ChannelLayer<M>
{
  readonly extensions: readonly LayerExtension[] = ['groups', 'flush'];
  readonly prefix: string;
  private readonly shards: PubSubShard[];
  /** group channel name -> local member channel -> join time (ms) */
  private readonly groups = new Map<string, Map<string, number>>();
  /** local member channel -> its group channel names (for discardChannel) */
  private readonly memberOf = new Map<string, Set<string>>();
  /** channels of this process that are subscribed */
  private readonly channels = new Set<string>();
  private unheard = 0;

  constructor(options: RedisPubSubChannelLayerOptions = {}) {
    super(redisPubSubBackend.name, options, redisPubSubBackend.optionKeys);
    try {
      this.prefix = checkPubSubPrefix(options.prefix);
    } catch (err) {
      throw new InvalidOptionError(`redis-pubsub layer: ${(err as Error).message}`);
    }
    const waitMs = options.commandTimeoutMs ?? 2000;
    this.shards = parseHosts(options.hosts).map((spec) => this.makeShard(spec, waitMs));
  }

  private makeShard(spec: HostSpec, waitMs: number): PubSubShard {
    const commands = new Shard(spec, waitMs);
    const subscriber: RedisClient = new (redisClass())(
      clientOptions(spec, { autoResubscribe: true, enableAutoPipelining: false }),
    );
    subscriber.on('error', (err) => log.debug(`${spec.label} (subscriber): ${err.message}`));
    let downSince = 0;
    subscriber.on('close', () => {
      if (!downSince && !this.closed) downSince = Date.now();
    });
    subscriber.on('ready', () => {
      if (!downSince) return;
      const downMs = Date.now() - downSince;
      downSince = 0;
      log.warn(`subscriptions on ${spec.label} restored after ${downMs} ms; messages published meanwhile are lost`);
      this.emit('reconnect', { host: spec.label, downMs });
    });
    subscriber.on('messageBuffer', (channel: Buffer, payload: Buffer) =>
      this.onMessage(channel.toString('utf8'), payload),
    );
    return { commands, subscriber, subscribed: new Map(), batch: null };
  }

  private shardFor(name: string): PubSubShard {
    return this.shards[consistentHash(name, this.shards.length)]!;
  }

  /** The command clients, for keys of Canal's own (presence); this layer itself keeps none. */
  [REDIS_KEY_ACCESS](): RedisKeyAccess {
    return keyAccess(
      this.prefix,
      this.shards.map((s) => s.commands),
    );
  }

  private groupChannel(group: string): string {
    return `${this.prefix}__group__${group}`;
  }

  private async subscribe(name: string): Promise<void> {
    const shard = this.shardFor(name);
    let pending = shard.subscribed.get(name);
    if (!pending) {
      pending = this.subscribeInBatch(shard, name);
      shard.subscribed.set(name, pending);
      pending.catch(() => shard.subscribed.delete(name));
    }
    try {
      await pending;
    } catch (err) {
      throw err instanceof LayerUnavailableError ? err : shard.commands.unavailable(err);
    }
  }

  /**
   * Subscribes `name` together with every other name asked for before the subscriber client is
   * ready to take the command (a microtask when it is connected; the whole wait while it
   * reconnects): 1000 consumers connecting at once make one SUBSCRIBE, not 1000.
   */
  private subscribeInBatch(shard: PubSubShard, name: string): Promise<unknown> {
    // While Redis is known to be away, a join fails at once, as the core layer's does.
    if (shard.subscriber.status !== 'ready' && shard.commands.down) return Promise.reject(shard.commands.unavailable());
    let batch = shard.batch;
    if (batch === null) {
      const names: string[] = [];
      const done = shard.commands.ready(shard.subscriber).then(
        (c) => {
          if (shard.batch?.names === names) shard.batch = null;
          return c.subscribe(...names);
        },
        (err: unknown) => {
          if (shard.batch?.names === names) shard.batch = null;
          throw err;
        },
      );
      batch = shard.batch = { names, done };
    }
    batch.names.push(name);
    return batch.done;
  }

  private async unsubscribe(name: string): Promise<void> {
    const shard = this.shardFor(name);
    if (!shard.subscribed.delete(name)) return;
    if (shard.subscriber.status === 'ready') {
      await shard.subscriber
        .unsubscribe(name)
        .catch((err: Error) => log.debug(`unsubscribing ${name} failed: ${err.message}`));
    }
  }

  private onMessage(channel: string, payload: Buffer): void {
    let message: M;
    try {
      message = unpackMessage(payload) as M;
    } catch (err) {
      log.debug(`dropped an unreadable message on ${channel}: ${(err as Error).message}`);
      this.countDrop({ channel, group: null, reason: 'undecodable' });
      return;
    }
    const members = this.groups.get(channel);
    if (!members) {
      if (this.channels.has(channel)) this.deliverShared(message, [channel]);
      return;
    }
    const cutoff = Date.now() - this.groupExpiry * 1000;
    const live: string[] = [];
    for (const [member, joined] of members) {
      if (joined < cutoff) this.leave(channel, member);
      else live.push(member);
    }
    this.deliverShared(message, live);
  }

  async send(channel: string, message: M): Promise<void> {
    this.assertOpen();
    checkChannelName(channel);
    checkMessage(message, this.settings.maxMessageBytes, 'send');
    const payload = packMessage(message);
    const heard = await this.shardFor(channel).commands.run((c) => c.publish(channel, payload));
    if (heard === 0) this.unheard++;
    this.countSent();
  }

  async receive(channel: string): Promise<M> {
    this.assertOpen();
    checkChannelName(channel);
    // The receiver joins the line only once the channel is subscribed: one whose SUBSCRIBE
    // failed must not stay first in line, to take the next message with nobody awaiting it.
    // What comes meanwhile is buffered (the channel is this process's from now on).
    this.channels.add(channel);
    try {
      await this.subscribe(channel);
    } catch (err) {
      this.channels.delete(channel);
      throw err;
    }
    this.assertOpen();
    return this.local.receive(channel);
  }

  /** Push delivery for a channel this process reads (see the layer contract). */
  listen(channel: string, onMessage: (message: M) => boolean): () => void {
    this.assertOpen();
    checkChannelName(channel);
    const stop = this.local.listen(channel, onMessage);
    if (!this.channels.has(channel)) {
      this.channels.add(channel);
      this.subscribe(channel).catch((err) => log.warn(`subscribing ${channel} failed: ${(err as Error).message}`));
    }
    return stop;
  }

  async newChannel(prefix = 'specific.'): Promise<string> {
    this.assertOpen();
    checkChannelPrefix(prefix);
    const name = `${this.prefix}${prefix}${randomUUID().replace(/-/g, '')}`;
    checkChannelName(name);
    this.channels.add(name);
    try {
      await this.subscribe(name);
    } catch (err) {
      this.channels.delete(name); // nobody will have it
      throw err;
    }
    return name;
  }

  async groupAdd(group: string, channel: string): Promise<void> {
    this.assertOpen();
    checkGroupName(group);
    checkChannelName(channel);
    if (!this.channels.has(channel)) {
      throw new NotLocalChannelError(
        `groupAdd(${JSON.stringify(group)}, ${JSON.stringify(channel)}): the pub/sub layer can only add channels ` +
          "this process reads — use a channel from newChannel() (a consumer's this.channelName)",
      );
    }
    const name = this.groupChannel(group);
    let members = this.groups.get(name);
    if (!members) this.groups.set(name, (members = new Map()));
    const member = members.has(channel);
    members.set(channel, Date.now());
    let groups = this.memberOf.get(channel);
    if (!groups) this.memberOf.set(channel, (groups = new Set()));
    groups.add(name);
    try {
      await this.subscribe(name);
    } catch (err) {
      // A failed join leaves no member behind, unless it was one already.
      if (!member) this.leave(name, channel);
      throw err;
    }
  }

  /** Takes `channel` out of the group channel `name`; true when the group has no members left. */
  private leave(name: string, channel: string): boolean {
    const members = this.groups.get(name);
    if (!members?.delete(channel)) return false;
    const groups = this.memberOf.get(channel);
    if (groups?.delete(name) && groups.size === 0) this.memberOf.delete(channel);
    if (members.size > 0) return false;
    this.groups.delete(name);
    return true;
  }

  async groupDiscard(group: string, channel: string): Promise<void> {
    this.assertOpen();
    checkGroupName(group);
    checkChannelName(channel);
    const name = this.groupChannel(group);
    if (this.leave(name, channel)) await this.unsubscribe(name);
  }

  /**
   * Runs `fn` with the command client of the shard that holds `name` (consistent hash), under
   * the layer's command timeout: a lost connection fails with ERR_LAYER_UNAVAILABLE. For
   * features that keep keys of their own in Redis (group history); this layer stores none.
   */
  runCommand<T>(name: string, fn: (client: RedisClient) => Promise<T>): Promise<T> {
    this.assertOpen();
    return this.shardFor(name).commands.run(fn);
  }

  async groupSend(group: string, message: M): Promise<void> {
    this.assertOpen();
    checkGroupName(group);
    checkMessage(message, this.settings.maxMessageBytes, 'groupSend');
    this.countGroupSend();
    const name = this.groupChannel(group);
    const payload = packMessage(message);
    const commands = this.shardFor(name).commands;
    const connected = commands.client.status === 'ready';
    // A failed PUBLISH is counted, whenever it fails: `unavailable` when it was never sent,
    // `unconfirmed` when it was and no answer came (it may have been delivered).
    const sent = commands
      .run((c) => c.publish(name, payload))
      .then(
        (heard: number): void => {
          if (heard === 0) this.unheard++;
        },
        (err: Error): void => this.countDrop({ channel: null, group, reason: failedSendReason(err), error: err }),
      );
    // Redis is away: fail fast, and the drop is counted before groupSend returns.
    if (!connected) return sent;
    // Connected: the PUBLISH is queued on the connection and groupSend returns without waiting
    // for Redis to answer. A consumer that sends a group message per frame then handles its next
    // frame at once, so messages that arrive together are published together and reach every
    // member together (one write per member for several frames). Order is the connection's
    // order; a failure is counted as a drop, as it would have been anyway.
    return this.handOff(sent, group);
  }

  /** The scripts made by groupSendScripted, by prelude. */
  private readonly scripted = new Map<string, CachedScript>();

  /**
   * A group send (one PUBLISH) with a step of the caller's run first in the same script, which
   * writes the message's last `fields.length` entries (see the core layer's groupSendScripted).
   * Null with several hosts (the step's keys and the group's channel may be on different ones).
   * Rejects with ERR_LAYER_UNAVAILABLE when Redis is away, instead of counting a drop.
   */
  groupSendScripted(
    group: string,
    message: M,
    fields: readonly string[],
    script: { lua: string; keys: readonly string[]; args: readonly (string | number | Buffer)[] },
  ): Promise<unknown> | null {
    this.assertOpen();
    checkGroupName(group);
    if (this.shards.length !== 1) return null;
    for (const field of fields) {
      if (Object.hasOwn(message, field)) throw new InvalidOptionError(`groupSendScripted: the message has ${field}`);
    }
    checkMessage(message, this.settings.maxMessageBytes, 'groupSend');
    this.countGroupSend();
    const { header, entries } = packedMapParts(message, fields.length);
    let lua = this.scripted.get(script.lua);
    if (lua === undefined) this.scripted.set(script.lua, (lua = new CachedScript(scriptedPublish(script.lua))));
    const scripted = lua;
    return this.shards[0]!.commands.run(
      (c) =>
        scripted.run(c, script.keys, [
          this.groupChannel(group),
          Buffer.concat([header, entries]),
          ...script.args,
        ]) as Promise<[unknown, number]>,
    ).then(([result, heard]) => {
      if (heard === 0) this.unheard++;
      return result;
    });
  }

  override stats(): RedisPubSubLayerStats {
    return { ...super.stats(), unheard: this.unheard };
  }

  /**
   * The channel's reader has gone for good: besides its buffer and subscription, the channel
   * leaves the groups it is still in (a consumer that ended without leaving them, refused or
   * ended by an error), so no group message is kept for it.
   */
  override discardChannel(channel: string): void {
    super.discardChannel(channel);
    if (this.channels.delete(channel))
      this.unsubscribe(channel).catch((err: Error) => log.debug(`unsubscribing ${channel} failed: ${err.message}`));
    const groups = this.memberOf.get(channel);
    if (!groups) return;
    for (const name of [...groups]) {
      if (!this.leave(name, channel)) continue;
      this.unsubscribe(name).catch((err: Error) => log.debug(`unsubscribing ${name} failed: ${err.message}`));
    }
  }

  async flush(): Promise<void> {
    this.assertOpen();
    this.local.clearQueues();
    const names = [...this.groups.keys()];
    this.groups.clear();
    this.memberOf.clear();
    await Promise.all(names.map((n) => this.unsubscribe(n)));
  }

  async ping(timeoutMs: number): Promise<void> {
    this.assertOpen();
    await Promise.all(this.shards.map((shard) => shard.commands.ping(timeoutMs)));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.markClosed();
    // Group sends already handed to Redis get their answers (within the command timeout).
    await this.answersDue();
    this.logDrops();
    for (const shard of this.shards) {
      shard.subscriber.disconnect(false);
      await shard.commands.close();
    }
  }
}
