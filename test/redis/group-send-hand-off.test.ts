// Both Redis layers' groupSend returns once its command is handed to a connected client,
// without waiting for Redis to answer, so a consumer sending one group message per frame is
// not held to one Redis round trip per frame. Order is kept, nothing is lost, close() waits for
// the answers, and past MAX_UNANSWERED_GROUP_SENDS a sender waits (back-pressure). A paused
// Redis (CLIENT PAUSE) makes the difference visible.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisPubSubChannelLayer } from '../../src/layers/redis/pubsub-layer.ts';
import { RedisChannelLayer } from '../../src/layers/redis/redis-layer.ts';
import { MAX_UNANSWERED_GROUP_SENDS } from '../../src/layers/remote-layer.ts';
import { OwnRedis, within } from './helpers.ts';

const redis = new OwnRedis();
before(() => redis.start());
after(() => redis.stop());

const layers = {
  'redis-pubsub': (url: string) =>
    new RedisPubSubChannelLayer({ hosts: [url], commandTimeoutMs: 5000, capacity: 2000 }),
  redis: (url: string) => new RedisChannelLayer({ hosts: [url], commandTimeoutMs: 5000, capacity: 2000 }),
};

for (const [name, make] of Object.entries(layers)) {
  describe(`${name} groupSend`, () => {
    it('returns before Redis answers, keeps the order, loses nothing, and close() waits for the answers', async () => {
      const layer = make(redis.url);
      const admin = new Redis(redis.url);
      try {
        const member = await layer.newChannel();
        await layer.groupAdd('room', member);
        await layer.groupSend('room', { type: 'm', n: -1 }); // connections warm
        assert.equal((await within(layer.receive(member), 3000, 'the first message')).n, -1);

        await admin.call('CLIENT', 'PAUSE', '600', 'ALL');
        const started = performance.now();
        for (let n = 0; n < 10; n++) await layer.groupSend('room', { type: 'm', n });
        const elapsed = performance.now() - started;
        assert.ok(
          elapsed < 300,
          `10 group sends to a paused Redis took ${elapsed.toFixed(0)} ms; they should not wait for its answers`,
        );

        const got: number[] = [];
        for (let i = 0; i < 10; i++) got.push((await within(layer.receive(member), 5000, `message ${i}`)).n as number);
        assert.deepEqual(got, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert.equal(layer.stats().dropped, 0);

        await admin.call('CLIENT', 'PAUSE', '300', 'ALL');
        await layer.groupSend('room', { type: 'm', n: 10 });
        const closing = performance.now();
        await within(layer.close(), 5000, 'close()');
        assert.ok(performance.now() - closing > 150, 'close() waited for the unanswered group send');
        assert.equal(layer.stats().dropped, 0, 'the group send in flight at close() was answered, not dropped');
      } finally {
        admin.disconnect();
        await layer.close();
      }
    });

    it(`waits for Redis once ${MAX_UNANSWERED_GROUP_SENDS} group sends are unanswered`, async () => {
      const layer = make(redis.url);
      const admin = new Redis(redis.url);
      try {
        const member = await layer.newChannel();
        await layer.groupAdd('room', member);
        await layer.groupSend('room', { type: 'm', n: -1 });
        assert.equal((await within(layer.receive(member), 3000, 'the first message')).n, -1);

        await admin.call('CLIENT', 'PAUSE', '700', 'ALL');
        const started = performance.now();
        const count = MAX_UNANSWERED_GROUP_SENDS + 5;
        for (let n = 0; n < count; n++) await layer.groupSend('room', { type: 'm', n });
        const elapsed = performance.now() - started;
        assert.ok(
          elapsed > 400,
          `${count} group sends to a paused Redis returned after ${elapsed.toFixed(0)} ms; ` +
            'the last ones should have waited for its answers',
        );
        for (let i = 0; i < count; i++) assert.equal((await within(layer.receive(member), 5000, `message ${i}`)).n, i);
        assert.equal(layer.stats().dropped, 0);
      } finally {
        admin.disconnect();
        await layer.close();
      }
    });
  });
}
