// The core layer's group send has two paths: one round trip (one shard, no encryption, one
// capacity: Redis reads the members and stores the message in one script) and two (members,
// then the messages built in Node). Both must leave the same bytes, the ones channels_redis
// writes, and both count the members that were full. The one-trip send returns once the script
// is handed to the connection, so the checks wait for Redis' answer.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RedisChannelLayer } from '../../src/layers/redis/redis-layer.ts';
import type { DropEvent } from '../../src/layers/remote-layer.ts';
import { REDIS_URL, redisFixture, until, within } from './helpers.ts';

const redis = redisFixture();

/** Every stored member of `keys`, less its 12 random bytes, as hex; then the keys are emptied. */
async function takeStored(keys: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const key of keys) await until(async () => (await redis.admin.zcard(key)) > 0, `a message under ${key}`);
  for (const key of keys) {
    const members = (await redis.admin.zrangeBuffer(key, '0', '-1')) as Buffer[];
    for (const m of members) out.push(`${key} ${m.subarray(12).toString('hex')}`);
    await redis.admin.del(key);
  }
  return out;
}

describe('core layer group send: one round trip and two', () => {
  it('store the same bytes, for big maps and long member lists, local and named channels', async () => {
    const p = redis.prefix();
    const oneTrip = new RedisChannelLayer({ hosts: [REDIS_URL], prefix: p });
    // A channelCapacity rule (that matches nothing here) takes the two-round-trip path.
    const twoTrips = new RedisChannelLayer({ hosts: [REDIS_URL], prefix: p, channelCapacity: { 'nothing-here.*': 5 } });
    const members = new RedisChannelLayer({ hosts: [REDIS_URL], prefix: p });
    const others = new RedisChannelLayer({ hosts: [REDIS_URL], prefix: p });
    try {
      const channels: string[] = [];
      for (let i = 0; i < 20; i++) channels.push(await members.newChannel()); // > 15: an array16 list
      for (const c of channels) await members.groupAdd('room', c);
      await members.groupAdd('room', 'thumbnails'); // a named channel: a key of its own
      // Members of a second process joined between the first one's: each key's list keeps its
      // own channels in join order, whichever runs they come in.
      for (let i = 0; i < 3; i++) {
        await others.groupAdd('room', await others.newChannel());
        await members.groupAdd('room', await members.newChannel());
      }
      const message: Record<string, unknown> = { type: 'chat.message' };
      // 17 entries, 18 with the list: a map16 header
      for (let i = 0; i < 16; i++) message[`k${i}`] = i % 2 ? `v${i}` : i;
      message.raw = Buffer.from([0, 1, 2, 255]);
      const keys = [`${p}specific.${members.clientPrefix}!`, `${p}thumbnails`, `${p}specific.${others.clientPrefix}!`];

      await oneTrip.groupSend('room', message as { type: string });
      const viaOne = await takeStored(keys);
      await twoTrips.groupSend('room', message as { type: string });
      const viaTwo = await takeStored(keys);
      assert.equal(viaOne.length, 3, 'one member per Redis key');
      assert.deepEqual(viaOne, viaTwo);

      // Small maps (a fixmap header) and short lists as well, and the receivers get them.
      await oneTrip.groupSend('room', { type: 'chat.message', text: 'hi' });
      for (const c of channels.slice(0, 3)) {
        const got = await within(members.receive(c), 5000, `member ${c}`);
        assert.deepEqual(got, { type: 'chat.message', text: 'hi' });
      }
      const named = await within(members.receive('thumbnails'), 5000, 'the named channel');
      assert.deepEqual(named, { type: 'chat.message', text: 'hi' });
    } finally {
      await Promise.all([oneTrip.close(), twoTrips.close(), members.close(), others.close()]);
    }
  });

  it('counts and names the members that were full, on both paths', async () => {
    for (const rules of [undefined, { 'nothing-here.*': 5 }]) {
      const p = redis.prefix();
      const layer = new RedisChannelLayer({
        hosts: [REDIS_URL],
        prefix: p,
        capacity: 1,
        ...(rules ? { channelCapacity: rules } : {}),
      });
      try {
        const drops: DropEvent[] = [];
        layer.on('drop', (e: DropEvent) => drops.push(e));
        await layer.groupAdd('jobs', 'work');
        await layer.groupSend('jobs', { type: 'job', n: 1 });
        await layer.groupSend('jobs', { type: 'job', n: 2 });
        await until(() => layer.stats().droppedFull > 0, 'the drop to be counted');
        assert.equal(layer.stats().droppedFull, 1, rules ? 'two round trips' : 'one round trip');
        assert.deepEqual(drops, [{ channel: 'work', group: 'jobs', reason: 'full' }]);
        assert.deepEqual(await within(layer.receive('work'), 5000, 'work'), { type: 'job', n: 1 });
      } finally {
        await layer.close();
      }
    }
  });
});
