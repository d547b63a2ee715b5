// Canal and Python's channels_redis on one real Redis: each sends to the other's channels and
// groups, with and without encryption, and both leave the same keys behind.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RedisChannelLayer } from '../../src/layers/redis/redis-layer.ts';
import { RedisPubSubChannelLayer } from '../../src/layers/redis/pubsub-layer.ts';
import { REDIS_URL, redisFixture, runPeer, startPeer, within } from './helpers.ts';

const redis = redisFixture();
const prefix = () => redis.prefix();

const KEYS = 'first-secret,older-secret';

for (const encrypted of [false, true]) {
  describe(`core layer ↔ channels_redis${encrypted ? ' (encrypted)' : ''}`, () => {
    const keys = encrypted ? KEYS : '';
    const layerOptions = (p: string) => ({
      hosts: [REDIS_URL],
      prefix: p,
      ...(encrypted ? { symmetricEncryptionKeys: KEYS.split(',') } : {}),
    });

    it('Python send → Canal receive on a named channel', async () => {
      const p = prefix();
      const layer = new RedisChannelLayer(layerOptions(p));
      try {
        await runPeer(
          [
            'send',
            'thumbnails',
            JSON.stringify({ type: 'thumbnail.make', id: 7, name: 'héllo', raw: { $bytes: 'AAEC' } }),
          ],
          {
            PREFIX: p,
            KEYS: keys,
          },
        );
        const message = await within(layer.receive('thumbnails'), 5000, 'receive');
        assert.equal(message.type, 'thumbnail.make');
        assert.equal(message.id, 7);
        assert.equal(message.name, 'héllo');
        assert.deepEqual(Buffer.from(message.raw as Uint8Array), Buffer.from([0, 1, 2]));
      } finally {
        await layer.close();
      }
    });

    it('Python send → a Canal process-local channel', async () => {
      const p = prefix();
      const layer = new RedisChannelLayer(layerOptions(p));
      try {
        const channel = await layer.newChannel();
        await runPeer(['send', channel, JSON.stringify({ type: 'chat.message', text: 'from python' })], {
          PREFIX: p,
          KEYS: keys,
        });
        const message = await within(layer.receive(channel), 5000, 'receive');
        assert.deepEqual({ ...message }, { type: 'chat.message', text: 'from python' });
      } finally {
        await layer.close();
      }
    });

    it('Canal send → Python receive (named and process-local channels)', async () => {
      const p = prefix();
      const layer = new RedisChannelLayer(layerOptions(p));
      try {
        await layer.send('jobs', { type: 'job.run', n: 2 ** 40, big: 2n ** 62n, f: 1.5, list: [1, 'a', null, true] });
        const [line] = await runPeer(['receive', 'jobs', '5'], { PREFIX: p, KEYS: keys });
        assert.deepEqual(JSON.parse(line!), {
          type: 'job.run',
          n: 2 ** 40,
          big: { $int: String(2n ** 62n) },
          f: { $float: 1.5 },
          list: [1, 'a', null, true],
        });
      } finally {
        await layer.close();
      }
    });

    it('Canal groupSend → a Python group member, and Python group_send → Canal members', async () => {
      const p = prefix();
      const layer = new RedisChannelLayer(layerOptions(p));
      try {
        const peer = startPeer(['join-and-receive', 'room', '10'], { PREFIX: p, KEYS: keys });
        const pyChannel = JSON.parse(await peer.line()) as string;
        assert.match(pyChannel, /^specific\.[0-9a-f]{32}![0-9a-f]{32}$/);
        const mine = [await layer.newChannel(), await layer.newChannel()];
        for (const c of mine) await layer.groupAdd('room', c);
        await layer.groupSend('room', { type: 'chat.message', text: 'hello all' });
        assert.deepEqual(JSON.parse(await peer.line()), { type: 'chat.message', text: 'hello all' });
        await peer.finished();
        for (const c of mine) {
          const m = await within(layer.receive(c), 5000, 'canal member');
          assert.equal(m.text, 'hello all');
        }
        // and back: Python group_send reaches both Canal members
        await runPeer(['group-send', 'room', JSON.stringify({ type: 'chat.message', text: 'from python' })], {
          PREFIX: p,
          KEYS: keys,
        });
        for (const c of mine) {
          const m = await within(layer.receive(c), 5000, 'canal member');
          assert.equal(m.text, 'from python');
        }
      } finally {
        await layer.close();
      }
    });
  });
}

