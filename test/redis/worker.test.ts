// Background workers on a real Redis: `canal worker` as a child process, messages sent by
// `canal send` and by Python's channels_redis, errors that do not stop the worker, several
// workers sharing one channel, SIGTERM finishing the message in hand, and the refusal to run
// on the in-memory layer.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { cleanPrefix, REDIS_URL, requireRedis, runPeer, uniquePrefix } from './helpers.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CANAL = join(ROOT, 'bin', 'canal.mjs');
let admin: Redis;
const prefixes: string[] = [];
const children: ChildProcess[] = [];

before(async () => {
  admin = await requireRedis();
});
after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const p of prefixes) await cleanPrefix(admin, p);
  admin.disconnect();
});

/** A project folder with a worker app that appends each message to a file. */
function project(prefix: string): { dir: string; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'canal-worker-'));
  const out = join(dir, 'handled.txt');
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(
    join(dir, 'app.ts'),
    `import { appendFileSync } from 'node:fs';
import { AsyncConsumer, ChannelNameRouter, ProtocolTypeRouter } from ${JSON.stringify(join(ROOT, 'src', 'index.ts'))};

class Thumbnailer extends AsyncConsumer {
  async thumbnail_make(event: { id: number; slow?: boolean }) {
    if (event.id < 0) throw new Error('cannot make a thumbnail of ' + event.id);
    if (event.slow) await new Promise((r) => setTimeout(r, 600));
    appendFileSync(${JSON.stringify(out)}, process.pid + ' ' + event.id + '\\n');
  }
}
export default ProtocolTypeRouter({ channel: ChannelNameRouter({ thumbnails: Thumbnailer.asApp() }) });
`,
  );
  writeFileSync(
    join(dir, 'canal.config.ts'),
    `export default { application: './app.ts', channelLayers: { default: { backend: 'redis', options: { ` +
      `hosts: [${JSON.stringify(REDIS_URL)}], prefix: ${JSON.stringify(prefix)}, blockTimeout: 1 } } } };\n`,
  );
  return { dir, out };
}

function startWorker(dir: string, extra: string[] = [], env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CANAL, 'worker', 'thumbnails', ...extra], {
    cwd: dir,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolvePromise, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`worker did not start: ${out}`)), 15000);
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('worker reading')) {
        clearTimeout(t);
        resolvePromise(child);
      }
    });
    child.stderr!.on('data', (d) => (out += d));
    child.on('exit', (code) => reject(new Error(`worker exited (${code}): ${out}`)));
  });
}

function handled(out: string): string[] {
  return existsSync(out) ? readFileSync(out, 'utf8').trim().split('\n').filter(Boolean) : [];
}

async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function run(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [CANAL, ...args], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolvePromise({ code, stderr }));
  });
}

describe('canal worker', () => {
  it('handles messages from canal send and from Python; an error in one message does not stop it', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const { dir, out } = project(prefix);
    await startWorker(dir);
    assert.equal((await run(['send', 'thumbnails', '{"type":"thumbnail.make","id":1}'], dir)).code, 0);
    assert.equal((await run(['send', 'thumbnails', '{"type":"thumbnail.make","id":-1}'], dir)).code, 0);
    await runPeer(['send', 'thumbnails', JSON.stringify({ type: 'thumbnail.make', id: 2 })], { PREFIX: prefix });
    await waitFor(() => handled(out).length >= 2, 10000, 'two messages handled');
    assert.deepEqual(
      handled(out).map((l) => l.split(' ')[1]),
      ['1', '2'],
    );
  });

  it('several workers share a channel: each message to one of them', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const { dir, out } = project(prefix);
    const [a, b] = await Promise.all([startWorker(dir), startWorker(dir)]);
    for (let i = 0; i < 20; i++)
      await runPeer(['send', 'thumbnails', JSON.stringify({ type: 'thumbnail.make', id: i, slow: false })], {
        PREFIX: prefix,
      });
    await waitFor(() => handled(out).length >= 20, 15000, 'twenty messages handled');
    const lines = handled(out);
    assert.equal(lines.length, 20, 'no message handled twice');
    assert.deepEqual(new Set(lines.map((l) => l.split(' ')[1])).size, 20);
    const pids = new Set(lines.map((l) => l.split(' ')[0]));
    assert.ok(pids.size >= 1 && [...pids].every((p) => p === String(a.pid) || p === String(b.pid)));
  });

  it('SIGTERM finishes the message in hand, then exits 0', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const { dir, out } = project(prefix);
    const worker = await startWorker(dir);
    await run(['send', 'thumbnails', '{"type":"thumbnail.make","id":7,"slow":true}'], dir);
    await new Promise((r) => setTimeout(r, 250)); // the worker has it in hand
    const exited = new Promise<number | null>((r) => worker.on('exit', (code) => r(code)));
    worker.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.deepEqual(
      handled(out).map((l) => l.split(' ')[1]),
      ['7'],
    );
  });

  it('refuses to run on the in-memory layer, saying why', async () => {
    const { dir } = project(uniquePrefix());
    const r = await run(['worker', 'thumbnails'], dir, { LAYER: 'memory' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /in-memory layer lives inside one process/);
  });
});
