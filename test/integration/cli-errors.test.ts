// What `canal` says when the app module, a flag, the environment or the config is wrong:
// one clear line naming the culprit, no stack trace, exit 1 (load/config) or 2 (usage).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, runCli, tempDir } from './cli-helpers.ts';

const APP = join(FIXTURES, 'cli-app.ts');
const NO_STACK = /\n\s+at .+:\d+:\d+\)?\n/;

describe('canal errors', { concurrency: 4 }, () => {
  const tmp = tempDir();
  before(() => {
    writeFileSync(join(tmp.dir, 'broken.ts'), 'export const app = async () => {};\nconst = 1;\n');
    writeFileSync(
      join(tmp.dir, 'throws.ts'),
      'const port = 1;\nthrow new Error(`cannot reach the database on ${port}`);\n',
    );
    writeFileSync(
      join(tmp.dir, 'bad-dep.ts'),
      "import { x } from './nowhere.js';\nexport default async () => { void x; };\n",
    );
  });
  after(() => tmp.remove());

  it('a missing app file: exit 1 and the path it looked at', async () => {
    const r = await runCli(['serve', 'no/such/app.ts', '--port', '0'], { cwd: tmp.dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^canal: cannot load no\/such\/app\.ts: no file at .*no\/such\/app\.ts\n$/);
  });

  it('a syntax error: exit 1 with file:line:column and the message', async () => {
    const r = await runCli(['serve', 'broken.ts', '--port', '0'], { cwd: tmp.dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /canal: cannot load .*broken\.ts: .*broken\.ts:2:\d+: Unexpected token/);
    assert.doesNotMatch(r.stderr, NO_STACK);
  });

  it('an app module that throws while loading: exit 1, its message and where', async () => {
    const r = await runCli(['serve', 'throws.ts', '--port', '0'], { cwd: tmp.dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /canal: cannot load .*throws\.ts: cannot reach the database on 1 \(at .*throws\.ts:2:\d+\)/);
    assert.doesNotMatch(r.stderr, NO_STACK);
  });

  it('with --log-level debug the underlying error and its stack are shown', async () => {
    const r = await runCli(['serve', 'throws.ts', '--port', '0', '--log-level', 'debug'], { cwd: tmp.dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, NO_STACK);
  });

  it('an import the app module cannot resolve: exit 1 naming it', async () => {
    const r = await runCli(['serve', 'bad-dep.ts', '--port', '0'], { cwd: tmp.dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /canal: cannot load .*bad-dep\.ts: .*nowhere\.js/);
  });

  it('a missing export: exit 1, the module, the export and the exports that exist', async () => {
    const r = await runCli(['serve', `${APP}:nope`, '--port', '0']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /cli-app\.ts has no export 'nope'; it exports default, notAnApp, other \(functions: default, other\)/,
    );
  });

  it('an export that is not a function: exit 1 saying what it is', async () => {
    const r = await runCli(['serve', `${APP}:notAnApp`, '--port', '0']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /cli-app\.ts: export 'notAnApp' is a number, not an application .*functions: default, other/,
    );
  });

  it('no default or application export: exit 1 and how to name one', async () => {
    writeFileSync(join(tmp.dir, 'named.ts'), 'export const chat = async () => {};\n');
    const r = await runCli(['serve', 'named.ts', '--port', '0'], { cwd: tmp.dir });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /has no export 'default' or 'application'; it exports chat .*canal serve named\.ts:<export>/,
    );
  });

  it('a package that does not exist: exit 1', async () => {
    const r = await runCli(['serve', 'no-such-package-canal-test', '--port', '0'], { cwd: tmp.dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot load no-such-package-canal-test: no such file in .*, and no such package/);
  });

  it('no application anywhere: exit 2 and both ways to give one', async () => {
    const r = await runCli(['serve', '--port', '0'], { cwd: tmp.dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no application: give one .* or set application in canal\.config\.ts/);
  });

  for (const [args, pattern] of [
    [['--port', 'abc'], /--port must be a whole number from 0 to 65535, not "abc"/],
    [['--port', '70000'], /--port must be a whole number from 0 to 65535, not "70000"/],
    [['--ping-interval=-1'], /--ping-interval must be a number ≥ 0, not "-1"/],
    [['--max-request-body-size', '1.5'], /--max-request-body-size must be a whole number ≥ 0, not "1\.5"/],
    [['--log-level', 'loud'], /--log-level must be one of debug, info, warn, error, silent, not "loud"/],
    [['--root-path', 'api'], /--root-path must start with '\/', not "api"/],
    [['--access-log', '/no/such/dir/access.log'], /--access-log cannot write to "\/no\/such\/dir\/access\.log"/],
    [['--bogus'], /^canal: unknown option --bogus; canal serve --help lists its options\n$/],
    [['--port'], /^canal: --port needs a value \(canal serve --help\)\n$/],
  ] as const) {
    it(`a bad flag (${args.join(' ')}): exit 2 naming the flag and the value`, async () => {
      const r = await runCli(['serve', APP, ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, pattern);
      assert.doesNotMatch(r.stderr, NO_STACK);
    });
  }

  it('two apps: exit 2', async () => {
    const r = await runCli(['serve', APP, APP]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /takes one application, not 2/);
  });

  it('a bad PORT in the environment: exit 2 naming PORT', async () => {
    const r = await runCli(['serve', APP], { env: { PORT: 'eighty' } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /PORT must be a whole number from 0 to 65535, not "eighty"/);
  });

  it('an unknown LAYER: exit 2 naming the value and the layers there are', async () => {
    const r = await runCli(['serve', APP, '--port', '0'], { env: { LAYER: 'kafka' } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /LAYER must be one of memory, redis, redis-pubsub, not "kafka"/);
  });

  it('a config with an unknown key or a bad server option: exit 2 naming the file', async () => {
    const dir = tempDir();
    try {
      writeFileSync(join(dir.dir, 'canal.config.mjs'), "export default { application: 'x.ts', servr: {} };\n");
      let r = await runCli(['serve'], { cwd: dir.dir });
      assert.equal(r.code, 2);
      assert.match(
        r.stderr,
        /canal\.config\.mjs: unknown config key 'servr'; known keys: application, channelLayers, server/,
      );
      writeFileSync(
        join(dir.dir, 'canal.config.mjs'),
        "export default { application: 'x.ts', server: { pingIntervalMs: -5 } };\n",
      );
      r = await runCli(['serve'], { cwd: dir.dir });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /canal\.config\.mjs: server option 'pingIntervalMs' must be a whole number ≥ 0, not -5/);
    } finally {
      dir.remove();
    }
  });

  it('an unknown flag of worker, send or group-send: exit 2 naming it', async () => {
    for (const command of ['worker', 'send', 'group-send']) {
      const r = await runCli([command, '--bogus', 'a', 'b']);
      assert.equal(r.code, 2, `${command}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^canal: unknown option --bogus; the options of canal ${command} are --`));
      assert.doesNotMatch(r.stderr, NO_STACK);
    }
  });

  it('an unknown command: exit 2 with the usage', async () => {
    const r = await runCli(['srve']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command 'srve'/);
    assert.match(r.stderr, /serve \[app\]/);
  });

  it('--help and --version exit 0', async () => {
    const help = await runCli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /usage: canal <command>/);
    const version = await runCli(['--version']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+/);
  });
});
