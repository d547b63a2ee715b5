// `canal serve --processes N`: N server processes on one address, with node:cluster. The primary
// binds the socket and hands each new connection to the processes in turn (cluster's round robin;
// NODE_CLUSTER_SCHED_POLICY=none lets the kernel choose instead). The primary loads no app and
// opens no layer: it starts the processes, prints one line once all listen, starts again a
// process that dies, and on SIGTERM/SIGINT stops them all and waits for them.
//
// Round robin through the primary rather than `reusePort`: it works on every platform Node runs
// on (reusePort is refused where the kernel does not balance, e.g. macOS and Windows), port 0 gives
// every process the same port, and the port stays bound while a process is restarted.
import cluster, { type Worker as ClusterProcess } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { InvalidOptionError } from '../errors.ts';
import { channelLayerConfig } from '../layers/registry.ts';
import { numberFlag } from './options.ts';
import { catchStopSignals, type StopSignals } from './signals.ts';

/** Set by the primary in the environment of each process it starts (`canal dev` sets it too). */
export const CHILD_ENV = 'CANAL_SERVE_PRIMARY';
const serverProcess = cluster.isWorker && process.env[CHILD_ENV] !== undefined;
if (serverProcess) delete process.env[CHILD_ENV];

/** A process that dies is started again after 0.5 s, doubling up to 8 s; a sixth death within 60 s stops all. */
export const RESTART_POLICY = { firstDelayMs: 500, maxDelayMs: 8000, limit: 5, windowMs: 60_000 };

/** True in a process that a `canal serve --processes N` primary started. */
export function isServerProcess(): boolean {
  return serverProcess;
}

/** `--processes`, else PROCESSES, else 1: a whole number ≥ 1. */
export function processCount(flag: string | undefined, env: Record<string, string | undefined> = process.env): number {
  const name = flag !== undefined ? 'processes' : 'PROCESSES';
  return numberFlag(name, flag ?? env.PROCESSES, { min: 1, integer: true }) ?? 1;
}

/** Several processes on the in-memory layer would each have their own groups and channels. */
export function refuseMemoryLayerSplit(count: number, allowed: boolean): void {
  if (count < 2 || allowed || channelLayerConfig('default')?.backend !== 'memory') return;
  throw new InvalidOptionError(
    `--processes ${count} with the in-memory layer: each process would have its own groups and channels, ` +
      `so a group message sent in one would not reach the clients of another; use a Redis layer ` +
      `(LAYER=redis, REDIS_URL) or, if the app uses no groups or channels, add --allow-memory-layer-split`,
  );
}

/**
 * Signals in a server process: SIGTERM (the primary's) stops it; SIGINT is ignored, because
 * Ctrl-C in a terminal reaches every process of the group and the primary passes it on.
 */
export function serverProcessSignals(): StopSignals {
  process.on('SIGINT', () => {});
  return catchStopSignals(['SIGTERM']);
}

interface Listening {
  canal: 'listening';
  url: string;
  running: string;
}

/** Tells the primary that this process listens (it prints one line for all of them). */
export function reportListening(url: string, running: string): void {
  const message: Listening = { canal: 'listening', url, running };
  process.send?.(message);
}

/** Disconnects from the primary once `running` settles, so the process can exit with its code. */
export function leavePrimaryAfter(running: Promise<number>): Promise<number> {
  return running.finally(() => cluster.worker?.disconnect());
}

const BIN = fileURLToPath(new URL('../../bin/canal.mjs', import.meta.url));

/**
 * Runs `canal serve <argv>` in `count` processes until a signal, or until one cannot start.
 * Resolves with the exit code: 0 when every process exited cleanly after the stop.
 */
export function runProcesses(count: number, argv: string[], signals: StopSignals): Promise<number> {
  cluster.setupPrimary({ exec: BIN, args: ['serve', ...argv], execArgv: process.execArgv });
  const live = new Set<ClusterProcess>();
  const restartTimers = new Set<NodeJS.Timeout>();
  const deaths: number[] = [];
  const pids: number[] = [];
  let started = false;
  let stopping = false;
  let exitCode = 0;
  let resolveDone: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => (resolveDone = resolve));

  // However the primary ends (a second signal exits at once), no process outlives it.
  process.on('exit', () => {
    for (const child of live) child.process.kill('SIGKILL');
  });

  const stopAll = (code: number) => {
    exitCode = Math.max(exitCode, code);
    if (stopping) return;
    stopping = true;
    for (const timer of restartTimers) clearTimeout(timer);
    restartTimers.clear();
    for (const child of live) child.process.kill('SIGTERM');
    if (live.size === 0) resolveDone(exitCode);
  };

  const fork = (restarted: boolean) => {
    const child = cluster.fork({ [CHILD_ENV]: String(process.pid) });
    live.add(child);
    let listened = false;
    child.on('message', (message: Listening) => {
      if (message?.canal !== 'listening' || listened) return;
      listened = true;
      const pid = child.process.pid!;
      if (restarted) {
        console.log(`canal: process ${pid} listening (started again)`);
        return;
      }
      pids.push(pid);
      if (pids.length === count && !stopping) {
        started = true;
        console.log(
          `canal: listening on ${message.url} (pid ${process.pid}), ${count} processes ` +
            `(pids ${pids.join(', ')}), ${message.running}`,
        );
      }
    });
    child.on('exit', (code, signal) => {
      live.delete(child);
      const pid = child.process.pid;
      const how = code !== null ? `with code ${code}` : `on ${signal}`;
      if (stopping) {
        if (code !== 0) {
          console.error(`canal: process ${pid} exited ${how} while stopping`);
          exitCode = Math.max(exitCode, 1);
        }
        if (live.size === 0) resolveDone(exitCode);
        return;
      }
      // A process that cannot start (the app, the port, a bad value) would fail the same way again.
      if (!started) {
        console.error(`canal: process ${pid} exited ${how} before listening; stopping`);
        stopAll(code || 1);
        return;
      }
      const now = Date.now();
      deaths.push(now);
      while (deaths[0]! <= now - RESTART_POLICY.windowMs) deaths.shift();
      const { firstDelayMs, maxDelayMs, limit, windowMs } = RESTART_POLICY;
      if (deaths.length > limit) {
        console.error(
          `canal: process ${pid} exited ${how}; ${deaths.length} exits within ${windowMs / 1000} s, stopping`,
        );
        stopAll(1);
        return;
      }
      const delay = Math.min(firstDelayMs * 2 ** (deaths.length - 1), maxDelayMs);
      console.error(
        `canal: process ${pid} exited ${how}; starting another in ${delay / 1000} s ` +
          `(restart ${deaths.length} of at most ${limit} within ${windowMs / 1000} s)`,
      );
      const timer = setTimeout(() => {
        restartTimers.delete(timer);
        fork(true);
      }, delay);
      restartTimers.add(timer);
    });
  };

  signals.stopWith((signal) => {
    console.log(`canal: ${signal}, stopping ${live.size} processes`);
    stopAll(0);
  });
  for (let i = 0; i < count; i++) fork(false);
  return done;
}
