// Push delivery (listen) on both Redis layers: a consumer's channel gets group messages without
// a receive() per message; a full reader's messages are counted as dropped.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { RedisChannelLayer } from '../../src/layers/redis/redis-layer.ts';
import { RedisPubSubChannelLayer } from '../../src/layers/redis/pubsub-layer.ts';
import { REDIS_URL, redisFixture } from './helpers.ts';

const prefix = redisFixture().prefix();

for (const [name, make] of [
  ['redis', () => new RedisChannelLayer({ hosts: [REDIS_URL], prefix, blockTimeout: 1 })],
  ['redis-pubsub', () => new RedisPubSubChannelLayer({ hosts: [REDIS_URL], prefix })],
] as const) {
  it(`${name}: listen() receives group messages; a full reader's are dropped and counted`, async () => {
    const layer = make();
    try {
      const [a, b] = [await layer.newChannel(), await layer.newChannel()];
      const got: unknown[] = [];
      layer.listen(a, (m) => (got.push(m.n), true));
      layer.listen(b, () => false);
      await layer.groupAdd('listen-g', a);
      await layer.groupAdd('listen-g', b);
      await new Promise((r) => setTimeout(r, 200));
      for (let n = 1; n <= 3; n++) await layer.groupSend('listen-g', { type: 't', n });
      const deadline = Date.now() + 5000;
      while (got.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(got, [1, 2, 3]);
      assert.equal(layer.stats().overflow, 3, 'the full reader refused all three');
      assert.throws(() => layer.listen(a, () => true), { code: 'ERR_INVALID_OPTION' }, 'one reader per channel');
    } finally {
      await layer.close();
    }
  });
}
