// `canal serve --processes N` on real sockets: connections reach every process, a group message
// crosses processes through Redis, a killed process is started again, SIGTERM stops them all
// (WebSockets closed with 1012, exit 0), and the in-memory layer and bad counts are refused.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { WebSocket } from 'ws';
import { cleanPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../redis/helpers.ts';
import { runCli, serve, startCli, stop, tempDir, type Cli } from './cli-helpers.ts';
import { closed, messages, opened, until } from './server-ws-helpers.ts';

// HTTP answers the process's pid (/slow: after 20 s). A WebSocket is greeted with its process's pid, sends what it
// is sent to the group `room`, and receives the group's messages with the receiving pid added.
const APP = `import { WebsocketConsumer } from 'canaljs';
class Room extends WebsocketConsumer {
  static groups = ['room'];
  async connect() { await this.accept(); await this.send('pid ' + process.pid); }
  async receive({ text }) {
    await this.channelLayer.groupSend('room', { type: 'room.message', text: text + ' from ' + process.pid });
  }
  async room_message(event) { await this.send(event.text + ' to ' + process.pid); }
}
const room = Room.asApp();
export default async function app(scope, receive, send) {
  if (scope.type === 'websocket') return room(scope, receive, send);
  if (scope.type !== 'http') return;
  if (scope.path === '/slow') await new Promise((r) => setTimeout(r, 20000));
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
  await send({ type: 'http.response.body', body: Buffer.from(String(process.pid)) });
}
`;

/** One request on a connection of its own (each new connection goes to the next process). */
function pidOf(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve(Number(body)));
    });
    req.on('error', reject).on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

