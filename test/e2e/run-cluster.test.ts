// examples/chat/run-cluster.sh and examples/chat/Procfile, run as a developer or a process
// manager runs them: the script on ports of the test's choosing, with a Redis it must start
// itself and a database it must create; the Procfile's lines from the example's folder.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import WebSocket from 'ws';
import { BIN, ROOT } from '../integration/cli-helpers.ts';
import { POSTGRES_ADMIN_URL, requirePostgres } from '../examples/postgres-fixture.ts';
import { freePort, OwnRedis } from '../redis/helpers.ts';

const EXAMPLE = join(ROOT, 'examples/chat');
const STEP_MS = 20_000;

interface Output {
  child: ChildProcess;
  /** Signals the child, or its whole process group when it was started in one of its own. */
  kill(signal: NodeJS.Signals): void;
  text(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited(timeoutMs?: number): Promise<number | null>;
}

/** A child whose stdout and stderr are read together, with deadlines on every wait. */
function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; detached?: boolean } = {},
): Output {
  const child = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    env: options.env,
    detached: options.detached ?? false,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  for (const stream of [child.stdout!, child.stderr!]) stream.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    kill(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(options.detached ? -child.pid! : child.pid!, signal);
      } catch {
        // gone meanwhile
      }
    },
    text: () => out,
    waitFor(pattern, timeoutMs = STEP_MS) {
      return new Promise((resolve, reject) => {
        const deadline = Date.now() + timeoutMs;
        const tick = setInterval(() => {
          const m = out.match(pattern);
          if (m) {
            clearInterval(tick);
            resolve(m);
          } else if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
            clearInterval(tick);
            reject(
              new Error(
                `no ${pattern} (${child.exitCode !== null ? `exited ${child.exitCode}` : `within ${timeoutMs} ms`}); ` +
                  `output:\n${out}`,
              ),
            );
          }
        }, 50);
      });
    },
    exited(timeoutMs = STEP_MS) {
      let timer: NodeJS.Timeout;
      return Promise.race([
        exit.finally(() => clearTimeout(timer)),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`${command} did not exit within ${timeoutMs} ms; output:\n${out}`)),
            timeoutMs,
          );
        }),
      ]);
    },
  };
}

/** Resolves with whether something accepts TCP connections on the port. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.setTimeout(2000, () => s.destroy());
    s.once('error', () => {});
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('close', () => resolve(false));
  });
}

function socket(port: number, label: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/chat/${label}/`, {
      origin: `http://127.0.0.1:${port}`,
      handshakeTimeout: 5000,
    });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function nextMessage(ws: WebSocket, timeoutMs = STEP_MS): Promise<{ handle: string; message: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message within ${timeoutMs} ms`)), timeoutMs);
    ws.once('message', (data) => {
      clearTimeout(timer);
      resolve(JSON.parse(String(data)));
    });
  });
}

/** Two sockets in one room, one on each port: a message sent on the first arrives on the second. */
async function shareARoom(first: number, second: number): Promise<void> {
  const label = `cluster-${randomBytes(4).toString('hex')}`;
  const [a, b] = [await socket(first, label), await socket(second, label)];
  try {
    const arriving = nextMessage(b);
    a.send(JSON.stringify({ handle: 'ana', message: `from ${first} to ${second}` }));
    const got = await arriving;
    assert.equal(got.handle, 'ana');
    assert.equal(got.message, `from ${first} to ${second}`);
  } finally {
    a.close();
    b.close();
  }
}

let admin: pg.Client;
const databases: string[] = [];
const children: Output[] = [];
let script: Output | null = null;
const redis = new OwnRedis();

before(async () => {
  admin = await requirePostgres();
});
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  // The script stops its own processes on SIGTERM; only if it hangs are they killed from here
  // (they run in process groups of their own, so are found by their parent).
  if (script && script.child.exitCode === null && script.child.signalCode === null) {
    script.kill('SIGTERM');
    await script.exited().catch(() => {
      const pids = execFileSync('ps', ['-o', 'pid=', '--ppid', String(script!.child.pid)], { encoding: 'utf8' })
        .split(/\s+/)
        .filter(Boolean);
      for (const pid of pids) process.kill(Number(pid), 'SIGKILL');
      script!.kill('SIGKILL');
    });
  }
  await redis.stop();
  for (const name of databases) await admin.query(`drop database if exists ${name} with (force)`).catch(() => {});
  await admin?.end();
});

