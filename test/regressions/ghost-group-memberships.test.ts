// Regression: a groupAdd that failed while Redis was away left its membership behind. The core
// layer recorded it before Redis answered and kept it after the failure: every reconnect added
// it back to Redis (for groupExpiry, 24 h), so 20 connects refused during an outage came back as
// 21 members of the room. A consumer that ended without leaving its group (refused, or ended by
// a failed layer call) left its membership too. The pub/sub layer kept such members locally and
// buffered group messages for channels nobody reads. A failed join leaves nothing, and a
// consumer's end takes its memberships with it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisChannelLayer } from '../../src/layers/redis/redis-layer.ts';
import { RedisPubSubChannelLayer } from '../../src/layers/redis/pubsub-layer.ts';
import type { DropEvent } from '../../src/layers/remote-layer.ts';
import { configureChannelLayers, resetChannelLayers } from '../../src/layers/registry.ts';
import { WebsocketConsumer } from '../../src/consumers/websocket-consumer.ts';
import { WebsocketCommunicator } from '../../src/testing/index.ts';
import { OwnRedis, until, within } from '../redis/helpers.ts';

const redis = new OwnRedis();
let admin: Redis;
before(async () => {
  await redis.start();
  admin = new Redis(redis.url);
  admin.on('error', () => {}); // it reconnects by itself after each outage
});
after(async () => {
  admin.disconnect();
  await redis.stop();
});

/** Stops Redis, runs `during`, starts it again (empty: no persistence). */
async function outage(during: () => Promise<void>): Promise<void> {
  await redis.stop();
  try {
    await during();
  } finally {
    await redis.start();
  }
}

const members = (prefix: string, group: string): Promise<string[]> =>
  admin.zrange(`${prefix}:group:${group}`, '0', '-1');
const core = (prefix: string) =>
  new RedisChannelLayer({ hosts: [redis.url], prefix, commandTimeoutMs: 300, blockTimeout: 1 });
const pubsub = (prefix: string) =>
  new RedisPubSubChannelLayer({ hosts: [redis.url], prefix, capacity: 2, commandTimeoutMs: 300 });

