// Resolves `path/to/app.ts[:export]` (relative to the working directory) or a package
// specifier to an Application. The export defaults to `default`, then `application`.
// Every failure is one AppLoadError naming the file; the original error is its `cause`.
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Application } from '../asgi/types.js';
import { AppLoadError } from '../errors.js';

export interface AppSpec {
  module: string;
  /** null: try `default`, then `application`. */
  exportName: string | null;
}

/** Splits on the last `:`; `node:fs` and a drive letter (`C:\app.ts`) are not export separators. */
export function splitSpec(spec: string): AppSpec {
  const colon = spec.lastIndexOf(':');
  if (colon <= 1 || spec.slice(0, colon) === 'node' || /[\\/]/.test(spec.slice(colon + 1))) return { module: spec, exportName: null };
  return { module: spec.slice(0, colon), exportName: spec.slice(colon + 1) || null };
}

const EXTENSIONS = ['.ts', '.mts', '.cts', '.tsx', '.js', '.mjs', '.cjs', '.jsx'];
const isFile = (p: string) => existsSync(p) && statSync(p).isFile();

/**
 * Where `module` is: a file (absolute path), or null for a package or builtin. A relative or
 * absolute path, a name with a script extension, or a name that matches a file (with or
 * without its extension) is a file.
 */
export function resolveModulePath(module: string, cwd = process.cwd()): string | null {
  if (module.startsWith('node:')) return null;
  const path = isAbsolute(module) ? module : resolve(cwd, module);
  const explicit = module.startsWith('.') || isAbsolute(module) || /\.[cm]?[tj]sx?$/.test(module);
  if (isFile(path)) return path;
  for (const ext of EXTENSIONS) if (isFile(path + ext)) return path + ext;
  if (existsSync(path) && statSync(path).isDirectory()) {
    for (const ext of EXTENSIONS) if (isFile(join(path, 'index' + ext))) return join(path, 'index' + ext);
  }
  if (explicit) throw new AppLoadError(`cannot load ${module}: no file at ${path}`);
  return null;
}

/** A package specifier is looked up from the working directory (the app's project), not from Canal's. */
function packageUrl(module: string, cwd: string): string {
  if (module.startsWith('node:')) return module;
  try {
    return pathToFileURL(createRequire(join(cwd, 'noop.js')).resolve(module)).href;
  } catch {
    return module; // ESM-only exports and the like: let import() resolve it, or say why not
  }
}

/** One readable reason for a failed import: esbuild's `file:line:col: message`, or the first frame in user code. */
export function describeLoadError(err: unknown): string {
  const e = err as Error & { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] };
  if (!(err instanceof Error) && typeof err !== 'object') return String(err);
  if (Array.isArray(e.errors) && e.errors.length > 0) {
    return e.errors
      .slice(0, 3)
      .map((x) => (x.location ? `${x.location.file}:${x.location.line}:${x.location.column}: ${x.text}` : x.text))
      .join('; ');
  }
  const message = String(e.message ?? err);
  const esbuild = /Transform failed with \d+ errors?:\n(.+)/.exec(message);
  if (esbuild) return esbuild[1]!.replace(': ERROR: ', ': ');
  const first = message.split('\n')[0]!;
  const frame = (e.stack ?? '')
    .split('\n')
    .slice(1)
    .map((l) => l.trim())
    .find((l) => l.startsWith('at ') && !l.includes('node_modules') && !l.includes('node:internal') && !l.includes('/src/cli/'));
  const where = frame ? /\(?((?:file:\/\/)?\/[^()]+:\d+:\d+)\)?$/.exec(frame)?.[1] : undefined;
  return where ? `${first} (at ${where.replace(/^file:\/\//, '')})` : first;
}

export async function loadModule(module: string, cwd = process.cwd()): Promise<Record<string, unknown>> {
  const path = resolveModulePath(module, cwd);
  try {
    return (await import(path ? pathToFileURL(path).href : packageUrl(module, cwd))) as Record<string, unknown>;
  } catch (err) {
    const e = err as { code?: string };
    if (!path && (e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND') && String((err as Error).message).includes(`'${module}'`)) {
      throw new AppLoadError(`cannot load ${module}: no such file in ${cwd}, and no such package`, { cause: err });
    }
    throw new AppLoadError(`cannot load ${path ?? module}: ${describeLoadError(err)}`, { cause: err });
  }
}

function describeExports(exports: Record<string, unknown>): string {
  const names = Object.keys(exports).filter((n) => n !== '__esModule' && n !== 'module.exports');
  if (names.length === 0) return 'it exports nothing';
  const fns = names.filter((n) => typeof exports[n] === 'function');
  return `it exports ${names.join(', ')}` + (fns.length ? ` (functions: ${fns.join(', ')})` : ' (no functions)');
}

export async function loadApp(spec: string, cwd = process.cwd()): Promise<Application> {
  const { module, exportName } = splitSpec(spec);
  const exports = await loadModule(module, cwd);
  const where = resolveModulePath(module, cwd) ?? module;
  const names = exportName ? [exportName] : ['default', 'application'];
  for (const name of names) {
    const value = exports[name];
    if (value === undefined) continue;
    if (typeof value !== 'function') {
      throw new AppLoadError(
        `${where}: export '${name}' is ${value === null ? 'null' : `a ${typeof value}`}, not an application (scope, receive, send) => Promise<void>; ${describeExports(exports)}`,
      );
    }
    return value as Application;
  }
  throw new AppLoadError(
    `${where} has no export ${names.map((n) => `'${n}'`).join(' or ')}; ${describeExports(exports)}. Name the application's export: canal serve ${module}:<export>`,
  );
}
