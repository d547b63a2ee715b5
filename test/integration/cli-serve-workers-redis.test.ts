// Workers and `canal serve` on a real Redis: `--worker` runs a channel in the server process
// whatever the layer; the config's `workers` are left to `canal worker` processes, and a
// `canal worker` with no channel arguments reads them.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { cleanPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../redis/helpers.ts';
import { FIXTURES, get, serve, startCli, stop, tempDir } from './cli-helpers.ts';

const APP = join(FIXTURES, 'cli-jobs-app.ts');

describe('canal serve and canal worker: workers on a Redis layer', () => {
  let redis: Redis;
  const prefixes: string[] = [];
  const tmp = tempDir();
  before(async () => {
    redis = await requireRedis();
  });
  after(async () => {
    for (const p of prefixes) await cleanPrefix(redis, p).catch(() => {});
    redis?.disconnect();
    tmp.remove();
  });

  it('--worker reads a channel in the server process on a Redis layer', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const channel = `jobs-${randomBytes(4).toString('hex')}`;
    const config = join(tmp.dir, 'worker-flag.config.mjs');
    writeFileSync(
      config,
      `export default { channelLayers: { default: { backend: 'redis', options: { ` +
        `hosts: [${JSON.stringify(REDIS_URL)}], prefix: '${prefix}', blockTimeout: 1 } } } };\n`,
    );
    const cli = await serve([APP, '--port', '0', '--config', config, '--worker', channel]);
    try {
      assert.match(cli.stdout(), new RegExp(`canal: running workers for ${channel} in this process \\(--worker\\)`));
      assert.equal((await get(`${cli.url}/enqueue?channel=${channel}&id=r1`)).status, 202);
      await cli.waitFor(new RegExp(`fixture: ${channel} done r1 \\(lifespan up, pid ${cli.child.pid}\\)`), 5000);
    } finally {
      assert.equal(await stop(cli), 0);
    }
  });

  it("leaves the config's workers to canal worker, which reads them when given no channels", async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const channel = `thumbs-${randomBytes(4).toString('hex')}`;
    writeFileSync(
      join(tmp.dir, 'canal.config.mjs'),
      `export default { application: ${JSON.stringify(APP)}, workers: [${JSON.stringify(channel)}], ` +
        `channelLayers: { default: { backend: 'redis', options: { ` +
        `hosts: [${JSON.stringify(REDIS_URL)}], prefix: '${prefix}', blockTimeout: 1 } } } };\n`,
    );
    const server = await serve(['--port', '0'], { cwd: tmp.dir });
    try {
      assert.match(
        server.stdout(),
        new RegExp(
          `canal: not running workers for ${channel} here: on a shared layer they belong to canal worker processes`,
        ),
      );
      assert.doesNotMatch(server.stdout(), /canal: running workers for/);
      assert.equal((await get(`${server.url}/enqueue?channel=${channel}&id=queued`)).status, 202);
      await new Promise((r) => setTimeout(r, 800));
      assert.doesNotMatch(server.stdout(), /fixture: .* started queued/);
      // The message waits in Redis for a worker process.
      assert.equal(await redis.zcard(`${prefix}${channel}`), 1);

      const worker = startCli(['worker'], { cwd: tmp.dir });
      try {
        await worker.waitFor(new RegExp(`canal: worker reading ${channel} \\(pid ${worker.child.pid}\\)`));
        await worker.waitFor(
          new RegExp(`fixture: ${channel} done queued \\(lifespan before, pid ${worker.child.pid}\\)`),
          5000,
        );
      } finally {
        assert.equal(await stop(worker), 0);
      }
      assert.doesNotMatch(server.stdout(), /fixture: .* started queued/);
    } finally {
      assert.equal(await stop(server), 0);
    }
  });
});
