// Starts store-writer.ts in its own process and reads its lines, each wait with a timeout.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
// The example imports 'canaljs': Canal's hooks resolve it to these sources, as `canal` would.
const REGISTER = new URL('../../src/loader/register.ts', import.meta.url).href;
const ROOT = join(HERE, '..', '..');

export interface Writer {
  child: ChildProcess;
  /** The next line it prints. */
  line(timeoutMs?: number): Promise<string>;
  go(): void;
  /** Resolves when it exits 0; rejects with its stderr otherwise, or after the timeout. */
  exited(timeoutMs?: number): Promise<void>;
}

export function startWriter(job: {
  options: { url?: string; sqlitePath?: string };
  room?: string;
  count?: number;
}): Writer {
  const child = spawn(process.execPath, ['--import', REGISTER, join(HERE, 'store-writer.ts'), JSON.stringify(job)], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const queued: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => (waiting.length ? waiting.shift()!(l) : queued.push(l)));
  const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));

  const withTimeout = <T>(p: Promise<T>, ms: number, what: string) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill();
        reject(new Error(`the writer process did not ${what} within ${ms} ms; stderr: ${stderr}`));
      }, ms);
      p.then(resolve, reject).finally(() => clearTimeout(timer));
    });

  return {
    child,
    line(timeoutMs = 20_000) {
      const next = queued.length ? Promise.resolve(queued.shift()!) : new Promise<string>((r) => waiting.push(r));
      const failed = exit.then((code) =>
        Promise.reject(new Error(`the writer process exited (${code}) early; stderr: ${stderr}`)),
      );
      return withTimeout(Promise.race([next, failed]), timeoutMs, 'print a line');
    },
    go() {
      child.stdin!.end('go\n');
    },
    exited(timeoutMs = 20_000) {
      return withTimeout(
        exit.then((code) =>
          code === 0
            ? undefined
            : Promise.reject(new Error(`the writer process exited with ${code}; stderr: ${stderr}`)),
        ),
        timeoutMs,
        'exit',
      );
    },
  };
}
