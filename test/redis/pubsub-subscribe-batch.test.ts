// The pub/sub layer subscribes the channels asked for together in one SUBSCRIBE: many
// consumers connecting at once (a reconnect storm) cost Redis one command, and every channel
// still gets its messages. Runs on a redis-server of its own, so the command count is its alone.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisPubSubChannelLayer } from '../../src/layers/redis/pubsub-layer.js';
import { OwnRedis, within } from './helpers.js';

const redis = new OwnRedis();
let admin: Redis;

before(async () => {
  await redis.start();
  admin = new Redis(redis.url);
});
after(async () => {
  admin?.disconnect();
  await redis.stop();
});

async function subscribeCalls(): Promise<number> {
  const info = await admin.info('commandstats');
  return Number(/cmdstat_subscribe:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

it('channels asked for at once are subscribed with one SUBSCRIBE, and each gets its messages', async () => {
  const layer = new RedisPubSubChannelLayer({ hosts: [redis.url], prefix: 'batch' });
  try {
    await layer.newChannel(); // connects the subscriber
    const before = await subscribeCalls();
    const channels = await within(Promise.all(Array.from({ length: 300 }, () => layer.newChannel())), 10_000, '300 newChannel()');
    assert.equal((await subscribeCalls()) - before, 1, 'one SUBSCRIBE for the 300 channels');
    assert.equal(Number(await admin.pubsub('NUMSUB', channels[0]!).then((r) => (r as [string, number])[1])), 1);
    for (const c of [channels[0]!, channels[150]!, channels[299]!]) {
      await layer.send(c, { type: 'hello', to: c });
      assert.deepEqual(await within(layer.receive(c), 5000, `a message on ${c}`), { type: 'hello', to: c });
    }
  } finally {
    await layer.close();
  }
});
