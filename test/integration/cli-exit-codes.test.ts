// The exit codes of docs/cli.md, for the cases the other CLI tests do not cover: 0 for done
// (and for a stop by signal at any point), 1 for a failure that retrying may cure, 2 for
// anything wrong in what was typed — with the error on stderr, never the usage on stdout.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { RedisChannelLayer } from '../../src/layers/redis/redis-layer.ts';
import { cleanPrefix, freePort, REDIS_URL, requireRedis, uniquePrefix } from '../redis/helpers.ts';
import { BIN, FIXTURES, get, runCli, serve, startCli, stop, tempDir } from './cli-helpers.ts';
import { spawnSync } from 'node:child_process';

const APP = join(FIXTURES, 'cli-app.ts');

/** A config whose default layer is Redis with `options`. */
function layerConfig(options: object): string {
  return `export default { channelLayers: { default: { backend: 'redis', options: ${JSON.stringify(options)} } } };\n`;
}

describe('canal exit codes', { concurrency: 2 }, () => {
  const tmp = tempDir();
  let deadRedis: string;
  before(async () => {
    // Nothing listens there: a layer on it cannot connect.
    deadRedis = `redis://127.0.0.1:${await freePort()}/0`;
    writeFileSync(
      join(tmp.dir, 'slow-load.mjs'),
      "process.stdout.write('fixture: loading\\n');\n" +
        'await new Promise((r) => setTimeout(r, 8000));\n' +
        'export default async () => {};\n',
    );
    writeFileSync(
      join(tmp.dir, 'kafka.config.mjs'),
      "export default { application: 'x.ts', channelLayers: { default: { backend: 'kafka' } } };\n",
    );
  });
  after(() => tmp.remove());

  it('no command: exit 2, the usage on stderr', async () => {
    const r = await runCli([]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^usage: canal <command>/);
    assert.equal(r.stdout, '');
  });

  it("help and a command's --help or -h: exit 0, on stdout", async () => {
    for (const args of [['help'], ['send', '--help'], ['group-send', '-h'], ['worker', '-h']]) {
      const r = await runCli(args);
      assert.equal(r.code, 0, args.join(' '));
      assert.match(r.stdout, /usage: canal/);
      assert.equal(r.stderr, '');
    }
  });

  it('Node older than 22.18: exit 2 naming the version', () => {
    const olderNode = "data:text/javascript,Object.defineProperty(process.versions,'node',{value:'20.11.0'})";
    const r = spawnSync(process.execPath, ['--import', olderNode, BIN, '--version'], {
      encoding: 'utf8',
      timeout: 8000,
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^canal: Node 20\.11\.0 is not supported; use Node 22\.18 or newer/);
  });

  for (const [args, pattern] of [
    [['send', 'jobs'], /^canal: send takes a channel and a message, not 1 argument\nusage: canal send <channel>/],
    [['group-send', 'lobby', '{}', 'extra'], /^canal: group-send takes a group and a message, not 3 arguments\n/],
    [['send', 'jobs', '{not json'], /^canal: the message is not JSON .*: \{not json\n$/],
    [['send', 'jobs', '{"text": "hi"}'], /^canal: the message must be a JSON object with a string "type", .* not \{"/],
    [['send', 'no spaces', '{"type": "x"}'], /^canal: channel name "no spaces" is not valid/],
    [['group-send', 'a!b', '{"type": "x"}'], /^canal: group name "a!b" is not valid/],
  ] as const) {
    it(`${args.join(' ')}: exit 2 before any layer is reached`, async () => {
      const r = await runCli([...args], { env: { LAYER: 'redis', REDIS_URL: deadRedis } });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, pattern);
      assert.equal(r.stdout, '');
      assert.doesNotMatch(r.stderr, /unreachable/);
    });
  }

  it("a message over the layer's maxMessageBytes: exit 2 before Redis is reached", async () => {
    const options = { hosts: [deadRedis], maxMessageBytes: 64 };
    const config = join(tmp.dir, 'small.config.mjs');
    writeFileSync(config, layerConfig(options));
    const r = await runCli(['send', 'jobs', JSON.stringify({ type: 'x', text: 'y'.repeat(100) }), '--config', config]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^canal: .*maxMessageBytes/);
    assert.doesNotMatch(r.stderr, /unreachable/);
  });

  it('a bad CANAL_LOG_LEVEL: exit 2 naming it', async () => {
    const r = await runCli(['serve', APP, '--port', '0'], { env: { CANAL_LOG_LEVEL: 'loud' } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^canal: CANAL_LOG_LEVEL must be one of debug, info, warn, error, silent, not "loud"\n$/);
  });

  it('a config naming an unknown layer backend: exit 2 for every command', async () => {
    for (const args of [['serve'], ['worker', 'jobs'], ['send', 'jobs', '{"type": "x"}']]) {
      const r = await runCli([...args, '--config', 'kafka.config.mjs'], { cwd: tmp.dir });
      assert.equal(r.code, 2, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, /kafka\.config\.mjs \(channelLayers\): channel layer 'default': unknown backend "kafka"/);
    }
  });

  for (const command of ['serve', 'worker']) {
    it(`a signal while ${command} loads the app: exit 0 at once`, async () => {
      const app = 'slow-load.mjs';
      const args = command === 'serve' ? ['serve', app, '--port', '0'] : ['worker', 'jobs', '--app', app];
      const cli = startCli(args, { cwd: tmp.dir, env: { LAYER: 'redis', REDIS_URL: deadRedis } });
      await cli.waitFor(/fixture: loading/);
      cli.child.kill('SIGINT');
      assert.equal(await cli.exited(4000), 0, cli.stderr());
      assert.match(cli.stdout(), /canal: SIGINT during start-up; exiting/);
    });
  }

  it('worker with an app that cannot be loaded: exit 1 naming the file', async () => {
    const env = { LAYER: 'redis', REDIS_URL: deadRedis };
    const r = await runCli(['worker', 'jobs', '--app', 'no/such/app.ts'], { cwd: tmp.dir, env });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^canal: cannot load no\/such\/app\.ts: no file at /);
  });

  it('serve with the layer unreachable: serves, warns, and exits 0 on SIGTERM', async () => {
    const cli = await serve([APP, '--port', '0'], { env: { LAYER: 'redis', REDIS_URL: deadRedis } });
    try {
      assert.equal((await get(`${cli.url}/x`)).status, 200);
    } finally {
      assert.equal(await stop(cli), 0, cli.stderr());
    }
  });

  it('worker with the layer unreachable: keeps retrying, and exits 0 on SIGTERM', async () => {
    const cli = startCli(['worker', '--app', `${join(FIXTURES, 'cli-worker-app.ts')}:worker`, 'jobs'], {
      env: { LAYER: 'redis', REDIS_URL: deadRedis },
    });
    await cli.waitFor(/canal: worker reading jobs/);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(cli.child.exitCode, null, 'still running');
    assert.equal(await stop(cli), 0, cli.stderr());
    assert.match(cli.stderr(), /unreachable/);
  });
});

describe('canal exit codes on a real Redis', { concurrency: 2 }, () => {
  let redis: Redis;
  const tmp = tempDir();
  const prefix = uniquePrefix();
  before(async () => {
    redis = await requireRedis();
  });
  after(async () => {
    await cleanPrefix(redis, prefix).catch(() => {});
    redis?.disconnect();
    tmp.remove();
  });

  it('worker: a second signal while messages are in hand exits 1 at once', async () => {
    const channel = `cli-exit-${randomBytes(4).toString('hex')}`;
    const env = { LAYER: 'redis', REDIS_URL };
    const worker = startCli(['worker', '--app', join(FIXTURES, 'cli-jobs-app.ts'), channel], { env });
    try {
      await worker.waitFor(new RegExp(`canal: worker reading ${channel}`));
      const sent = await runCli(['send', channel, '{"type": "job.run", "id": "1", "ms": 6000}'], { env });
      assert.equal(sent.code, 0, sent.stderr);
      await worker.waitFor(/fixture: .* started 1/);
      worker.child.kill('SIGTERM');
      await worker.waitFor(/SIGTERM, finishing the messages in hand/, 3000);
      worker.child.kill('SIGTERM');
      assert.equal(await worker.exited(4000), 1);
      assert.match(worker.stderr(), /canal: SIGTERM again; exiting now/);
    } finally {
      if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    }
  });

  it('group-send: a full member is skipped and said, exit 0', async () => {
    const options = { hosts: [REDIS_URL], prefix, capacity: 1 };
    writeFileSync(join(tmp.dir, 'canal.config.mjs'), layerConfig(options));
    const layer = new RedisChannelLayer(options);
    try {
      await layer.groupAdd('room', 'member.full');
      await layer.groupAdd('room', 'member.free');
      await layer.send('member.full', { type: 'filler' });
    } finally {
      await layer.close();
    }
    const r = await runCli(['group-send', 'room', '{"type": "x"}'], { cwd: tmp.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^canal: group-send to room: 1 member channel was full and did not get the message$/m);
    assert.doesNotMatch(r.stderr, /ERROR|Error:/);
    assert.equal(await redis.zcard(`${prefix}member.free`), 1);
  });
});