async function pids(url: string, requests: number): Promise<Set<number>> {
  const seen = new Set<number>();
  for (let i = 0; i < requests; i++) seen.add(await pidOf(url));
  return seen;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A WebSocket and the pid of the process that took it. */
async function connect(url: string): Promise<{ ws: WebSocket; pid: number }> {
  const ws = new WebSocket(url.replace('http:', 'ws:'));
  const greeting = messages(ws, 1);
  await opened(ws);
  const [text] = await greeting;
  return { ws, pid: Number(String(text).replace('pid ', '')) };
}

describe('canal serve --processes', () => {
  let redis: Redis;
  const prefixes: string[] = [];
  const tmp = tempDir();
  const app = join(tmp.dir, 'pid-app.mjs');
  writeFileSync(app, APP);
  const running: Cli[] = [];

  /** A config with a Redis layer under a prefix of its own. */
  function redisConfig(): string {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const file = join(tmp.dir, `${prefix}.config.mjs`);
    writeFileSync(
      file,
      `export default { channelLayers: { default: { backend: 'redis', options: { ` +
        `hosts: [${JSON.stringify(REDIS_URL)}], prefix: '${prefix}', blockTimeout: 1 } } } };\n`,
    );
    return file;
  }

  before(async () => {
    redis = await requireRedis();
  });
  after(async () => {
    for (const cli of running) if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
    for (const p of prefixes) await cleanPrefix(redis, p).catch(() => {});
    redis?.disconnect();
    tmp.remove();
  });

  it('answers from every process and carries a group message from one to another', async () => {
    const cli = await serve([app, '--port', '0', '--processes', '2', '--config', redisConfig()]);
    running.push(cli);
    const line = cli.stdout().match(/canal: listening on \S+ \(pid (\d+)\), 2 processes \(pids (\d+), (\d+)\), (.*)/);
    assert.ok(line, cli.stdout());
    assert.equal(Number(line[1]), cli.child.pid);
    assert.match(line[4]!, /^app .*pid-app\.mjs:default, layer redis \(redis:\/\/127\.0\.0\.1:6379\/0\)$/);
    const children = new Set([Number(line[2]), Number(line[3])]);
    assert.deepEqual(await pids(cli.url, 4), children);

    const a = await connect(cli.url);
    let b = await connect(cli.url);
    for (let i = 0; i < 4 && b.pid === a.pid; i++) {
      b.ws.close();
      b = await connect(cli.url);
    }
    assert.notEqual(a.pid, b.pid);
    const atB = messages(b.ws, 1);
    const atA = messages(a.ws, 1);
    a.ws.send('hello');
    assert.deepEqual(await atB, [`hello from ${a.pid} to ${b.pid}`]);
    assert.deepEqual(await atA, [`hello from ${a.pid} to ${a.pid}`]);

    // SIGTERM: every process closes its WebSockets with 1012 and the primary exits 0.
    const closes = [closed(a.ws), closed(b.ws)];
    assert.equal(await stop(cli), 0);
    assert.deepEqual(
      (await Promise.all(closes)).map((c) => c.code),
      [1012, 1012],
    );
    assert.match(cli.stdout(), /canal: SIGTERM, stopping 2 processes/);
    for (const pid of children) assert.equal(alive(pid), false);
  });

  it('starts a killed process again and keeps answering meanwhile', async () => {
    const cli = await serve([app, '--port', '0', '--processes', '2', '--config', redisConfig()]);
    running.push(cli);
    const victim = await pidOf(cli.url);
    process.kill(victim, 'SIGKILL');
    // Once the primary has seen the exit (a connection handed over in the instant before is
    // lost with the process), the other process takes every connection until the new one listens.
    const restartLine = new RegExp(
      `canal: process ${victim} exited on SIGKILL; starting another in 0\\.5 s ` +
        '\\(restart 1 of at most 5 within 60 s\\)',
    );
    await until(() => restartLine.test(cli.stderr()), 3000, 'the restart line');
    assert.equal((await pids(cli.url, 3)).has(victim), false);
    const again = await cli.waitFor(/canal: process (\d+) listening \(started again\)/, 8000);
    const seen = await pids(cli.url, 4);
    assert.equal(seen.size, 2);
    assert.ok(seen.has(Number(again[1])));
    assert.equal(await stop(cli), 0);
  });

  it('refuses the in-memory layer with more than one process, unless told', async () => {
    const refused = await runCli(['serve', app, '--port', '0', '--processes', '2'], { cwd: tmp.dir });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /canal: --processes 2 with the in-memory layer: .*--allow-memory-layer-split/);
    assert.equal(refused.stdout, '');

    const cli = await serve([app, '--port', '0', '--processes', '2', '--allow-memory-layer-split'], {
      cwd: tmp.dir,
    });
    running.push(cli);
    assert.match(cli.stdout(), /2 processes .*layer memory/);
    assert.equal((await pids(cli.url, 4)).size, 2);
    assert.equal(await stop(cli), 0);
  });

  it('a second signal stops the processes at once, exit 1', async () => {
    const cli = await serve([app, '--port', '0', '--processes', '2', '--allow-memory-layer-split'], {
      cwd: tmp.dir,
    });
    running.push(cli);
    const children = cli
      .stdout()
      .match(/\(pids (\d+), (\d+)\)/)!
      .slice(1)
      .map(Number);
    const slow = pidOf(`${cli.url}/slow`).catch(() => 0);
    await new Promise((r) => setTimeout(r, 200));
    cli.child.kill('SIGTERM');
    await cli.waitFor(/canal: SIGTERM, stopping 2 processes/);
    // One process holds /slow for --drain-timeout (10 s): the stop waits for it.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(cli.child.exitCode, null);
    const started = Date.now();
    cli.child.kill('SIGTERM');
    assert.equal(await cli.exited(3000), 1);
    assert.ok(Date.now() - started < 2000);
    assert.match(cli.stderr(), /canal: SIGTERM again; exiting now/);
    await slow;
    await until(() => children.every((pid) => !alive(pid)), 2000, 'processes gone');
  });

  it('refuses a count that is not a whole number ≥ 1, from the flag or PROCESSES', async () => {
    for (const [args, env, named] of [
      [['--processes', '0'], {}, '--processes must be a whole number ≥ 1, not "0"'],
      [['--processes=-2'], {}, '--processes must be a whole number ≥ 1, not "-2"'],
      [['--processes', '1.5'], {}, '--processes must be a whole number ≥ 1, not "1.5"'],
      [[], { PROCESSES: 'many' }, 'PROCESSES must be a whole number ≥ 1, not "many"'],
      [
        ['--processes', '2', '--metrics-port', '0'],
        {},
        '--metrics-port serves one process, not 2: drop --metrics-port, or --processes',
      ],
    ] as const) {
      const r = await runCli(['serve', app, '--port', '0', ...args], { cwd: tmp.dir, env });
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.trim(), `canal: ${named}`);
    }
  });

  it('takes PROCESSES from the environment; a process that cannot start stops them all', async () => {
    const cli = startCli(['serve', join(tmp.dir, 'missing.mjs'), '--port', '0', '--config', redisConfig()], {
      cwd: tmp.dir,
      env: { PROCESSES: '2' },
    });
    running.push(cli);
    assert.equal(await cli.exited(), 1);
    assert.match(cli.stderr(), /canal: cannot load .*missing\.mjs/);
    assert.match(cli.stderr(), /canal: process \d+ exited with code 1 before listening; stopping/);
  });
});