describe('the same keys, types, scores and TTLs as channels_redis', () => {
  it('send and group_add leave identical structures', async () => {
    const [pPy, pJs] = [prefix(), prefix()];
    await runPeer(['send', 'work', JSON.stringify({ type: 'x' })], { PREFIX: pPy });
    const layer = new RedisChannelLayer({ hosts: [REDIS_URL], prefix: pJs });
    try {
      await layer.send('work', { type: 'x' });
      await layer.groupAdd('g', 'work');
      await runPeer(['group-send', 'g', JSON.stringify({ type: 'y' })], { PREFIX: pPy });
      const describeKey = async (key: string) => ({
        type: await redis.admin.type(key),
        ttl: await redis.admin.ttl(key),
        members: await redis.admin.zcard(key),
      });
      const py = await describeKey(`${pPy}work`);
      const js = await describeKey(`${pJs}work`);
      assert.equal(js.type, 'zset');
      assert.deepEqual(js, py);
      const group = `${pJs}:group:g`;
      assert.equal(await redis.admin.type(group), 'zset');
      assert.ok((await redis.admin.ttl(group)) > 86_000);
      const [member, score] = (await redis.admin.call('ZRANGE', group, '0', '-1', 'WITHSCORES')) as string[];
      assert.equal(member, 'work');
      assert.ok(Math.abs(Number(score) - Date.now() / 1000) < 5);
      // message members: 12 random bytes, then msgpack
      const [raw, sent] = (await redis.admin.callBuffer('ZRANGE', `${pJs}work`, '0', '-1', 'WITHSCORES')) as Buffer[];
      assert.ok(raw!.length > 12);
      assert.ok(Math.abs(Number(sent!.toString()) - Date.now() / 1000) < 5);
    } finally {
      await layer.close();
    }
  });
});

describe('pub/sub layer ↔ channels_redis pub/sub', () => {
  it('Python group_send → Canal members; Canal groupSend → Python member', async () => {
    const p = prefix();
    const layer = new RedisPubSubChannelLayer({ hosts: [REDIS_URL], prefix: p });
    try {
      const mine = [await layer.newChannel(), await layer.newChannel()];
      for (const c of mine) await layer.groupAdd('lobby', c);
      await runPeer(['group-send', 'lobby', JSON.stringify({ type: 'chat.message', text: 'py' })], {
        PREFIX: p,
        LAYER: 'pubsub',
      });
      for (const c of mine) assert.equal((await within(layer.receive(c), 5000, 'pubsub member')).text, 'py');

      const peer = startPeer(['join-and-receive', 'lobby', '10'], { PREFIX: p, LAYER: 'pubsub' });
      const pyChannel = JSON.parse(await peer.line()) as string;
      assert.ok(pyChannel.startsWith(`${p}specific.`));
      // the peer has subscribed once it printed its channel; publish until it answers
      await new Promise((r) => setTimeout(r, 300));
      await layer.groupSend('lobby', { type: 'chat.message', text: 'js' });
      assert.deepEqual(JSON.parse(await peer.line()), { type: 'chat.message', text: 'js' });
      await peer.finished();
      for (const c of mine) assert.equal((await within(layer.receive(c), 5000, 'own member')).text, 'js');
    } finally {
      await layer.close();
    }
  });

  it('Canal send → Python receive on a named channel', async () => {
    const p = prefix();
    const layer = new RedisPubSubChannelLayer({ hosts: [REDIS_URL], prefix: p });
    try {
      const peer = startPeer(['receive', `${p}jobs`, '10'], { PREFIX: p, LAYER: 'pubsub' });
      // pub/sub delivers only to subscribers present when a message is published
      let answer: string | null = null;
      const reading = peer.line(10000).then((l) => (answer = l));
      for (let i = 0; i < 50 && answer === null; i++) {
        await layer.send(`${p}jobs`, { type: 'job', i });
        await new Promise((r) => setTimeout(r, 100));
      }
      await reading;
      assert.equal(JSON.parse(answer!).type, 'job');
      await peer.finished();
    } finally {
      await layer.close();
    }
  });
});
