// The supervisor of `canal dev`. A module once imported stays in Node's ES module cache, so new
// code needs a new process: this one loads no app code. It runs the app in a `canal serve` process
// of node:cluster, which binds the address in this process and hands it each connection; on a
// change it starts a new process, and only once that one listens retires the old one (SIGTERM:
// WebSockets closed with 1012, responses drained). The address stays bound throughout, so no
// connection is refused. While the app cannot load, a process serving the error page takes its
// place (dev-error-page.ts), and the next save that loads brings the app back.
import cluster, { type Worker as ClusterProcess } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { ErrorPageOrder } from './dev-error-page.ts';
import { describeChanges, watchTree } from './dev-watch.ts';
import { CHILD_ENV as SERVE_CHILD_ENV } from './processes.ts';
import type { StopSignals } from './signals.ts';

/** Set in the environment of the error-page process. */
export const ERROR_PAGE_ENV = 'CANAL_DEV_ERROR_PAGE';

const BIN = fileURLToPath(new URL('../../bin/canal.mjs', import.meta.url));

/** How much of a process's stderr is kept to show its error on the page. */
const STDERR_TAIL = 64 * 1024;

export interface SuperviseOptions {
  /** The arguments of `canal serve` in each app process. */
  serveArgs: string[];
  /** Where the error page listens: where the app does. */
  errorPage: ErrorPageOrder['options'];
  /** Folders watched; files in them never reloaded for (an access log). */
  roots: string[];
  ignoreFiles: string[];
  /** How the watched folders are named in the start-up line. */
  watching: string;
  signals: StopSignals;
}

interface Cause {
  files: string[];
  since: number;
}

interface Child {
  worker: ClusterProcess;
  kind: 'app' | 'error-page';
  /** The change it was started for; null for the first process and after a crash. */
  cause: Cause | null;
  listening: boolean;
  retired: boolean;
  stderr: string;
  /** For the error page: the error it shows. */
  error: string;
}

interface Listening {
  canal: 'listening';
  url: string;
  running: string;
}

/** The text of the last `canal: ` message in a process's stderr (with the lines after it). */
export function lastCanalMessage(stderr: string): string | null {
  const at = stderr.lastIndexOf('\ncanal: ');
  const from = at >= 0 ? at + 1 : stderr.startsWith('canal: ') ? 0 : -1;
  return from < 0 ? null : stderr.slice(from).trim();
}

