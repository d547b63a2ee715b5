// Workers inside `canal serve` on the in-memory layer: the config's `workers` run there (nothing
// else can read them), `--worker` adds channels, `--no-workers` turns the config's off,
// `--worker-concurrency`, and SIGTERM finishing the message in hand before lifespan shutdown.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, get, runCli, serve, startCli, stop, tempDir, type Cli } from './cli-helpers.ts';

const APP = join(FIXTURES, 'cli-jobs-app.ts');

async function enqueue(cli: Cli & { url: string }, query: string): Promise<void> {
  const res = await get(`${cli.url}/enqueue?${query}`);
  assert.equal(res.status, 202, res.text);
}

/** Resolves after `ms` unless stdout matched `pattern` by then, which fails the test. */
async function neverPrints(cli: Cli, pattern: RegExp, ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
  assert.doesNotMatch(cli.stdout(), pattern);
}

describe('canal serve: in-process workers on the in-memory layer', { concurrency: 3 }, () => {
  const tmp = tempDir();
  let config: string;
  before(() => {
    config = join(tmp.dir, 'canal.config.mjs');
    writeFileSync(config, `export default { application: ${JSON.stringify(APP)}, workers: ['jobs'] };\n`);
  });
  after(() => tmp.remove());

  it("runs the config's workers after lifespan startup, on the layer the app sends to", async () => {
    const cli = await serve(['--port', '0'], { cwd: tmp.dir });
    try {
      assert.match(
        cli.stdout(),
        /canal: running workers for jobs in this process \(in-memory layer; with Redis run canal worker\)/,
      );
      await enqueue(cli, 'id=first');
      await cli.waitFor(new RegExp(`fixture: jobs done first \\(lifespan up, pid ${cli.child.pid}\\)`), 5000);
    } finally {
      assert.equal(await stop(cli), 0);
    }
  });

  it('--worker runs channels the config does not list (a,b and repeated), --worker-concurrency N at once', async () => {
    const cli = await serve([
      APP,
      '--port',
      '0',
      '--worker',
      'jobs,mail',
      '--worker',
      'jobs',
      '--worker-concurrency',
      '2',
    ]);
    try {
      assert.match(cli.stdout(), /canal: running workers for jobs, mail in this process \(--worker\)/);
      await enqueue(cli, 'id=a&ms=700');
      await enqueue(cli, 'id=b&ms=700');
      await enqueue(cli, 'channel=mail&id=m');
      await cli.waitFor(/fixture: mail done m/, 5000);
      await cli.waitFor(/fixture: jobs done b/, 5000);
      await cli.waitFor(/fixture: jobs done a/, 5000);
      // Two of one channel in hand at once: both started before the first one ended.
      const out = cli.stdout();
      assert.ok(out.indexOf('jobs started b') < out.indexOf('jobs done a'), out);
    } finally {
      assert.equal(await stop(cli), 0);
    }
  });

  it('with concurrency 1 (the default) a channel handles one message after another', async () => {
    const cli = await serve([APP, '--port', '0', '--worker', 'jobs']);
    try {
      await enqueue(cli, 'id=a&ms=400');
      await enqueue(cli, 'id=b');
      await cli.waitFor(/fixture: jobs done b/, 5000);
      const out = cli.stdout();
      assert.ok(out.indexOf('jobs done a') < out.indexOf('jobs started b'), out);
    } finally {
      assert.equal(await stop(cli), 0);
    }
  });

  it("--no-workers leaves the config's workers off, and says so; --worker still runs its own", async () => {
    const off = await serve(['--port', '0', '--no-workers'], { cwd: tmp.dir });
    try {
      assert.match(off.stdout(), /canal: not running workers for jobs \(--no-workers\)/);
      assert.doesNotMatch(off.stdout(), /canal: running workers for/);
      await enqueue(off, 'id=ignored');
      await neverPrints(off, /fixture: jobs started/, 800);
    } finally {
      assert.equal(await stop(off), 0);
    }
    const explicit = await serve(['--port', '0', '--no-workers', '--worker', 'jobs'], { cwd: tmp.dir });
    try {
      await enqueue(explicit, 'id=explicit');
      await explicit.waitFor(/fixture: jobs done explicit/, 5000);
    } finally {
      assert.equal(await stop(explicit), 0);
    }
  });

  it('on SIGTERM finishes the message in hand before lifespan shutdown, then exits 0', async () => {
    const cli = await serve(['--port', '0'], { cwd: tmp.dir });
    await enqueue(cli, 'id=slow&ms=800');
    await cli.waitFor(/fixture: jobs started slow/, 5000);
    cli.child.kill('SIGTERM');
    assert.equal(await cli.exited(), 0);
    const out = cli.stdout();
    assert.match(out, /fixture: jobs done slow \(lifespan up/);
    assert.ok(out.indexOf('SIGTERM, shutting down') < out.indexOf('jobs done slow'), out);
    assert.ok(out.indexOf('jobs done slow') < out.indexOf('fixture: lifespan shutdown'), out);
  });

  it('gives a message in hand no more than --drain-timeout, then shuts down anyway', async () => {
    const cli = await serve(['--port', '0', '--drain-timeout', '0.3'], { cwd: tmp.dir });
    await enqueue(cli, 'id=stuck&ms=5000');
    await cli.waitFor(/fixture: jobs started stuck/, 5000);
    const started = Date.now();
    cli.child.kill('SIGTERM');
    assert.equal(await cli.exited(), 0);
    assert.ok(Date.now() - started < 4500, 'shutdown did not wait for the 5 s message');
    assert.match(cli.stderr(), /1 messages still in hand after the 300 ms drain timeout/);
    assert.doesNotMatch(cli.stdout(), /jobs done stuck/);
  });

  for (const [args, pattern] of [
    [['--worker', 'jobs!local'], /--worker: channel "jobs!local" must be a named channel \(no '!'\)/],
    [['--worker', 'bad name'], /--worker: channel name "bad name" is not valid/],
    [['--worker', 'jobs,'], /--worker: channel name "" is not valid/],
    [['--worker-concurrency', '0'], /--worker-concurrency must be a whole number ≥ 1, not "0"/],
  ] as const) {
    it(`refuses ${args.join(' ')} with exit 2 naming the flag and the value`, async () => {
      const r = await runCli(['serve', APP, '--port', '0', ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, pattern);
    });
  }

  it('serve --help and worker --help list the worker and config flags', async () => {
    const help = startCli(['serve', '--help']);
    assert.equal(await help.exited(), 0);
    for (const flag of ['--worker CHANNEL', '--no-workers', '--worker-concurrency N', '--config PATH'])
      assert.ok(help.stdout().includes(flag), `serve --help mentions ${flag}`);
    const worker = await runCli(['worker', '--help']);
    assert.equal(worker.code, 0);
    assert.match(worker.stdout, /default: workers of canal\.config\.ts/);
    assert.match(worker.stdout, /--config PATH/);
  });
});
