// Real Redis for the Redis layer tests: the machine's server on 127.0.0.1:6379, servers of the
// tests' own on free ports (for fault injection), and the Python channels_redis peer.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { after, before } from 'node:test';

const HERE = dirname(fileURLToPath(import.meta.url));
export const REDIS_URL = process.env.CANAL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

/** Fails (never skips) with the fix when Redis is not there. */
export async function requireRedis(url = REDIS_URL): Promise<Redis> {
  const client = new Redis(url, {
    protocol: 2,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    client.disconnect();
    throw new Error(
      `Redis is not reachable at ${url} (${(err as Error).message}). These tests need a real Redis: ` +
        `apt-get install redis-server && redis-server --daemonize yes --port 6379 (or set CANAL_TEST_REDIS_URL).`,
    );
  }
  return client;
}

/** A key prefix no other test uses; delete its keys with `cleanPrefix`. */
export function uniquePrefix(): string {
  return `t${randomBytes(5).toString('hex')}`;
}

export async function cleanPrefix(client: Redis, prefix: string): Promise<void> {
  const keys = await client.keys(`${prefix}*`);
  if (keys.length) await client.del(...keys);
}

let pythonChecked = false;
function requirePython(): void {
  if (pythonChecked) return;
  const r = spawnSync('/usr/bin/python3', ['-c', 'import channels_redis.core, channels_redis.pubsub, cryptography'], {
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    throw new Error(
      `Python's channels_redis is needed for the interoperability tests and is missing ` +
        `(${(r.stderr || r.error?.message || '').trim()}). ` +
        'Install it: apt-get install python3-channels-redis python3-cryptography',
    );
  }
  pythonChecked = true;
}

export interface PeerEnv {
  REDIS_URL?: string;
  PREFIX?: string;
  KEYS?: string;
  LAYER?: 'core' | 'pubsub';
}

/** Runs the Python peer to completion; resolves with its stdout lines. */
export function runPeer(args: string[], env: PeerEnv, timeoutMs = 15000): Promise<string[]> {
  const child = startPeer(args, env);
  return child.finished(timeoutMs);
}

export interface Peer {
  child: ChildProcess;
  /** The next line the peer prints. */
  line(timeoutMs?: number): Promise<string>;
  finished(timeoutMs?: number): Promise<string[]>;
}

export function startPeer(args: string[], env: PeerEnv): Peer {
  requirePython();
  const child = spawn('/usr/bin/python3', [join(HERE, 'peer.py'), ...args], {
    env: { ...process.env, REDIS_URL, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let waiting: ((l: string) => void) | null = null;
  let buffered = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    let i;
    while ((i = buffered.indexOf('\n')) >= 0) {
      const l = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      if (waiting) {
        const w = waiting;
        waiting = null;
        w(l);
      } else lines.push(l);
    }
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    line(timeoutMs = 10000) {
      if (lines.length) return Promise.resolve(lines.shift()!);
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`python peer printed nothing in ${timeoutMs} ms; stderr: ${stderr}`)),
          timeoutMs,
        );
        waiting = (l) => {
          clearTimeout(t);
          resolve(l);
        };
        exited.then((code) => {
          if (waiting) reject(new Error(`python peer exited (${code}) before printing; stderr: ${stderr}`));
        });
      });
    },
    async finished(timeoutMs = 15000) {
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(t);
      if (code !== 0) throw new Error(`python peer ${args.join(' ')} exited with ${code}: ${stderr}`);
      return lines.splice(0);
    },
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** A redis-server of the test's own on a free port, to stop and start again. */
export class OwnRedis {
  port = 0;
  private proc: ChildProcess | null = null;
  private readonly dir = mkdtempSync(join(tmpdir(), 'canal-redis-'));

  /** @param extraArgs more redis-server arguments, e.g. ['--rename-command', 'BZMPOP', ''] */
  private readonly extraArgs: readonly string[];
  constructor(extraArgs: readonly string[] = []) {
    this.extraArgs = extraArgs;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort();
    const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error('redis-server is not installed; apt-get install redis-server');
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      this.dir,
      ...this.extraArgs,
    ];
    this.proc = spawn('redis-server', args, {
      stdio: 'ignore',
    });
    const deadline = Date.now() + 5000;
    for (;;) {
      const client = new Redis(this.url, {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        enableOfflineQueue: false,
      });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.ping();
        client.disconnect();
        return;
      } catch {
        client.disconnect();
        if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not start`);
        await new Promise((r) => setTimeout(r, 10)); // tests time what follows the start
      }
    }
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
    this.proc = null;
  }
}

/** Resolves once `check` holds (checked every 10 ms); fails naming `what` after `ms`. */
export async function until(check: () => Promise<boolean> | boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
    }),
  ]);
}

/**
 * The usual setup of a Redis test file: a checked connection for inspecting keys, and key
 * prefixes of its own whose keys are deleted when the file is done.
 */
export function redisFixture(): { prefix(): string; readonly admin: Redis } {
  let admin: Redis | null = null;
  const used: string[] = [];
  before(async () => {
    admin = await requireRedis();
  });
  after(async () => {
    if (!admin) return;
    for (const p of used) await cleanPrefix(admin, p);
    admin.disconnect();
  });
  return {
    prefix() {
      const p = uniquePrefix();
      used.push(p);
      return p;
    },
    get admin() {
      if (!admin) throw new Error('the Redis fixture is used before its before() hook ran');
      return admin;
    },
  };
}

/**
 * A redis-server of the test file's own, started before its tests and stopped after them, with
 * a connection for inspecting it: for tests that count its commands (INFO commandstats), which
 * no other test may add to.
 */
export function ownRedisFixture(): {
  readonly url: string;
  readonly admin: Redis;
  commandCalls(...commands: string[]): Promise<number>;
} {
  const redis = new OwnRedis();
  let admin: Redis | null = null;
  before(async () => {
    await redis.start();
    admin = new Redis(redis.url);
  });
  after(async () => {
    admin?.disconnect();
    await redis.stop();
  });
  const fixture = {
    get url() {
      return redis.url;
    },
    get admin() {
      if (!admin) throw new Error('the own-Redis fixture is used before its before() hook ran');
      return admin;
    },
    /** How many times Redis has run these commands so far, together. */
    async commandCalls(...commands: string[]): Promise<number> {
      const info = await fixture.admin.info('commandstats');
      let n = 0;
      for (const c of commands) n += Number(new RegExp(`cmdstat_${c}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
      return n;
    },
  };
  return fixture;
}