/** Runs the app until a signal; resolves with the exit code. */
export function supervise(o: SuperviseOptions): Promise<number> {
  const live = new Set<Child>();
  let current: Child | null = null;
  let starting: Child | null = null;
  let queued: Cause | null = null;
  let shownUrl: string | null = null;
  let stopping = false;
  let exitCode = 0;
  let resolveDone: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => (resolveDone = resolve));

  // However the supervisor ends (a second signal exits at once), no process outlives it.
  process.on('exit', () => {
    for (const child of live) child.worker.process.kill('SIGKILL');
  });

  const watcher = watchTree({
    roots: o.roots,
    ignoreFiles: o.ignoreFiles,
    onChange: (files, since) => {
      if (stopping) return;
      if (starting) {
        // The process starting may have read the old code: another one follows it.
        queued = { files: [...new Set([...(queued?.files ?? []), ...files])], since: queued?.since ?? since };
        return;
      }
      startApp({ files, since });
    },
  });

  const stop = (code: number) => {
    exitCode = Math.max(exitCode, code);
    if (stopping) return;
    stopping = true;
    watcher.close();
    // A retired process is stopping already: a second SIGTERM would cut its drain short.
    for (const child of live) if (!child.retired) child.worker.process.kill('SIGTERM');
    if (live.size === 0) resolveDone(exitCode);
  };

  const fork = (kind: Child['kind'], cause: Cause | null, error = ''): Child => {
    cluster.setupPrimary({
      exec: BIN,
      args: kind === 'app' ? ['serve', ...o.serveArgs] : ['dev'],
      execArgv: process.execArgv,
      silent: true,
      serialization: 'advanced',
    });
    const env = kind === 'app' ? { [SERVE_CHILD_ENV]: String(process.pid) } : { [ERROR_PAGE_ENV]: '1' };
    const worker = cluster.fork(env);
    const child: Child = { worker, kind, cause, listening: false, retired: false, stderr: '', error };
    live.add(child);
    pipeOutput(child);
    worker.on('message', (message: Listening | { canal: 'dev-error-page-waiting' }) => {
      if (message?.canal === 'listening' && !child.listening) listening(child, message);
      else if (message?.canal === 'dev-error-page-waiting') {
        const order: ErrorPageOrder = { canal: 'dev-error-page', error: child.error, options: o.errorPage };
        worker.send(order);
      }
    });
    worker.on('exit', (code, signal) => exited(child, code === null ? `on ${signal}` : `with code ${code}`, code));
    return child;
  };

  /** Passes a process's output on; the lines of its being stopped are the supervisor's to tell. */
  const pipeOutput = (child: Child) => {
    const { stdout, stderr } = child.worker.process;
    stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      let text = chunk.replace(/^canal: SIGTERM, shutting down\n/gm, '');
      if (shownUrl !== null) text = text.replace(/^canal: (?:not )?running workers for .*\n/gm, '');
      if (text) process.stdout.write(text);
    });
    stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      child.stderr = (child.stderr + chunk).slice(-STDERR_TAIL);
      process.stderr.write(chunk);
    });
  };

  const startApp = (cause: Cause | null) => {
    queued = null;
    starting = fork('app', cause);
  };

  const startErrorPage = (error: string, cause: Cause | null) => {
    starting = fork('error-page', cause, error);
  };

  const listening = (child: Child, message: Listening) => {
    child.listening = true;
    if (stopping) return;
    if (starting === child) starting = null;
    const previous = current;
    current = child;
    if (previous) retire(previous);
    if (message.url !== shownUrl) {
      shownUrl = message.url;
      console.log(
        `canal: listening on ${message.url} (pid ${process.pid}), ${message.running}; ` +
          `reloading on changes in ${o.watching}`,
      );
    } else if (child.cause) {
      const ms = Date.now() - child.cause.since;
      const what = describeChanges(child.cause.files);
      if (child.kind === 'app') console.log(`canal: reloaded in ${ms} ms: ${what}`);
      else console.error(`canal: the app failed to load after ${what}; serving the error page until the next save`);
    } else if (child.kind === 'error-page') {
      console.error('canal: serving the error page until the next save');
    }
    if (queued) startApp(queued);
  };

  const retire = (child: Child) => {
    child.retired = true;
    child.worker.process.kill('SIGTERM');
  };

  const exited = (child: Child, how: string, code: number | null) => {
    live.delete(child);
    if (stopping) {
      // One still starting may have had no handler yet: the SIGTERM that ended it was the stop.
      if (code !== 0 && (child.listening || code !== null)) {
        console.error(`canal: process ${child.worker.process.pid} exited ${how} while stopping`);
        exitCode = Math.max(exitCode, 1);
      }
      if (live.size === 0) resolveDone(exitCode);
      return;
    }
    if (child.retired) return;
    if (child === starting) {
      starting = null;
      failedToStart(child, how, code);
    } else if (child === current) {
      current = null;
      const error = lastCanalMessage(child.stderr) ?? `canal: the app's process exited ${how}`;
      console.error(`canal: the app's process ${child.worker.process.pid} exited ${how}`);
      // A process already starting takes its place (or, failing, brings the error page).
      if (starting === null) startErrorPage(error, null);
    }
  };

  const failedToStart = (child: Child, how: string, code: number | null) => {
    if (child.kind === 'error-page') {
      // The address itself is the trouble (the process says why): nothing can serve there.
      if (current === null) {
        console.error('canal: the error page could not listen either; stopping');
        stop(1);
      } else if (queued) startApp(queued);
      return;
    }
    const error = lastCanalMessage(child.stderr) ?? `canal: the app's process exited ${how} before listening`;
    if (shownUrl === null && (code === 2 || /\bcannot listen on\b/.test(error))) {
      // A mistake in what was typed, or an address that cannot be bound: no save mends those.
      stop(code === 2 ? 2 : 1);
      return;
    }
    if (queued) startApp(queued);
    else startErrorPage(error, child.cause);
  };

  o.signals.stopWith((signal) => {
    console.log(`canal: ${signal}, shutting down`);
    stop(0);
  });
  startApp(null);
  return done;
}
