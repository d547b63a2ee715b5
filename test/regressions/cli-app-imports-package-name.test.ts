// `canal worker` run from a clone with an app that imports 'canaljs': the app's channel layer
// must be the one the CLI configured (Redis here). When the CLI ran from src/ and the app's
// 'canaljs' resolved to dist/, the app had a registry of its own, defaulting to the in-memory
// layer, and its replies went nowhere.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { FIXTURES, startCli, stop, type Cli } from '../integration/cli-helpers.ts';
import { REDIS_URL, requireRedis, within } from '../redis/helpers.ts';
import { RedisChannelLayer } from '../../src/layers/redis/redis-layer.ts';

describe("canal worker with an app that imports 'canaljs'", () => {
  const jobs = `jobs-${randomBytes(4).toString('hex')}`;
  let worker: Cli;
  let layer: RedisChannelLayer;

  before(async () => {
    (await requireRedis()).disconnect();
    layer = new RedisChannelLayer({ hosts: [REDIS_URL] });
    worker = startCli(['worker', '--app', join(FIXTURES, 'package-name-app.ts'), jobs], {
      env: { LAYER: 'redis', REDIS_URL, JOBS_CHANNEL: jobs, CANAL_LOG_LEVEL: 'info' },
    });
    await worker.waitFor(/worker|listening|reading/i, 10_000).catch(() => undefined);
  });

  after(async () => {
    await stop(worker);
    await layer.close();
  });

  it('answers a job through the Redis layer the CLI configured', async () => {
    const reply = await layer.newChannel();
    await layer.send(jobs, { type: 'job.run', id: 'a1', reply });
    const done = await within(layer.receive(reply), 10_000, `the worker's reply on ${reply}\n${worker.stderr()}`);
    assert.equal(done.type, 'job.done');
    assert.equal(done.id, 'a1');
    assert.equal(done.pid, worker.child.pid);
  });
});
