// Resolves `path/to/app.ts[:export]` (relative to the working directory) or a package
// specifier to an Application. The export defaults to `default`, then `application`.
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Application } from '../asgi/types.js';
import { AppLoadError } from '../errors.js';

export function splitSpec(spec: string): { module: string; exportName: string | null } {
  const colon = spec.lastIndexOf(':');
  // 'node:…' and Windows drive letters are not export separators
  if (colon <= 1 || spec.slice(0, colon) === 'node' || /[\\/]/.test(spec.slice(colon + 1))) return { module: spec, exportName: null };
  return { module: spec.slice(0, colon), exportName: spec.slice(colon + 1) || null };
}

export async function loadModule(module: string, cwd = process.cwd()): Promise<Record<string, unknown>> {
  const local = module.startsWith('.') || module.startsWith('/') || /\.(c|m)?(t|j)sx?$/.test(module);
  const path = isAbsolute(module) ? module : resolve(cwd, module);
  if (local && !existsSync(path)) throw new AppLoadError(`cannot load ${module}: no file at ${path}`);
  try {
    return (await import(local ? pathToFileURL(path).href : module)) as Record<string, unknown>;
  } catch (err) {
    const e = err as Error & { code?: string };
    const detail = e.message.split('\n').slice(0, 6).join('\n');
    throw new AppLoadError(`cannot load ${module} (${local ? path : 'package'}): ${detail}`, { cause: err });
  }
}

export async function loadApp(spec: string, cwd = process.cwd()): Promise<Application> {
  const { module, exportName } = splitSpec(spec);
  const exports = await loadModule(module, cwd);
  const names = exportName ? [exportName] : ['default', 'application'];
  for (const name of names) {
    const value = exports[name];
    if (value === undefined) continue;
    if (typeof value !== 'function') {
      throw new AppLoadError(`${module}: export '${name}' is a ${typeof value}, not an application function (scope, receive, send) => Promise<void>`);
    }
    return value as Application;
  }
  const have = Object.keys(exports).join(', ') || '(none)';
  throw new AppLoadError(`${module} has no export ${names.map((n) => `'${n}'`).join(' or ')}; it exports: ${have}. Name one as ${module}:<export>`);
}
