// The core layer reads this process's channels in batches: BZMPOP (Redis 7) takes up to 256
// messages per round trip; a Redis without it (before 7.0) is read with BZPOPMIN and ZPOPMIN.
// Either way every message arrives, once, in the order it was sent.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RedisChannelLayer } from '../../src/layers/redis/redis-layer.ts';
import { OwnRedis, REDIS_URL, redisFixture, within } from './helpers.ts';

const redis = redisFixture();

async function burstInOrder(url: string, prefix: string): Promise<void> {
  const sender = new RedisChannelLayer({ hosts: [url], prefix, capacity: 1000 });
  const receiver = new RedisChannelLayer({ hosts: [url], prefix, capacity: 1000 });
  try {
    const a = await receiver.newChannel();
    const b = await receiver.newChannel();
    await sender.groupAdd('burst', a);
    // 600 messages wait in Redis before anything reads them: more than one batch.
    for (let i = 0; i < 300; i++) {
      await sender.send(a, { type: 'n', i });
      await sender.groupSend('burst', { type: 'g', i });
      await sender.send(b, { type: 'n', i });
    }
    const gotA: string[] = [];
    for (let i = 0; i < 600; i++) {
      const m = await within(receiver.receive(a), 5000, `message ${i} on a`);
      gotA.push(`${m.type}${m.i}`);
    }
    const expected: string[] = [];
    for (let i = 0; i < 300; i++) expected.push(`n${i}`, `g${i}`);
    assert.deepEqual(gotA, expected);
    for (let i = 0; i < 300; i++) assert.equal((await within(receiver.receive(b), 5000, `message ${i} on b`)).i, i);
    assert.equal(receiver.stats().dropped, 0);
  } finally {
    await Promise.all([sender.close(), receiver.close()]);
  }
}

describe('core layer receive batches', () => {
  it('Redis 7 (BZMPOP): 900 waiting messages arrive once each, in order', async () => {
    await burstInOrder(REDIS_URL, redis.prefix());
  });

  describe('a Redis without BZMPOP', () => {
    const old = new OwnRedis(['--rename-command', 'BZMPOP', '']);
    before(() => old.start());
    after(() => old.stop());
    it('is read with BZPOPMIN + ZPOPMIN: the same messages in the same order', async () => {
      await burstInOrder(old.url, 'old');
    });
  });
});
