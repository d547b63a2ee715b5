// The pub/sub layer subscribes the channels asked for together in one SUBSCRIBE: many
// consumers connecting at once (a reconnect storm) cost Redis one command, and every channel
// still gets its messages. Runs on a redis-server of its own, so the command count is its alone.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { RedisPubSubChannelLayer } from '../../src/layers/redis/pubsub-layer.ts';
import { ownRedisFixture, within } from './helpers.ts';

const redis = ownRedisFixture();
const subscribeCalls = () => redis.commandCalls('subscribe');

it('channels asked for at once are subscribed with one SUBSCRIBE, and each gets its messages', async () => {
  const layer = new RedisPubSubChannelLayer({ hosts: [redis.url], prefix: 'batch' });
  try {
    await layer.newChannel(); // connects the subscriber
    const before = await subscribeCalls();
    const channels = await within(
      Promise.all(Array.from({ length: 300 }, () => layer.newChannel())),
      10_000,
      '300 newChannel()',
    );
    assert.equal((await subscribeCalls()) - before, 1, 'one SUBSCRIBE for the 300 channels');
    assert.equal(Number(await redis.admin.pubsub('NUMSUB', channels[0]!).then((r) => (r as [string, number])[1])), 1);
    for (const c of [channels[0]!, channels[150]!, channels[299]!]) {
      await layer.send(c, { type: 'hello', to: c });
      assert.deepEqual(await within(layer.receive(c), 5000, `a message on ${c}`), { type: 'hello', to: c });
    }
  } finally {
    await layer.close();
  }
});
