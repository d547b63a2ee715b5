// The package as users get it: `npm pack` of this checkout (which builds dist/ first), installed
// with npm into fresh temporary projects, its dependencies from the registry.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let tarball: string | null = null;

/** Packs the checkout once per process; the tarball's path. */
export function packOnce(): string {
  if (tarball) return tarball;
  const dir = mkdtempSync(join(tmpdir(), 'canal-pack-'));
  execFileSync('npm', ['pack', '--pack-destination', dir, '--silent'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 180_000,
  });
  const name = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  if (!name) throw new Error(`npm pack left no tarball in ${dir}`);
  tarball = join(dir, name);
  return tarball;
}

/** A new project folder holding `files`, with the packed Canal installed by npm. */
export function freshProject(label: string, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), `canal-user-${label}-`));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', packOnce()], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 300_000,
  });
  return dir;
}

export function removeProject(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface Running {
  child: ChildProcess;
  output(): string;
  /** The first match of `pattern` in stdout or stderr; rejects after `ms` or when the process exits first. */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
  stop(): Promise<number | null>;
}

/** Runs the project's own `canal` (node_modules/.bin/canal), as `npx canal …` would. */
export function canal(dir: string, args: string[], env: Record<string, string> = {}): Running {
  const child = spawn(join(dir, 'node_modules', '.bin', 'canal'), args, {
    cwd: dir,
    env: { ...process.env, CANAL_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    waitFor(pattern, ms = 15_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => finish(new Error(`no ${pattern} within ${ms} ms from canal ${args.join(' ')}:\n${out}`)),
          ms,
        );
        const check = () => {
          const m = out.match(pattern);
          if (m) finish(null, m);
        };
        const onExit = (code: number | null) =>
          finish(new Error(`canal ${args.join(' ')} exited (${code}) before ${pattern}:\n${out}`));
        const finish = (err: Error | null, m?: RegExpMatchArray) => {
          clearTimeout(timer);
          child.stdout!.off('data', check);
          child.stderr!.off('data', check);
          child.off('exit', onExit);
          if (err) reject(err);
          else resolve(m!);
        };
        child.stdout!.on('data', check);
        child.stderr!.on('data', check);
        child.once('exit', onExit);
        check();
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
