// The config's `workers` key and `--config` / CANAL_CONFIG lookup in loadConfig, worker channel
// arguments, and which channels `canal serve` runs in its own process.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/cli/config.ts';
import { configFile } from '../../src/cli/options.ts';
import { serveWorkerPlan, workerChannels } from '../../src/cli/worker-channels.ts';
import { Worker } from '../../src/worker/worker.ts';
import { InMemoryChannelLayer } from '../../src/layers/memory.ts';

describe('loadConfig: workers', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'canal-config-workers-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  // A fresh file per case: a module, once imported, is cached for the process.
  let n = 0;
  const write = (text: string) => {
    const path = join(dir, `case-${n++}.config.mjs`);
    writeFileSync(path, text);
    return path;
  };

  it('accepts an array of named channels, and an empty one', async () => {
    const path = write("export default { workers: ['thumbnails', 'mail.out', 'a-b_c'] };\n");
    const loaded = await loadConfig(dir, { file: path });
    assert.deepEqual(loaded, { config: { workers: ['thumbnails', 'mail.out', 'a-b_c'] }, path, dir });
    assert.deepEqual((await loadConfig(dir, { file: write('export default { workers: [] };\n') })).config, {
      workers: [],
    });
  });

  it(
    'refuses a non-array, a bad name, a process-local name and a non-string, ' +
      'naming the file, the key and the value',
    async () => {
      const cases: [string, RegExp][] = [
        [
          "{ workers: 'thumbnails' }",
          /workers must be an array of channel names, e\.g\. workers: \['thumbnails'\], not "thumbnails"$/,
        ],
        ['{ workers: null }', /workers must be an array of channel names.*, not null$/],
        ['{ workers: { thumbnails: true } }', /workers must be an array of channel names.*, not an object$/],
        ["{ workers: ['ok', 'no spaces'] }", /workers\[1\]: channel name "no spaces" is not valid/],
        ["{ workers: ['reply!abc'] }", /workers\[0\]: channel "reply!abc" must be a named channel \(no '!'\)/],
        ["{ workers: [''] }", /workers\[0\]: channel name "" is not valid/],
        [`{ workers: ['${'x'.repeat(100)}'] }`, /workers\[0\]: channel name "x{100}" is not valid/],
        ['{ workers: [42] }', /workers\[0\]: channel name a number is not valid/],
      ];
      for (const [config, pattern] of cases) {
        const path = write(`export default ${config};\n`);
        await assert.rejects(loadConfig(dir, { file: path }), (err: Error & { code?: string }) => {
          assert.equal(err.code, 'ERR_INVALID_OPTION');
          assert.ok(err.message.startsWith(`${path}: `), err.message);
          assert.match(err.message, pattern);
          return true;
        });
      }
    },
  );
});

describe('loadConfig: a given file', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'canal-config-given-'));
    mkdirSync(join(dir, 'project'));
    mkdirSync(join(dir, 'empty'));
    writeFileSync(join(dir, 'project', 'canal.config.mjs'), "export default { application: 'src/app.ts' };\n");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("reads a file relative to cwd, or the config in a folder; dir is the config file's folder", async () => {
    const path = join(dir, 'project', 'canal.config.mjs');
    assert.deepEqual(await loadConfig(join(dir, 'empty'), { file: '../project/canal.config.mjs' }), {
      config: { application: 'src/app.ts' },
      path,
      dir: join(dir, 'project'),
    });
    assert.equal((await loadConfig(dir, { file: 'project' })).path, path);
  });

  it('without one, dir is the working directory', async () => {
    assert.deepEqual(await loadConfig(join(dir, 'empty')), { config: {}, path: null, dir: join(dir, 'empty') });
  });

  it('names where the path came from when there is no such file', async () => {
    await assert.rejects(loadConfig(dir, { file: 'nope.ts' }), {
      code: 'ERR_INVALID_OPTION',
      message: `--config nope.ts: no file at ${join(dir, 'nope.ts')}`,
    });
    await assert.rejects(loadConfig(dir, { file: 'nope.ts', from: 'CANAL_CONFIG' }), {
      message: `CANAL_CONFIG nope.ts: no file at ${join(dir, 'nope.ts')}`,
    });
    await assert.rejects(loadConfig(dir, { file: 'empty' }), {
      message: /^--config empty: no canal\.config\.ts, .* in the folder .*empty$/,
    });
    await assert.rejects(loadConfig(dir, { file: '' }), { message: /^--config: give the path of a config file/ });
  });

  it('configFile: --config, else CANAL_CONFIG, else none', () => {
    assert.deepEqual(configFile('a.ts', { CANAL_CONFIG: 'b.ts' }), { file: 'a.ts', from: '--config' });
    assert.deepEqual(configFile(undefined, { CANAL_CONFIG: 'b.ts' }), { file: 'b.ts', from: 'CANAL_CONFIG' });
    assert.equal(configFile(undefined, { CANAL_CONFIG: '' }), undefined);
    assert.equal(configFile(undefined, {}), undefined);
  });
});

