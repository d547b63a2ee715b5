// The start-up lines of `canal serve` and `canal worker` say what runs: the app (file and
// export) and the layer (backend and hosts), with a Redis password shown as ****.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { freePort } from '../redis/helpers.ts';
import { FIXTURES, serve, startCli, stop } from './cli-helpers.ts';

describe('start-up lines', { concurrency: 3 }, () => {
  let port: number;
  before(async () => {
    // Nothing listens there: the layer never connects, and nothing needs it to.
    port = await freePort();
  });

  it('serve names the app file and export, and the in-memory layer', async () => {
    const cli = await serve([join(FIXTURES, 'cli-app.ts'), '--port', '0']);
    try {
      const where = /^canal: listening on http:\/\/127\.0\.0\.1:\d+ \(pid \d+\)/.source;
      assert.match(cli.stdout(), new RegExp(`${where}, app test/fixtures/cli-app\\.ts:default, layer memory$`, 'm'));
    } finally {
      assert.equal(await stop(cli), 0);
    }
  });

  it('serve names the export it fell back to', async () => {
    const cli = await serve([join(FIXTURES, 'cli-only-application'), '--port', '0']);
    try {
      assert.match(cli.stdout(), /, app test\/fixtures\/cli-only-application\.ts:application, layer memory$/m);
    } finally {
      assert.equal(await stop(cli), 0);
    }
  });

  it('serve names a Redis layer and its host, with the password redacted everywhere', async () => {
    const url = `redis://:hunter2@127.0.0.1:${port}/0`;
    const env = { LAYER: 'redis', REDIS_URL: url };
    const cli = await serve(['test/fixtures/cli-app.ts:other', '--port', '0'], { env });
    try {
      const line = `app test/fixtures/cli-app.ts:other, layer redis (redis://:****@127.0.0.1:${port}/0)`;
      assert.ok(cli.stdout().includes(`), ${line}\n`), cli.stdout());
    } finally {
      assert.equal(await stop(cli), 0);
    }
    assert.doesNotMatch(cli.stdout() + cli.stderr(), /hunter2/);
  });

  it('worker names the app, and the layer alias it reads', async () => {
    const env = { LAYER: 'redis-pubsub', REDIS_URL: `redis://reader:hunter2@127.0.0.1:${port}/1` };
    const cli = startCli(['worker', 'jobs', '--app', 'test/fixtures/cli-worker-app.ts:worker'], { env });
    try {
      await cli.waitFor(/canal: worker reading jobs/);
      const layer = `layer redis-pubsub (redis://reader:****@127.0.0.1:${port}/1)`;
      const line = cli
        .stdout()
        .split('\n')
        .find((l) => l.startsWith('canal: worker reading jobs (pid '));
      assert.ok(line?.endsWith(`), app test/fixtures/cli-worker-app.ts:worker, ${layer}`), cli.stdout());
    } finally {
      assert.equal(await stop(cli), 0);
    }
    assert.doesNotMatch(cli.stdout() + cli.stderr(), /hunter2/);
  });
});
