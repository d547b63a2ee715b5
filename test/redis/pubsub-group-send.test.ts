// The pub/sub layer's groupSend returns once its PUBLISH is queued on a connected client,
// without waiting for Redis to answer, so a consumer sending one group message per frame is
// not held to one Redis round trip per frame. Order is kept, nothing is lost, close() waits for
// the answers. A paused Redis (CLIENT PAUSE) makes the difference visible.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisPubSubChannelLayer } from '../../src/layers/redis/pubsub-layer.js';
import { OwnRedis, within } from './helpers.js';

const redis = new OwnRedis();
before(() => redis.start());
after(() => redis.stop());

it('returns before Redis answers, keeps the order, loses nothing, and close() waits for the answers', async () => {
  const layer = new RedisPubSubChannelLayer({ hosts: [redis.url], commandTimeoutMs: 5000 });
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
    assert.ok(elapsed < 300, `10 group sends to a paused Redis took ${elapsed.toFixed(0)} ms; they should not wait for its answers`);

    const got: number[] = [];
    for (let i = 0; i < 10; i++) got.push((await within(layer.receive(member), 5000, `message ${i}`)).n as number);
    assert.deepEqual(got, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(layer.stats().dropped, 0);

    await admin.call('CLIENT', 'PAUSE', '300', 'ALL');
    await layer.groupSend('room', { type: 'm', n: 10 });
    const closing = performance.now();
    await within(layer.close(), 5000, 'close()');
    assert.ok(performance.now() - closing > 150, 'close() waited for the unanswered PUBLISH');
    assert.equal(layer.stats().dropped, 0, 'the PUBLISH in flight at close() was answered, not dropped');
  } finally {
    admin.disconnect();
    await layer.close();
  }
});
