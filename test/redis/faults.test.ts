// Living through Redis outages: a redis-server of the test's own is killed and started again.
// Calls during the outage fail fast with ERR_LAYER_UNAVAILABLE (groupSend counts drops),
// nothing hangs, and afterwards everything works without a new layer — group memberships of
// live channels included, though the restarted Redis (no persistence) lost them.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RedisChannelLayer } from '../../src/layers/redis/redis-layer.ts';
import { RedisPubSubChannelLayer } from '../../src/layers/redis/pubsub-layer.ts';
import { OwnRedis, within } from './helpers.ts';

async function eventually<T>(fn: () => Promise<T>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await fn();
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${what} did not succeed within ${ms} ms: ${(last as Error)?.message}`);
}

describe('core layer through a Redis restart', () => {
  const redis = new OwnRedis();
  before(() => redis.start());
  after(() => redis.stop());

  it('fails fast while down, recovers with memberships restored', async () => {
    const layer = new RedisChannelLayer({ hosts: [redis.url], commandTimeoutMs: 500, blockTimeout: 1 });
    const reconnects: unknown[] = [];
    layer.on('reconnect', (e) => reconnects.push(e));
    try {
      const a = await layer.newChannel();
      await layer.groupAdd('room', a);
      await layer.groupSend('room', { type: 'm', n: 1 });
      assert.equal((await within(layer.receive(a), 3000, 'before outage')).n, 1);

      const pending = layer.receive(a); // a receiver waiting across the outage
      await redis.stop();
      const started = Date.now();
      await assert.rejects(layer.send('work', { type: 'm' }), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'ERR_LAYER_UNAVAILABLE');
        assert.match(err.message, /127\.0\.0\.1:\d+/);
        return true;
      });
      assert.ok(Date.now() - started < 2000, 'send during the outage answered quickly');
      await layer.groupSend('room', { type: 'm', n: 2 }); // never raises
      // Counted as a drop: at once when the client already knows Redis is away, else when the
      // script it handed to the connection fails (within commandTimeoutMs).
      const counted = Date.now() + 2000;
      while (layer.stats().unavailable < 1 && Date.now() < counted) await new Promise((r) => setTimeout(r, 20));
      assert.ok(layer.stats().unavailable >= 1, 'the dropped group send is counted');

      await redis.start(); // same port, empty data: the group is gone from Redis
      await eventually(() => layer.send('work', { type: 'm' }), 8000, 'send after restart');
      await eventually(
        async () => {
          await layer.groupSend('room', { type: 'm', n: 3 });
          const m = await within(pending, 1500, 'member after restart');
          assert.equal(m.n, 3);
        },
        10000,
        'group delivery after restart',
      );
      assert.ok(reconnects.length >= 1, 'a reconnect event was emitted');
    } finally {
      await layer.close();
    }
  });
});

describe('pub/sub layer through a Redis restart', () => {
  const redis = new OwnRedis();
  before(() => redis.start());
  after(() => redis.stop());

  it('resubscribes and reports the downtime', async () => {
    const layer = new RedisPubSubChannelLayer({ hosts: [redis.url], commandTimeoutMs: 500 });
    const reconnects: { downMs: number }[] = [];
    layer.on('reconnect', (e) => reconnects.push(e));
    try {
      const a = await layer.newChannel();
      await layer.groupAdd('room', a);
      await layer.groupSend('room', { type: 'm', n: 1 });
      assert.equal((await within(layer.receive(a), 3000, 'before')).n, 1);
      await redis.stop();
      await assert.rejects(layer.send(a, { type: 'm' }), { code: 'ERR_LAYER_UNAVAILABLE' });
      await layer.groupSend('room', { type: 'm', n: 2 }); // never raises
      // Counted as a drop: at once when the client already knows Redis is away, else when the
      // PUBLISH it queued fails (within commandTimeoutMs).
      const counted = Date.now() + 2000;
      while (layer.stats().unavailable < 1 && Date.now() < counted) await new Promise((r) => setTimeout(r, 20));
      assert.ok(layer.stats().unavailable >= 1, 'the group send during the outage is counted as dropped');
      await redis.start();
      const pending = layer.receive(a);
      await eventually(
        async () => {
          await layer.groupSend('room', { type: 'm', n: 3 });
          assert.equal((await within(pending, 700, 'after restart')).n, 3);
        },
        10000,
        'group delivery after restart',
      );
      assert.ok(reconnects.length >= 1 && reconnects[0]!.downMs > 0);
    } finally {
      await layer.close();
    }
  });
});