describe('core layer', () => {
  it('20 groupAdd calls that fail during an outage leave no member; the one that succeeded is restored', async () => {
    const layer = core('ghost1');
    try {
      const kept = await layer.newChannel();
      await layer.groupAdd('room', kept);
      const refused = await Promise.all(Array.from({ length: 20 }, () => layer.newChannel()));
      const back = new Promise((resolve) => layer.once('reconnect', resolve));
      await outage(async () => {
        const results = await Promise.allSettled(refused.map((c) => layer.groupAdd('room', c)));
        const codes = results.map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : 'joined'));
        assert.deepEqual(new Set(codes), new Set(['ERR_LAYER_UNAVAILABLE']));
      });
      await within(back, 5000, 'the reconnect');
      await until(async () => (await members('ghost1', 'room')).length > 0, 'the memberships to be restored');
      await new Promise((r) => setTimeout(r, 200)); // anything else restored would be there by now
      assert.deepEqual(await members('ghost1', 'room'), [kept]);
    } finally {
      await layer.close();
    }
  });

  it('a groupAdd that Redis carries out after the call timed out is undone', async () => {
    const layer = core('ghost2');
    try {
      const channel = await layer.newChannel();
      await layer.groupSend('warm', { type: 'warm' }); // connected
      await admin.call('CLIENT', 'PAUSE', '800', 'WRITE');
      await assert.rejects(layer.groupAdd('room', channel), (err: Error & { code?: string; unconfirmed?: boolean }) => {
        assert.equal(err.code, 'ERR_LAYER_UNAVAILABLE');
        assert.equal(err.unconfirmed, true, 'the command was written: Redis may still carry it out');
        return true;
      });
      // The pause ends: Redis runs the ZADD it held, then the layer's removal.
      await new Promise((r) => setTimeout(r, 1200));
      await until(async () => (await members('ghost2', 'room')).length === 0, 'the late membership to go', 3000);
    } finally {
      await admin.call('CLIENT', 'UNPAUSE');
      await layer.close();
    }
  });

  it('consumers refused or ended by a failed layer call during an outage leave no membership', async () => {
    class Room extends WebsocketConsumer {
      override async connect(): Promise<void> {
        await this.channelLayer.groupAdd('lobby', this.channelName);
        await this.accept();
        await this.send(this.channelName);
      }
      override async receive(): Promise<void> {
        await this.channelLayer.send('jobs', { type: 'job' }); // raises while Redis is away
      }
      override async disconnect(): Promise<void> {
        await this.channelLayer.groupDiscard('lobby', this.channelName);
      }
    }
    const options = { hosts: [redis.url], prefix: 'ghost3', commandTimeoutMs: 300, blockTimeout: 1 };
    configureChannelLayers({ default: { backend: 'redis', options } });
    const app = Room.asApp();
    const open = async () => {
      const c = new WebsocketCommunicator(app, '/ws/');
      assert.equal((await c.connect(3000)).connected, true);
      return { c, name: (await c.receiveFrom(3000)) as string };
    };
    try {
      const stays = await open();
      const ends = await open();
      assert.deepEqual((await members('ghost3', 'lobby')).sort(), [stays.name, ends.name].sort());
      await outage(async () => {
        for (let i = 0; i < 20; i++) {
          const c = new WebsocketCommunicator(app, '/ws/');
          await assert.rejects(c.connect(3000), { code: 'ERR_LAYER_UNAVAILABLE' }, 'refused: its groupAdd failed');
        }
        await ends.c.sendTo('go');
        await assert.rejects(ends.c.wait(3000), { code: 'ERR_LAYER_UNAVAILABLE' }, 'ended by the failed send');
      });
      await until(async () => (await members('ghost3', 'lobby')).length > 0, 'the memberships to be restored');
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(await members('ghost3', 'lobby'), [stays.name]);
      await stays.c.disconnect();
      await until(async () => (await members('ghost3', 'lobby')).length === 0, 'the last member to leave');
    } finally {
      await resetChannelLayers();
    }
  });
});

describe('pub/sub layer', () => {
  /** The member channels group messages were buffered or refused for: a reader-less channel overflows. */
  async function overflowed(layer: RedisPubSubChannelLayer, group: string, reader: string): Promise<string[]> {
    const drops: DropEvent[] = [];
    layer.on('drop', (e: DropEvent) => drops.push(e));
    const got: number[] = [];
    layer.listen(reader, (m) => (got.push(m.n as number), true));
    for (let n = 1; n <= 3; n++) await layer.groupSend(group, { type: 't', n });
    await until(() => got.length === 3, 'the reader to get the three messages');
    await new Promise((r) => setTimeout(r, 100));
    return drops.filter((d) => d.reason === 'overflow').map((d) => d.channel!);
  }

  it('groupAdd calls that fail during an outage leave no local member', async () => {
    const layer = pubsub('ghost4');
    try {
      const refused = await Promise.all(Array.from({ length: 20 }, () => layer.newChannel()));
      await outage(async () => {
        const results = await Promise.allSettled(refused.map((c) => layer.groupAdd('room', c)));
        assert.ok(results.every((r) => r.status === 'rejected'));
      });
      const reader = await eventually(() => layer.newChannel());
      await eventually(() => layer.send('nobody', { type: 'probe' })); // both connections are back
      await layer.groupAdd('room', reader);
      assert.deepEqual(await overflowed(layer, 'room', reader), [], 'no message was kept for a refused channel');
    } finally {
      await layer.close();
    }
  });

  it('a channel discarded without leaving its group is no longer a member', async () => {
    const layer = pubsub('ghost5');
    try {
      const [gone, reader] = [await layer.newChannel(), await layer.newChannel()];
      await layer.groupAdd('room', gone);
      await layer.groupAdd('room', reader);
      layer.discardChannel(gone); // its consumer ended without groupDiscard
      assert.deepEqual(await overflowed(layer, 'room', reader), []);
    } finally {
      await layer.close();
    }
  });
});

/** What `fn` gives once it stops failing (Redis is back). */
async function eventually<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 8000;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
