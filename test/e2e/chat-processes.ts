// The chat example as users run it: `canal serve` and `canal worker` child processes on the
// example's own config, told where Redis and the database are by LAYER, REDIS_URL and
// DATABASE_URL. Every child is tracked so an `after` hook can kill what a failed test left.
import { join } from 'node:path';
import { after, before } from 'node:test';
import { ROOT, startCli, type Cli } from '../integration/cli-helpers.ts';
import { postgresFixture, type PostgresFixture } from '../examples/postgres-fixture.ts';
import { OwnRedis } from '../redis/helpers.ts';

export const CHAT_CONFIG = join(ROOT, 'examples/chat/canal.config.ts');

/** Start-up compiles the TypeScript app; generous, as CI runs two test files at once. */
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;

export type ChatEnv = { LAYER: 'memory' | 'redis'; REDIS_URL?: string; DATABASE_URL: string };

export interface Server {
  cli: Cli;
  url: string;
  port: number;
}

export class Children {
  private readonly running = new Set<Cli>();

  private readonly env: ChatEnv;
  constructor(env: ChatEnv) {
    this.env = env;
  }

  private start(args: string[]): Cli {
    // ALLOWED_HOSTS and the chat's own knobs are not inherited: the example's defaults are tested.
    const cli = startCli(args, {
      env: {
        ...this.env,
        ALLOWED_HOSTS: undefined,
        CHAT_POLL_TIMEOUT_MS: undefined,
        CHAT_MAX_UPLOAD_BYTES: undefined,
        CHAT_THUMBNAIL_SIZE: undefined,
      },
    });
    this.running.add(cli);
    cli.child.once('exit', () => this.running.delete(cli));
    return cli;
  }

  /** `canal serve --config examples/chat/canal.config.ts --port <port>` (0: a free one), once it listens. */
  async serve(port = 0): Promise<Server> {
    const cli = this.start(['serve', '--config', CHAT_CONFIG, '--port', String(port)]);
    const m = await cli.waitFor(/canal: listening on (http:\/\/127\.0\.0\.1:(\d+)) \(pid \d+\)/, START_TIMEOUT_MS);
    return { cli, url: m[1]!, port: Number(m[2]) };
  }

  /** `canal worker --config examples/chat/canal.config.ts`: the config's workers (thumbnails). */
  async worker(): Promise<Cli> {
    const cli = this.start(['worker', '--config', CHAT_CONFIG]);
    await cli.waitFor(/canal: worker reading thumbnails \(pid \d+\)/, START_TIMEOUT_MS);
    return cli;
  }

  /** SIGTERM, as a process manager stops a process; resolves with the exit code. */
  async stop(cli: Cli): Promise<number | null> {
    if (cli.child.exitCode !== null || cli.child.signalCode !== null) return cli.child.exitCode;
    cli.child.kill('SIGTERM');
    return cli.exited(STOP_TIMEOUT_MS);
  }

  /** Stops every child still running (SIGKILL for one that does not stop in time). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.running].map((cli) => this.stop(cli).catch(() => cli.child.kill('SIGKILL'))));
  }
}

/**
 * Waits for every start-up step, then throws the first failure: a step that failed must not
 * leave the others still starting when the `after` hook cleans up (a browser or a database
 * connection started late would keep the test process alive).
 */
export async function startAll(steps: Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(steps)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * The example deployed as in production, for one test file: a redis-server of the file's own on
 * a free port (the example's config is then used exactly as deployed, LAYER=redis REDIS_URL=…
 * with no test-only key prefix, and nothing it leaves behind can meet another test file sharing
 * the machine's Redis), a fresh PostgreSQL database, two `canal serve` processes and, if asked,
 * one `canal worker`. Everything is stopped in `after`, whatever happened.
 */
export function chatClusterFixture({ worker = false } = {}) {
  const redis = new OwnRedis();
  let postgres: PostgresFixture | null = null;
  let children: Children | null = null;
  const servers: Server[] = [];
  let workerCli: Cli | null = null;
  before(async () => {
    await startAll([redis.start(), postgresFixture().then((p) => (postgres = p))]);
    children = new Children({ LAYER: 'redis', REDIS_URL: redis.url, DATABASE_URL: await postgres!.freshUrl() });
    const c = children;
    await startAll([
      c.serve().then((s) => (servers[0] = s)),
      c.serve().then((s) => (servers[1] = s)),
      ...(worker ? [c.worker().then((w) => (workerCli = w))] : []),
    ]);
  });
  after(async () => {
    await children?.stopAll();
    await redis.stop();
    await postgres?.dropAll();
  });
  const started = <T>(value: T | null | undefined): T => {
    if (value === null || value === undefined)
      throw new Error('the cluster fixture is used before its before() hook ran');
    return value;
  };
  return {
    redis,
    get a(): Server {
      return started(servers[0]);
    },
    get b(): Server {
      return started(servers[1]);
    },
    get worker(): Cli {
      return started(workerCli);
    },
    get children(): Children {
      return started(children);
    },
    /**
     * Stops server A with SIGTERM (resolves with its exit code) and hands back a function that starts
     * it again on its port.
     */
    async stopA(): Promise<{ code: number | null; startAgain(): Promise<Server> }> {
      const old = started(servers[0]);
      const code = await started(children).stop(old.cli);
      return { code, startAgain: async () => (servers[0] = await started(children).serve(old.port)) };
    },
  };
}
