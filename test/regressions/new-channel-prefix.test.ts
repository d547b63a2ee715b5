// Regression: newChannel(prefix) used the prefix in a template string unchecked: a Symbol threw
// a bare TypeError, and 42 made a channel named "42…" without complaint. Every layer now checks
// the prefix and refuses anything but a string of name characters with ERR_INVALID_CHANNEL_NAME
// naming the value.
import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { InMemoryChannelLayer } from '../../src/layers/memory.ts';
import { RedisChannelLayer } from '../../src/layers/redis/redis-layer.ts';
import { RedisPubSubChannelLayer } from '../../src/layers/redis/pubsub-layer.ts';
import type { ChannelLayer } from '../../src/layers/types.ts';
import { REDIS_URL, requireRedis, uniquePrefix } from '../redis/helpers.ts';

const layers: ChannelLayer[] = [];
after(async () => {
  await Promise.all(layers.map((l) => l.close()));
});

it('newChannel() refuses a prefix that is not a string of name characters, on every layer, naming it', async () => {
  (await requireRedis()).disconnect();
  const prefix = uniquePrefix();
  layers.push(
    new InMemoryChannelLayer(),
    new RedisChannelLayer({ hosts: [REDIS_URL], prefix }),
    new RedisPubSubChannelLayer({ hosts: [REDIS_URL], prefix }),
  );
  const bad: [unknown, RegExp][] = [
    [Symbol('room'), /prefix Symbol\(room\) \(a symbol\) is not valid/],
    [42, /prefix 42 \(a number\) is not valid/],
    [null, /prefix null is not valid/],
    [{ toString: () => 'specific.' }, /prefix an object is not valid/],
    ['has space.', /prefix "has space\." is not valid/],
    ['two!bangs.', /prefix "two!bangs\." is not valid/],
  ];
  for (const layer of layers) {
    for (const [value, message] of bad) {
      await assert.rejects(
        layer.newChannel(value as string),
        (e: Error & { code?: string }) => e.code === 'ERR_INVALID_CHANNEL_NAME' && message.test(e.message),
        `${layer.constructor.name}.newChannel(${String(value)})`,
      );
    }
    assert.match(await layer.newChannel('room.'), /^(\w+)?room\./, `${layer.constructor.name}: a good prefix works`);
    assert.match(await layer.newChannel(), /specific\./);
  }
});
