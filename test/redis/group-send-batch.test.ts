// The core layer sends the group sends a process makes in one turn of its event loop to Redis
// as one script: each group's members are read once, and a receive loop gets the messages that
// arrived together in one reply. What users rely on: every member gets every message, in the
// order of the calls; a send() made after a groupSend() in the same turn lands after it; full
// members are counted per message. Runs on a redis-server of its own, so the script count is
// its alone.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { RedisChannelLayer } from '../../src/layers/redis/redis-layer.ts';
import type { DropEvent } from '../../src/layers/remote-layer.ts';
import { ownRedisFixture, until, within } from './helpers.ts';

const redis = ownRedisFixture();
/** Scripts Redis has run so far (EVALSHA, and EVAL for a script it did not have yet). */
const scriptCalls = () => redis.commandCalls('evalsha', 'eval');

async function receiveAll(layer: RedisChannelLayer, channel: string, n: number): Promise<unknown[]> {
  const got: unknown[] = [];
  for (let i = 0; i < n; i++)
    got.push((await within(layer.receive(channel), 5000, `message ${i + 1} of ${n} on ${channel}`)) as unknown);
  return got;
}

it('group sends of one turn go as one script; every member of two processes gets them all, in order', async () => {
  const sender = new RedisChannelLayer({ hosts: [redis.url], prefix: 'batch1' });
  const a = new RedisChannelLayer({ hosts: [redis.url], prefix: 'batch1' });
  const b = new RedisChannelLayer({ hosts: [redis.url], prefix: 'batch1' });
  try {
    const members = [await a.newChannel(), await a.newChannel(), await b.newChannel()];
    for (const c of members) await a.groupAdd('room', c);
    const other = await b.newChannel();
    await b.groupAdd('lobby', other);
    await sender.groupSend('room', { type: 'warm.up' }); // the script is loaded into Redis
    await Promise.all(members.map((c) => receiveAll(c.includes(a.clientPrefix) ? a : b, c, 1)));

    const before = await scriptCalls();
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      sends.push(sender.groupSend('room', { type: 'chat.message', n: i }));
      if (i % 10 === 0) sends.push(sender.groupSend('lobby', { type: 'lobby.message', n: i }));
    }
    await Promise.all(sends);
    const expected = Array.from({ length: 50 }, (_, n) => ({ type: 'chat.message', n }));
    for (const c of members)
      assert.deepEqual(
        await receiveAll(c.includes(a.clientPrefix) ? a : b, c, 50),
        expected,
        `all 50, in order, on ${c}`,
      );
    assert.deepEqual(
      await receiveAll(b, other, 5),
      [0, 10, 20, 30, 40].map((n) => ({ type: 'lobby.message', n })),
    );
    assert.equal((await scriptCalls()) - before, 1, 'one script for the 55 group sends of the turn');
  } finally {
    await Promise.all([sender.close(), a.close(), b.close()]);
  }
});

it('a send() made after groupSend() in the same turn reaches the channel after the group message', async () => {
  const layer = new RedisChannelLayer({ hosts: [redis.url], prefix: 'batch2' });
  try {
    const channel = await layer.newChannel();
    await layer.groupAdd('room', channel);
    for (let round = 0; round < 5; round++) {
      void layer.groupSend('room', { type: 'first', round });
      void layer.send(channel, { type: 'second', round });
      void layer.groupSend('room', { type: 'third', round });
      assert.deepEqual(await receiveAll(layer, channel, 3), [
        { type: 'first', round },
        { type: 'second', round },
        { type: 'third', round },
      ]);
    }
  } finally {
    await layer.close();
  }
});

it('a member at capacity is counted as a drop for each group send of the turn that did not fit', async () => {
  const layer = new RedisChannelLayer({ hosts: [redis.url], prefix: 'batch3', capacity: 3 });
  const drops: DropEvent[] = [];
  layer.on('drop', (e: DropEvent) => drops.push(e));
  try {
    await layer.groupAdd('jobs', 'thumbnails'); // a named channel: a key of its own
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 5; i++) sends.push(layer.groupSend('jobs', { type: 'job', n: i }));
    await Promise.all(sends);
    await until(() => drops.length >= 2, 'two drops');
    assert.deepEqual(drops, [
      { channel: 'thumbnails', group: 'jobs', reason: 'full' },
      { channel: 'thumbnails', group: 'jobs', reason: 'full' },
    ]);
    assert.equal(await redis.admin.zcard('batch3thumbnails'), 3, 'the first three are stored');
    const ttl = await redis.admin.ttl('batch3thumbnails');
    assert.ok(ttl > 0 && ttl <= 70, `the channel key expires (TTL ${ttl} s, expiry 60 s)`);
    assert.deepEqual(
      await receiveAll(layer, 'thumbnails', 3),
      [0, 1, 2].map((n) => ({ type: 'job', n })),
    );
  } finally {
    await layer.close();
  }
});

it('a turn with more group sends than one script carries sends several, and nothing is lost', async () => {
  const layer = new RedisChannelLayer({ hosts: [redis.url], prefix: 'batch4', capacity: 1000 });
  try {
    const channel = await layer.newChannel();
    await layer.groupAdd('room', channel);
    await layer.groupSend('room', { type: 'warm.up' });
    await receiveAll(layer, channel, 1);
    const before = await scriptCalls();
    await Promise.all(Array.from({ length: 300 }, (_, n) => layer.groupSend('room', { type: 'm', n })));
    assert.deepEqual(
      await receiveAll(layer, channel, 300),
      Array.from({ length: 300 }, (_, n) => ({ type: 'm', n })),
    );
    const scripts = (await scriptCalls()) - before;
    assert.ok(scripts >= 3 && scripts <= 4, `300 group sends in ${scripts} scripts (at most 128 each)`);
  } finally {
    await layer.close();
  }
});