function databaseUrl(name: string): string {
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

describe('examples/chat/run-cluster.sh and the Procfile', () => {
  it(
    'run-cluster.sh starts Redis, creates the database, ' +
      'serves one room on two ports and stops everything on SIGINT',
    async () => {
      const [web1, web2, redisPort] = [await freePort(), await freePort(), await freePort()];
      const name = `canal_test_cluster_${process.pid}_${randomBytes(3).toString('hex')}`;
      databases.push(name);
      const env = {
        ...process.env,
        REDIS_URL: `redis://127.0.0.1:${redisPort}/0`,
        DATABASE_URL: databaseUrl(name),
        LAYER: undefined,
        PORT: undefined,
        CANAL_LOG_LEVEL: undefined,
      };
      script = run('bash', [join(EXAMPLE, 'run-cluster.sh'), String(web1), String(web2)], { env });

      await script.waitFor(/== Ctrl-C stops everything/);
      const out = script.text();
      assert.match(out, new RegExp(`== starting redis-server on 127\\.0\\.0\\.1:${redisPort}`));
      assert.match(out, new RegExp(`== creating database ${name}`));
      assert.match(
        out,
        new RegExp(`http://127\\.0\\.0\\.1:${web1}/chat/lobby/\\n.*http://127\\.0\\.0\\.1:${web2}/chat/lobby/`),
      );
      // The script waits for the servers to answer, not for the worker, which may start later.
      await script.waitFor(/worker \| canal: worker reading thumbnails/);
      assert.equal((await admin.query('select 1 from pg_database where datname = $1', [name])).rowCount, 1);
      for (const port of [web1, web2])
        assert.equal((await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) })).status, 200);
      await shareARoom(web1, web2);
      await shareARoom(web2, web1);

      script.child.kill('SIGINT');
      assert.equal(await script.exited(), 130);
      assert.match(
        script.text(),
        new RegExp(`web\\.${web1} \\| canal: SIGTERM, shutting down`),
        'each server got one SIGTERM',
      );
      assert.match(script.text(), /worker \| canal: SIGTERM, finishing the messages in hand/);
      assert.doesNotMatch(script.text(), /second signal|exited; stopping the others/);
      for (const port of [web1, web2, redisPort])
        assert.equal(await answers(port), false, `nothing is left on port ${port}`);
    },
  );

  it("the Procfile's web and worker lines run from the example's folder", async () => {
    await redis.start();
    const name = `canal_test_procfile_${process.pid}_${randomBytes(3).toString('hex')}`;
    databases.push(name);
    await admin.query(`create database ${name}`);
    const lines = Object.fromEntries(
      readFileSync(join(EXAMPLE, 'Procfile'), 'utf8')
        .split('\n')
        .map((l) => /^([A-Za-z0-9_-]+):\s*(.+)$/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1]!, m[2]!]),
    );
    assert.deepEqual(Object.keys(lines), ['web', 'worker']);
    // `canal` on PATH, as node_modules/.bin gives it to an installed project.
    const bin = mkdtempSync(join(tmpdir(), 'canal-bin-'));
    try {
      symlinkSync(BIN, join(bin, 'canal'));
      const port = await freePort();
      const env = {
        ...process.env,
        PATH: `${bin}:${process.env.PATH}`,
        PORT: String(port),
        LAYER: 'redis',
        REDIS_URL: redis.url,
        DATABASE_URL: databaseUrl(name),
        CANAL_LOG_LEVEL: undefined,
      };
      // As a process manager runs them: by a shell, in a process group of their own. (`exec`, so
      // the exit code checked below is canal's.)
      const web = run('sh', ['-c', `exec ${lines.web}`], { cwd: EXAMPLE, env, detached: true });
      const worker = run('sh', ['-c', `exec ${lines.worker}`], { cwd: EXAMPLE, env, detached: true });
      children.push(web, worker);
      await web.waitFor(new RegExp(`canal: listening on http://0\\.0\\.0\\.0:${port} `));
      await worker.waitFor(/canal: worker reading thumbnails/);
      await shareARoom(port, port);
      for (const p of [web, worker]) p.kill('SIGTERM');
      assert.deepEqual([await web.exited(), await worker.exited()], [0, 0]);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});
