// Regression: on the redis-pubsub layer, a receive() whose SUBSCRIBE failed (Redis away) left
// its waiting receiver behind. The caller got ERR_LAYER_UNAVAILABLE, but the orphan stayed
// first in line: once Redis was back, the next message went to it and was lost, and close()
// rejected it with nobody listening — an unhandled rejection that crashed `canal worker` on
// SIGTERM (exit 1 with a stack) whenever Redis had been unreachable.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisPubSubChannelLayer } from '../../src/layers/redis/pubsub-layer.ts';
import { freePort, OwnRedis, until, within } from '../redis/helpers.ts';

it('a pub/sub receive that failed to subscribe leaves no receiver behind', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  const redis = new OwnRedis();
  redis.port = await freePort();
  const layer = new RedisPubSubChannelLayer({ hosts: [redis.url], commandTimeoutMs: 300 });
  let admin: Redis | null = null;
  try {
    // Redis is not started yet: each SUBSCRIBE fails after commandTimeoutMs.
    await assert.rejects(layer.receive('jobs'), { code: 'ERR_LAYER_UNAVAILABLE' });
    await assert.rejects(layer.receive('jobs'), { code: 'ERR_LAYER_UNAVAILABLE' });
    await redis.start();
    admin = new Redis(redis.url);
    // Receive again, as a worker retries, until one is subscribed: it gets the next message.
    let received: Promise<unknown> | null = null;
    let failed = true;
    await until(
      async () => {
        if (failed) {
          failed = false;
          received = layer.receive('jobs');
          received.catch(() => (failed = true));
        }
        const [, subscribers] = (await admin!.pubsub('NUMSUB', 'jobs')) as [string, number];
        return Number(subscribers) === 1;
      },
      'a subscribed receive',
      8000,
    );
    // The command connection reconnects on its own schedule; until it has, a send fails fast.
    await until(
      () =>
        layer.send('jobs', { type: 'job.run', id: 1 }).then(
          () => true,
          () => false,
        ),
      'a send once the command connection is back',
      5000,
    );
    assert.deepEqual(await within(received!, 2000, 'the receive after the outage'), { type: 'job.run', id: 1 });
  } finally {
    await layer.close();
    admin?.disconnect();
    await redis.stop();
  }
  await new Promise((r) => setImmediate(r));
  process.off('unhandledRejection', onUnhandled);
  assert.deepEqual(unhandled, []);
});
