// Regression: the message check walked a layer message by recursion without a bound, so a
// message nested 10,000 levels deep threw a RangeError (stack overflow) out of send() instead
// of ERR_INVALID_MESSAGE. Nesting is now bounded at 511 levels, as Python's msgpack packs, on
// every backend (they share the check).
import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { InMemoryChannelLayer } from '../../src/layers/memory.ts';
import { RedisChannelLayer } from '../../src/layers/redis/redis-layer.ts';
import { RedisPubSubChannelLayer } from '../../src/layers/redis/pubsub-layer.ts';
import type { ChannelLayer, LayerMessage } from '../../src/layers/types.ts';
import { REDIS_URL, requireRedis, uniquePrefix } from '../redis/helpers.ts';

const layers: ChannelLayer[] = [];
after(async () => {
  await Promise.all(layers.map((l) => l.close()));
});

/** A message whose `payload` holds `levels` objects, one inside the other. */
function nested(levels: number): LayerMessage {
  let inner: Record<string, unknown> = { leaf: true };
  for (let i = 1; i < levels; i++) inner = { a: inner };
  return { type: 'deep', payload: inner };
}

it('10,000 levels of nesting are refused with ERR_INVALID_MESSAGE by every layer; 511 levels pass', async () => {
  (await requireRedis()).disconnect();
  const prefix = uniquePrefix();
  layers.push(
    new InMemoryChannelLayer(),
    new RedisChannelLayer({ hosts: [REDIS_URL], prefix }),
    new RedisPubSubChannelLayer({ hosts: [REDIS_URL], prefix }),
  );
  for (const layer of layers) {
    const name = layer.constructor.name;
    for (const op of ['send', 'groupSend'] as const) {
      const call = (m: LayerMessage) =>
        op === 'send' ? layer.send('deep.channel', m) : layer.groupSend!('deep-group', m);
      await assert.rejects(call(nested(10_000)), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'ERR_INVALID_MESSAGE', `${name} ${op}: ${e.name}: ${e.message}`);
        assert.match(e.message, /message\.payload\.a\.a.*… is nested 512 levels deep, past the 511/);
        return true;
      });
    }
    // The top-level message is the first level: 510 more inside it are still a message.
    const received = layer.receive('deep.channel');
    await new Promise((r) => setTimeout(r, 200)); // the pub/sub layer subscribes first
    await layer.send('deep.channel', nested(510));
    let timer!: NodeJS.Timeout;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${name}: nothing received within 3 s`)), 3000);
    });
    const got = await Promise.race([received.finally(() => clearTimeout(timer)), timeout]);
    assert.equal(got.type, 'deep', name);
  }
});
