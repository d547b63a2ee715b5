// Resolves `path/to/app.ts[:export]` (relative to the working directory) or a package
// specifier to an Application. The export defaults to `default`, then `application`.
// Every failure is one AppLoadError naming the file; the original error is its `cause`.
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Application } from '../asgi/types.ts';
import { AppLoadError } from '../errors.ts';

export interface AppSpec {
  module: string;
  /** null: try `default`, then `application`. */
  exportName: string | null;
}

/** Splits on the last `:`; `node:fs` and a drive letter (`C:\app.ts`) are not export separators. */
export function splitSpec(spec: string): AppSpec {
  const colon = spec.lastIndexOf(':');
  if (colon <= 1 || spec.slice(0, colon) === 'node' || /[\\/]/.test(spec.slice(colon + 1)))
    return { module: spec, exportName: null };
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

/**
 * `path:line:column` from a syntax error's stack, which opens with `path:line`, a few source lines,
 * and a caret under the column.
 */
function syntaxPlace(stack: string): string | null {
  const lines = stack.split('\n');
  const m = /^(?:file:\/\/)?(\/.+:\d+)$/.exec(lines[0] ?? '');
  if (!m) return null;
  const caret = lines.findIndex((l, i) => i > 1 && /^\s*\^+\s*$/.test(l));
  return caret < 0 ? m[1]! : `${m[1]}:${lines[caret]!.indexOf('^') + 1}`;
}

const UNSUPPORTED_TS_HINT =
  '; Node runs TypeScript by removing the types, which leaves no code for enum, namespace or parameter properties: ' +
  'write the file without them (tsconfig\'s "erasableSyntaxOnly": true finds them), ' +
  'or compile it with tsc and give canal the .js';

/**
 * One readable reason for a failed import: `file:line:col: message` for a syntax error, or the first
 * frame in user code.
 */
export function describeLoadError(err: unknown): string {
  const e = err as Error & { code?: string };
  if (!(err instanceof Error) && typeof err !== 'object') return String(err);
  const message = String(e.message ?? err);
  const first = message.split('\n')[0]!;
  if (
    e instanceof SyntaxError ||
    e.code === 'ERR_INVALID_TYPESCRIPT_SYNTAX' ||
    e.code === 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX'
  ) {
    const place = syntaxPlace(e.stack ?? '');
    const hint = e.code === 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX' ? UNSUPPORTED_TS_HINT : '';
    if (place) return `${place}: ${first}${hint}`;
    if (hint) return first + hint;
  }
  const frame = (e.stack ?? '')
    .split('\n')
    .slice(1)
    .map((l) => l.trim())
    .find(
      (l) =>
        l.startsWith('at ') &&
        !l.includes('node_modules') &&
        !l.includes('node:internal') &&
        !l.includes('/src/cli/') &&
        !l.includes('/dist/cli/'),
    );
  const where = frame ? /\(?((?:file:\/\/)?\/[^()]+:\d+:\d+)\)?$/.exec(frame)?.[1] : undefined;
  return where ? `${first} (at ${where.replace(/^file:\/\//, '')})` : first;
}

export async function loadModule(module: string, cwd = process.cwd()): Promise<Record<string, unknown>> {
  const path = resolveModulePath(module, cwd);
  try {
    return (await import(path ? pathToFileURL(path).href : packageUrl(module, cwd))) as Record<string, unknown>;
  } catch (err) {
    const e = err as { code?: string };
    if (
      !path &&
      (e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND') &&
      String((err as Error).message).includes(`'${module}'`)
    ) {
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

/**
 * A CommonJS module's exports as an ES namespace gives `module.exports` as `default`; when
 * that is an object rather than a function, its own properties are the module's exports
 * (`module.exports = { application }`), and an ES module compiled to CommonJS keeps its
 * default export at `default.default`.
 */
export function exportsOf(namespace: Record<string, unknown>): Record<string, unknown> {
  const cjs = namespace.default;
  if (cjs === null || typeof cjs !== 'object' || Array.isArray(cjs)) return namespace;
  const fromCjs = { ...namespace, ...(cjs as Record<string, unknown>) };
  if (!('default' in (cjs as object))) delete fromCjs.default;
  return fromCjs;
}

export async function loadApp(spec: string, cwd = process.cwd()): Promise<Application> {
  return (await loadAppExport(spec, cwd)).app;
}

export interface LoadedApp {
  app: Application;
  /** The module's file (absolute), or the package or builtin specifier. */
  module: string;
  /** The export the application was taken from. */
  exportName: string;
}

/** loadApp, saying where the application came from (for the start-up line). */
export async function loadAppExport(spec: string, cwd = process.cwd()): Promise<LoadedApp> {
  const { module, exportName } = splitSpec(spec);
  const exports = exportsOf(await loadModule(module, cwd));
  const where = resolveModulePath(module, cwd) ?? module;
  const names = exportName ? [exportName] : ['default', 'application'];
  for (const name of names) {
    const value = exports[name];
    if (value === undefined) continue;
    if (typeof value !== 'function') {
      throw new AppLoadError(
        `${where}: export '${name}' is ${value === null ? 'null' : `a ${typeof value}`}, not an application ` +
          `(scope, receive, send) => Promise<void>; ${describeExports(exports)}`,
      );
    }
    return { app: value as Application, module: where, exportName: name };
  }
  throw new AppLoadError(
    `${where} has no export ${names.map((n) => `'${n}'`).join(' or ')}; ${describeExports(exports)}. ` +
      `Name the application's export: canal serve ${module}:<export>`,
  );
}
