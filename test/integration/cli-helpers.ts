// Runs `node bin/canal.mjs …` as a child process, as a user would, with a deadline on every wait.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(ROOT, 'bin/canal.mjs');
export const FIXTURES = join(ROOT, 'test/fixtures');

export interface Cli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout line matching `pattern`; rejects after `timeoutMs` or on exit. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code; kills the child and rejects after `timeoutMs`. */
  exited(timeoutMs?: number): Promise<number | null>;
}

export function startCli(args: string[], { cwd = ROOT, env = {} as Record<string, string | undefined> } = {}): Cli {
  const childEnv: Record<string, string | undefined> = {
    ...process.env,
    PORT: undefined,
    HOST: undefined,
    LAYER: undefined,
    REDIS_URL: undefined,
    CANAL_LOG_LEVEL: undefined,
    ...env,
  };
  for (const k of Object.keys(childEnv)) if (childEnv[k] === undefined) delete childEnv[k];
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: childEnv as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitFor(pattern, timeoutMs = 8000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(pattern);
          if (m) {
            done();
            resolve(m);
          }
        };
        const onExit = (code: number | null) => {
          done();
          reject(new Error(`canal exited (${code}) before printing ${pattern}\nstdout: ${out}\nstderr: ${err}`));
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no ${pattern} within ${timeoutMs} ms\nstdout: ${out}\nstderr: ${err}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          child.stdout!.off('data', check);
          child.off('exit', onExit);
        };
        child.stdout!.on('data', check);
        child.once('exit', onExit);
        check();
      });
    },
    exited(timeoutMs = 8000) {
      let timer: NodeJS.Timeout;
      return Promise.race([
        exit.finally(() => clearTimeout(timer)),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            child.kill('SIGKILL');
            reject(new Error(`canal did not exit within ${timeoutMs} ms\nstdout: ${out}\nstderr: ${err}`));
          }, timeoutMs);
        }),
      ]);
    },
  };
}

/** Runs a command that is expected to end by itself. */
export async function runCli(
  args: string[],
  options?: Parameters<typeof startCli>[1],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cli = startCli(args, options);
  const code = await cli.exited();
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}

/** Starts `canal serve …` and waits for its listening line. */
export async function serve(args: string[], options?: Parameters<typeof startCli>[1]): Promise<Cli & { url: string }> {
  const cli = startCli(['serve', ...args], options);
  const m = await cli.waitFor(/canal: listening on (http:\/\/[^\s]+) \(pid (\d+)\)/);
  return Object.assign(cli, { url: m[1]! });
}

/** Stops a server child with SIGTERM and returns its exit code. */
export async function stop(cli: Cli): Promise<number | null> {
  if (cli.child.exitCode !== null) return cli.child.exitCode;
  cli.child.kill('SIGTERM');
  return cli.exited();
}

export function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'canal-cli-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function get(url: string, timeoutMs = 5000): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, text: await res.text() };
}
