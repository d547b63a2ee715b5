// `canal worker`, `canal send` and `canal group-send` as child processes over a real Redis
// (LAYER=redis, REDIS_URL), and their refusal of the in-memory layer.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { REDIS_URL, requireRedis } from '../redis/helpers.ts';
import { FIXTURES, runCli, startCli, stop } from './cli-helpers.ts';

const WORKER_APP = `${join(FIXTURES, 'cli-worker-app.ts')}:worker`;

describe('canal worker / send / group-send', () => {
  let redis: Redis;
  before(async () => {
    redis = await requireRedis();
  });
  after(() => redis?.disconnect());

  it(
    'a worker runs the app for messages sent with canal send and canal group-send, ' + 'and exits 0 on SIGTERM',
    async () => {
      const id = randomBytes(4).toString('hex');
      const channel = `cli-test-${id}`;
      const group = `cli-group-${id}`;
      const env = { LAYER: 'redis', REDIS_URL };
      const worker = startCli(['worker', '--app', WORKER_APP, channel], { env });
      try {
        await worker.waitFor(new RegExp(`canal: worker reading ${channel}`));
        let r = await runCli(['send', channel, JSON.stringify({ type: 'join', group })], { env });
        assert.equal(r.code, 0, r.stderr);
        await worker.waitFor(new RegExp(`fixture: ${channel} got \\{"type":"join"`), 5000);
        r = await runCli(['group-send', group, '{"type": "greeting", "text": "hi"}'], { env });
        assert.equal(r.code, 0, r.stderr);
        await worker.waitFor(new RegExp(`fixture: ${channel} got \\{"type":"greeting","text":"hi"\\}`), 5000);
      } finally {
        assert.equal(await stop(worker), 0);
        await redis.del(`asgi:group:${group}`).catch(() => {});
      }
    },
  );

  it('send refuses a message that is not JSON and a missing argument (exit 2)', async () => {
    const env = { LAYER: 'redis', REDIS_URL };
    let r = await runCli(['send', 'somewhere', '{not json'], { env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /the message is not JSON .*\{not json/);
    r = await runCli(['send', 'somewhere'], { env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /usage: canal send <channel>/);
  });

  it('worker and send refuse the in-memory layer, saying what to set', async () => {
    let r = await runCli(['worker', '--app', WORKER_APP, 'jobs']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /canal worker needs a channel layer that other processes can reach.*LAYER=redis/);
    r = await runCli(['group-send', 'lobby', '{"type": "x"}']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /needs a layer shared between processes \(LAYER=redis\)/);
  });

  it('worker without a channel: exit 2', async () => {
    const r = await runCli(['worker', '--app', WORKER_APP], { env: { LAYER: 'redis', REDIS_URL } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /name at least one channel/);
  });
});
