// Regression: messages sent to one channel within the same millisecond came back out of order
// from the Redis layer, because equal send-time scores sort by the random member prefix.
// Scores are now strictly increasing within a process.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { RedisChannelLayer } from '../../src/layers/redis/redis-layer.ts';
import { REDIS_URL, redisFixture, within } from '../redis/helpers.ts';

const prefix = redisFixture().prefix();

it('keeps FIFO order for a burst of sends (process-local and named channels)', async () => {
  const layer = new RedisChannelLayer({ hosts: [REDIS_URL], prefix, capacity: 1000 });
  try {
    const local = await layer.newChannel();
    await Promise.all(Array.from({ length: 300 }, (_, i) => layer.send(local, { type: 't', i })));
    for (let i = 0; i < 300; i++) assert.equal((await within(layer.receive(local), 3000, 'local')).i, i);
    await Promise.all(Array.from({ length: 100 }, (_, i) => layer.send('burst.named', { type: 't', i })));
    for (let i = 0; i < 100; i++) assert.equal((await within(layer.receive('burst.named'), 3000, 'named')).i, i);
  } finally {
    await layer.close();
  }
});
