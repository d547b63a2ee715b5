// Resolving `module[:export]` to an Application, and canal.config.* loading.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describeLoadError, loadApp, resolveModulePath, splitSpec } from '../../src/cli/load-app.ts';
import { defineConfig, loadConfig } from '../../src/cli/config.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

describe('splitSpec', () => {
  it('splits on the last colon', () => {
    assert.deepEqual(splitSpec('app.ts'), { module: 'app.ts', exportName: null });
    assert.deepEqual(splitSpec('src/app.ts:chat'), { module: 'src/app.ts', exportName: 'chat' });
    assert.deepEqual(splitSpec('pkg/sub:a:b'), { module: 'pkg/sub:a', exportName: 'b' });
    assert.deepEqual(splitSpec('app.ts:'), { module: 'app.ts', exportName: null });
  });

  it('does not take node: or a drive letter for an export', () => {
    assert.deepEqual(splitSpec('node:http'), { module: 'node:http', exportName: null });
    assert.deepEqual(splitSpec('node:http:createServer'), { module: 'node:http', exportName: 'createServer' });
    assert.deepEqual(splitSpec('C:\\apps\\app.ts'), { module: 'C:\\apps\\app.ts', exportName: null });
  });
});

describe('resolveModulePath', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'canal-load-'));
    writeFileSync(join(dir, 'app.ts'), '');
    mkdirSync(join(dir, 'chat'));
    writeFileSync(join(dir, 'chat', 'index.ts'), '');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('finds files relative to the working directory, with or without an extension, and folder indexes', () => {
    assert.equal(resolveModulePath('app.ts', dir), join(dir, 'app.ts'));
    assert.equal(resolveModulePath('./app', dir), join(dir, 'app.ts'));
    assert.equal(resolveModulePath('app', dir), join(dir, 'app.ts'));
    assert.equal(resolveModulePath('chat', dir), join(dir, 'chat', 'index.ts'));
    assert.equal(resolveModulePath(join(dir, 'app.ts'), '/'), join(dir, 'app.ts'));
  });

  it('takes a bare name with no such file for a package, and refuses a missing path', () => {
    assert.equal(resolveModulePath('some-package', dir), null);
    assert.equal(resolveModulePath('node:http', dir), null);
    assert.throws(() => resolveModulePath('./gone.ts', dir), {
      code: 'ERR_APP_LOAD',
      message: `cannot load ./gone.ts: no file at ${join(dir, 'gone.ts')}`,
    });
    assert.throws(() => resolveModulePath('gone.ts', dir), /no file at/);
  });
});

describe('loadApp', () => {
  it('loads the default export, a named one, and falls back to application', async () => {
    const mod = await import('../fixtures/cli-app.ts');
    assert.equal(await loadApp('cli-app.ts', FIXTURES), mod.default);
    assert.equal(await loadApp('cli-app.ts:other', FIXTURES), mod.other);
    const only = await import('../fixtures/cli-only-application.ts');
    assert.equal(await loadApp('./cli-only-application', FIXTURES), only.application);
  });

  it('loads a builtin or package export that is a function', async () => {
    const http = await import('node:http');
    assert.equal(await loadApp('node:http:createServer'), http.createServer);
  });

  it('refuses an export that is missing or not a function, listing what exists', async () => {
    await assert.rejects(loadApp('cli-app.ts:missing', FIXTURES), {
      code: 'ERR_APP_LOAD',
      message:
        `${join(FIXTURES, 'cli-app.ts')} has no export 'missing'; ` +
        `it exports default, notAnApp, other (functions: default, other). ` +
        `Name the application's export: canal serve cli-app.ts:<export>`,
    });
    await assert.rejects(loadApp('cli-app.ts:notAnApp', FIXTURES), /export 'notAnApp' is a number, not an application/);
    await assert.rejects(loadApp('node:path'), /node:path has no export 'default' or 'application'/);
  });
});

describe('describeLoadError', () => {
  it("gives a syntax error's file:line:column and message, from the caret Node prints under the line", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'canal-syntax-'));
    writeFileSync(join(dir, 'broken.ts'), 'export default async () => {\n  const = 1;\n};\n');
    const err = await import(pathToFileURL(join(dir, 'broken.ts')).href).then(
      () => null,
      (e: unknown) => e,
    );
    assert.match(describeLoadError(err), /broken\.ts:2:9: Unexpected token/);
  });

  it('says what to do about TypeScript syntax that type stripping cannot run (an enum)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'canal-syntax-'));
    writeFileSync(join(dir, 'enum.ts'), 'enum A { X }\nexport default async () => A.X;\n');
    const err = await import(pathToFileURL(join(dir, 'enum.ts')).href).then(
      () => null,
      (e: unknown) => e,
    );
    assert.match(describeLoadError(err), /enum\.ts:1:1: .*enum.*erasableSyntaxOnly.*compile it with tsc/);
  });

  it("gives a runtime error's first line and the first frame outside Canal and node_modules", () => {
    const err = new Error('boom\nmore detail');
    err.stack =
      'Error: boom\n    at f (node:internal/x:1:1)\n    at /srv/node_modules/lib/a.js:2:2\n' +
      '    at Object.<anonymous> (/srv/app.ts:12:9)\n';
    assert.equal(describeLoadError(err), 'boom (at /srv/app.ts:12:9)');
    assert.equal(describeLoadError('plain'), 'plain');
  });
});

describe('loadConfig', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'canal-config-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is empty without a config file', async () => {
    assert.deepEqual(await loadConfig(dir), { config: {}, path: null, dir });
  });

  it('reads canal.config.ts (TypeScript, default export), preferring it to .js', async () => {
    writeFileSync(join(dir, 'canal.config.js'), 'module.exports = { application: "wrong.ts" };\n');
    writeFileSync(
      join(dir, 'canal.config.ts'),
      "const port: number = 0;\nexport default { application: 'app.ts:chat', server: { port } };\n",
    );
    const { config, path } = await loadConfig(dir);
    assert.equal(path, join(dir, 'canal.config.ts'));
    assert.deepEqual(config, { application: 'app.ts:chat', server: { port: 0 } });
  });

  it('defineConfig returns its argument', () => {
    const c = { application: 'a.ts' };
    assert.equal(defineConfig(c), c);
  });

  it('refuses unknown keys, a non-string application and bad server options, naming the file', async () => {
    // A fresh folder per case: a module, once imported, is cached for the process.
    const config = (name: string, text: string) => {
      const sub = mkdtempSync(join(dir, 'bad-'));
      writeFileSync(join(sub, name), text);
      return { sub, path: join(sub, name) };
    };
    const a = config('canal.config.mjs', 'export default { channelLayer: {} };\n');
    await assert.rejects(loadConfig(a.sub), {
      code: 'ERR_INVALID_OPTION',
      message: `${a.path}: unknown config key 'channelLayer'; known keys: application, channelLayers, server, workers`,
    });
    const b = config('canal.config.ts', 'export default { application: 42 };\n');
    await assert.rejects(
      loadConfig(b.sub),
      /canal\.config\.ts: application must be a string 'path\/to\/app\.ts\[:export\]', not 42/,
    );
    const c = config('canal.config.ts', "export default { server: { port: 'eighty' } };\n");
    await assert.rejects(
      loadConfig(c.sub),
      /canal\.config\.ts: server option 'port' must be a whole number ≥ 0, not eighty/,
    );
    const d = config('canal.config.ts', 'export const x = 1;\n');
    await assert.rejects(loadConfig(d.sub), /canal\.config\.ts must export default a config object/);
  });
});
