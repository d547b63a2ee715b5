// `--config PATH` and CANAL_CONFIG: a config file read from another working directory, with its
// paths relative to its own folder; a missing or broken one, and bad `workers` values, are one
// line naming the file, exit 2.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, get, runCli, serve, stop, tempDir } from './cli-helpers.ts';

const NO_STACK = /\n\s+at .+:\d+:\d+\)?\n/;

describe('canal --config', { concurrency: 4 }, () => {
  const tmp = tempDir();
  const project = join(tmp.dir, 'project');
  const elsewhere = join(tmp.dir, 'elsewhere');
  before(() => {
    mkdirSync(join(project, 'src'), { recursive: true });
    mkdirSync(join(project, 'logs'));
    mkdirSync(elsewhere);
    // No package.json: the config and the app load as CommonJS TypeScript.
    const app = (name: string) => `export default async (scope: any, _receive: any, send: any) => {
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: ${JSON.stringify(name)} });
    };\n`;
    writeFileSync(join(project, 'src', 'app.ts'), app('project app'));
    writeFileSync(join(elsewhere, 'app.ts'), app('app from the working directory'));
    writeFileSync(
      join(project, 'canal.config.ts'),
      `export default { application: 'src/app.ts', server: { port: 0, accessLog: 'logs/access.log' } };\n`,
    );
    writeFileSync(join(tmp.dir, 'broken.config.ts'), 'export default { application: \n');
    writeFileSync(join(tmp.dir, 'throws.config.mjs'), "throw new Error('SECRET_KEY is not set');\n");
  });
  after(() => tmp.remove());

  it("reads the file --config names; its application and accessLog are relative to the config's folder", async () => {
    const cli = await serve(['--config', '../project/canal.config.ts'], { cwd: elsewhere });
    try {
      assert.equal((await get(`${cli.url}/logged`)).text, 'project app');
    } finally {
      assert.equal(await stop(cli), 0);
    }
    assert.match(readFileSync(join(project, 'logs', 'access.log'), 'utf8'), /"GET \/logged HTTP\/1\.1" 200/);
    assert.equal(existsSync(join(elsewhere, 'logs')), false);
  });

  it('CANAL_CONFIG names the file (or its folder) when --config is not given; --config wins', async () => {
    const cli = await serve([], { cwd: elsewhere, env: { CANAL_CONFIG: project } });
    try {
      assert.equal((await get(cli.url)).text, 'project app');
    } finally {
      assert.equal(await stop(cli), 0);
    }
    const flagged = await serve(['--config', join(project, 'canal.config.ts')], {
      cwd: elsewhere,
      env: { CANAL_CONFIG: join(tmp.dir, 'nowhere.ts') },
    });
    try {
      assert.equal((await get(flagged.url)).text, 'project app');
    } finally {
      assert.equal(await stop(flagged), 0);
    }
  });

  it('an app given on the command line stays relative to the working directory', async () => {
    const cli = await serve(['app.ts', '--config', '../project'], { cwd: elsewhere });
    try {
      assert.equal((await get(cli.url)).text, 'app from the working directory');
    } finally {
      assert.equal(await stop(cli), 0);
    }
  });

  it(
    'a missing --config or CANAL_CONFIG file, or a folder without a config: ' + 'exit 2, one line naming the path',
    async () => {
      for (const command of ['serve', 'worker', 'send', 'group-send']) {
        const args = command === 'serve' || command === 'worker' ? [command] : [command, 'somewhere', '{"type": "x"}'];
        const r = await runCli([...args, '--config', 'nope.config.ts'], { cwd: elsewhere });
        assert.equal(r.code, 2, `${command}: ${r.stderr}`);
        assert.equal(r.stderr, `canal: --config nope.config.ts: no file at ${join(elsewhere, 'nope.config.ts')}\n`);
      }
      let r = await runCli(['serve'], { cwd: elsewhere, env: { CANAL_CONFIG: '/no/such/canal.config.ts' } });
      assert.equal(r.code, 2);
      assert.equal(r.stderr, 'canal: CANAL_CONFIG /no/such/canal.config.ts: no file at /no/such/canal.config.ts\n');
      r = await runCli(['serve', '--config', '.'], { cwd: elsewhere });
      assert.equal(r.code, 2);
      assert.match(
        r.stderr,
        new RegExp(
          /^canal: --config \.: no canal\.config\.ts, canal\.config\.mts, canal\.config\.cts, /.source +
            /canal\.config\.js, canal\.config\.mjs, canal\.config\.cjs in the folder .*elsewhere\n$/.source,
        ),
      );
    },
  );

  it('a config that cannot be loaded: exit 2, naming the file and why', async () => {
    let r = await runCli(['serve', '--config', join(tmp.dir, 'broken.config.ts')]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^canal: cannot load config .*broken\.config\.ts: .*broken\.config\.ts:\d+(:\d+)?: /);
    assert.doesNotMatch(r.stderr, NO_STACK);
    r = await runCli(['worker', '--config', join(tmp.dir, 'throws.config.mjs')]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^canal: cannot load config .*throws\.config\.mjs: SECRET_KEY is not set/);
  });

  for (const [name, workers, pattern] of [
    [
      'a string',
      "'thumbnails'",
      /workers must be an array of channel names, e\.g\. workers: \['thumbnails'\], not "thumbnails"/,
    ],
    [
      'a process-local name',
      "['thumbnails', 'reply!x']",
      /workers\[1\]: channel "reply!x" must be a named channel \(no '!'\)/,
    ],
    ['an invalid name', "['thumb nails']", /workers\[0\]: channel name "thumb nails" is not valid/],
    ['a number', '[7]', /workers\[0\]: channel name a number is not valid/],
  ] as const) {
    it(`workers as ${name}: serve and worker exit 2 naming the file, the key and the value`, async () => {
      const file = join(tmp.dir, `workers-${name.replace(/\W+/g, '-')}.config.mjs`);
      writeFileSync(
        file,
        `export default { application: ${JSON.stringify(join(FIXTURES, 'cli-jobs-app.ts'))}, workers: ${workers} };\n`,
      );
      for (const command of ['serve', 'worker']) {
        const r = await runCli([command, '--config', file]);
        assert.equal(r.code, 2, `${command}: ${r.stderr}`);
        assert.match(
          r.stderr,
          new RegExp(`^canal: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: ${pattern.source}`),
        );
      }
    });
  }

  it('worker with no channels and no workers in the config: exit 2 naming the key and the file', async () => {
    let r = await runCli(['worker'], { cwd: elsewhere });
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /name at least one channel to read: canal worker thumbnails, or list them in workers of canal\.config\.ts/,
    );
    r = await runCli(['worker', '--config', project]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      new RegExp(`or list them in workers of ${join(project, 'canal.config.ts').replace(/\./g, '\\.')}`),
    );
  });

  it("worker reads the config's workers, and on the in-memory layer says canal serve runs them", async () => {
    const file = join(tmp.dir, 'memory-workers.config.mjs');
    writeFileSync(
      file,
      `export default { application: ${JSON.stringify(join(FIXTURES, 'cli-jobs-app.ts'))}, ` +
        `workers: ['thumbnails'] };\n`,
    );
    const r = await runCli(['worker', '--config', file]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /the in-memory layer lives inside one process.*canal serve runs the workers in its own process/,
    );
  });

  it('worker refuses a bad channel argument before reading anything (exit 2)', async () => {
    const r = await runCli(['worker', 'jobs,reply!x', '--app', join(FIXTURES, 'cli-jobs-app.ts')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /canal worker: channel "reply!x" must be a named channel/);
  });
});
