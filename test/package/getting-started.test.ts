// docs/getting-started.md, followed word for word in a fresh project: its files are written from
// the page's titled code blocks, Canal is installed from the packed tarball (as `npm install
// canaljs` would from the registry), and its commands are run as the page gives them.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, canal, freshProject, packOnce, removeProject, type Running } from './packed.ts';

const PAGE = readFileSync(join(ROOT, 'docs', 'getting-started.md'), 'utf8');

/** The page's code blocks whose info string gives a file name: ```ts title="app.ts". */
function titledBlocks(markdown: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const m of markdown.matchAll(/^```\w+ title="([^"]+)"\n([\s\S]*?)^```$/gm)) files[m[1]!] = m[2]!;
  return files;
}

/** The shell commands of the page's ```sh blocks, one per line. */
function commands(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].flatMap((m) => m[1]!.trim().split('\n'));
}

/** Runs a command as a shell would, outside this test runner's own context. */
function run(dir: string, command: string): string {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  return execSync(command, { cwd: dir, env, encoding: 'utf8', timeout: 300_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('docs/getting-started.md, followed in a fresh project', () => {
  const files = titledBlocks(PAGE);
  const steps = commands(PAGE);
  let dir = '';
  const running: Running[] = [];

  before(() => {
    assert.deepEqual(Object.keys(files).sort(), [
      'app.ts',
      'canal.config.ts',
      'consumers.ts',
      'lobby.test.ts',
      'tsconfig.json',
    ]);
    dir = freshProject('getting-started', { ...files, 'package.json': '{}' });
  });

  after(async () => {
    for (const r of running) await r.stop();
    if (dir) removeProject(dir);
  });

  it('sets up the project with the commands of step 1 (canaljs from the tarball)', () => {
    for (const step of [
      'npm init -y',
      'npm pkg set type=module',
      'npm install canaljs',
      'npm install --save-dev typescript @types/node',
    ]) {
      assert.ok(steps.includes(step), `the page gives \`${step}\``);
    }
    run(dir, 'npm init -y');
    run(dir, 'npm pkg set type=module');
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', packOnce()], {
      cwd: dir,
      timeout: 300_000,
    });
    run(dir, 'npm install --save-dev --no-audit --no-fund --prefer-offline --loglevel=error typescript @types/node');
  });

  it("passes the page's tests and its type check (step 5)", () => {
    assert.ok(steps.includes('node --import canaljs/register --test'));
    assert.ok(steps.includes('npx tsc'));
    const tested = run(dir, 'node --import canaljs/register --test');
    assert.match(tested, /# pass 1\n# fail 0|ℹ pass 1\nℹ fail 0/);
    run(dir, 'npx tsc');
  });

  it('serves the lobby and the shout worker as step 4 says', async () => {
    assert.ok(steps.includes('npx canal serve'));
    const server = canal(dir, ['serve', '--port', '0']);
    running.push(server);
    const [, url] = await server.waitFor(/listening on (http:\/\/\S+)/);
    const ws = new WebSocket(`${url!.replace('http', 'ws')}/ws/lobby/`);
    const frames: string[] = [];
    ws.addEventListener('message', (e) => frames.push(String(e.data)));
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve());
      ws.addEventListener('error', () => reject(new Error('no WebSocket connection to the lobby')));
    });
    ws.send(JSON.stringify({ text: 'hello' }));
    ws.send(JSON.stringify({ text: 'hi', shout: true }));
    const deadline = Date.now() + 10_000;
    while (frames.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    ws.close();
    assert.deepEqual(
      frames.map((f) => JSON.parse(f)).sort((a, b) => Object.keys(a)[0]!.localeCompare(Object.keys(b)[0]!)),
      [{ shouted: 'HI' }, { text: 'hello' }],
    );
  });
});