describe('workerChannels', () => {
  it('splits on commas, trims, and drops duplicates in order', () => {
    assert.deepEqual(workerChannels(['jobs,mail', ' jobs ', 'thumbs'], '--worker'), ['jobs', 'mail', 'thumbs']);
    assert.deepEqual(workerChannels([], '--worker'), []);
  });

  it('refuses a bad or process-local name, prefixed with where it came from', () => {
    assert.throws(() => workerChannels(['a b'], '--worker'), {
      code: 'ERR_INVALID_OPTION',
      message: /^--worker: channel name "a b" is not valid/,
    });
    assert.throws(() => workerChannels(['jobs,x!y'], 'canal worker'), {
      code: 'ERR_INVALID_OPTION',
      message: /^canal worker: channel "x!y" must be a named channel/,
    });
  });
});

describe('serveWorkerPlan', () => {
  const plan = (flagged: string[], configured: string[], inMemory: boolean, noWorkers = false) =>
    serveWorkerPlan({ flagged, configured, inMemory, noWorkers });

  it("runs the config's workers on the in-memory layer, and says why", () => {
    assert.deepEqual(plan([], ['thumbnails'], true), {
      channels: ['thumbnails'],
      lines: ['running workers for thumbnails in this process (in-memory layer; with Redis run canal worker)'],
    });
  });

  it("leaves the config's workers to canal worker on a shared layer, and says how to run one here", () => {
    const p = plan([], ['thumbnails', 'mail'], false);
    assert.deepEqual(p.channels, []);
    assert.match(
      p.lines[0]!,
      new RegExp(
        /^not running workers for thumbnails, mail here: /.source +
          /on a shared layer they belong to canal worker processes \(--worker thumbnails runs one here\)$/.source,
      ),
    );
  });

  it('--worker channels run whatever the layer and whatever --no-workers says', () => {
    assert.deepEqual(plan(['jobs'], [], false).channels, ['jobs']);
    assert.deepEqual(plan(['jobs'], ['jobs', 'thumbnails'], true, true), {
      channels: ['jobs'],
      lines: [
        'running workers for jobs in this process (--worker)',
        'not running workers for thumbnails (--no-workers): on the in-memory layer nothing else reads them',
      ],
    });
    // A channel both flagged and configured is read once.
    assert.deepEqual(plan(['jobs'], ['jobs', 'thumbnails'], true).channels, ['jobs', 'thumbnails']);
    assert.deepEqual(plan(['thumbnails'], ['thumbnails'], false), {
      channels: ['thumbnails'],
      lines: ['running workers for thumbnails in this process (--worker)'],
    });
  });

  it('nothing to run: nothing said', () => {
    assert.deepEqual(plan([], [], true), { channels: [], lines: [] });
  });
});

describe('Worker channel checks', () => {
  it('refuses an invalid or process-local channel at construction', () => {
    const layer = new InMemoryChannelLayer();
    const app = async () => {};
    assert.throws(() => new Worker({ app, layer, channels: ['bad name'] }), {
      code: 'ERR_INVALID_OPTION',
      message: /^worker channel name "bad name" is not valid/,
    });
    assert.throws(() => new Worker({ app, layer, channels: ['x!y'] }), {
      code: 'ERR_INVALID_OPTION',
      message: /^worker channel "x!y" must be a named channel/,
    });
    void layer.close();
  });
});
