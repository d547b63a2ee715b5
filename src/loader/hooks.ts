// Module resolution for the processes Canal starts (`canal serve`, `canal worker`, …) and for
// `node --import canaljs/register`:
// - `canaljs` and `canaljs/<subpath>` resolve to this very copy of Canal, whatever the app's
//   own node_modules holds, so the CLI and the app share one module graph (one layer registry);
// - a relative import that names `./x.js` (or `./x`) while only `./x.ts` exists loads the
//   TypeScript file, as tsc's NodeNext and bundler resolutions allow users to write.
// TypeScript itself is run by Node's own type stripping: no loader, no child process.
import { registerHooks } from 'node:module';

const OWN_EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const PACKAGE = 'canaljs';

/** The public entry points, by subpath; each resolves inside this copy of Canal. */
const ENTRIES: Record<string, string> = {
  '': 'index',
  '/testing': 'testing/index',
  '/client': 'client/index',
  '/register': 'loader/register',
};

/** The URL of `canaljs<subpath>` in this copy, or null for a subpath that is not an entry. */
export function ownEntry(specifier: string): string | null {
  if (specifier !== PACKAGE && !specifier.startsWith(PACKAGE + '/')) return null;
  const entry = ENTRIES[specifier.slice(PACKAGE.length)];
  return entry === undefined ? null : new URL(`../${entry}${OWN_EXT}`, import.meta.url).href;
}

const TS_FOR: Record<string, string> = { '.js': '.ts', '.mjs': '.mts', '.cjs': '.cts' };

/** The TypeScript files a missing relative `.js` (or extensionless) specifier may stand for. */
export function typeScriptCandidates(specifier: string): string[] {
  const ext = /\.[cm]?js$/.exec(specifier)?.[0];
  if (ext) return [specifier.slice(0, -ext.length) + TS_FOR[ext]];
  if (/\.[cm]?tsx?$|\.json$|\.node$/.test(specifier)) return [];
  return [specifier + '.ts', specifier + '.mts', specifier + '.cts', specifier + '/index.ts'];
}

const isPath = (s: string) => s.startsWith('./') || s.startsWith('../') || s.startsWith('/') || s.startsWith('file:');
const notFound = (err: unknown) => {
  const code = (err as { code?: string }).code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || code === 'ERR_UNSUPPORTED_DIR_IMPORT';
};

let registered = false;

/** Registers the hooks once per process (idempotent). */
export function registerCanalHooks(): void {
  if (registered) return;
  registered = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const own = ownEntry(specifier);
      if (own) return { url: own, shortCircuit: true };
      try {
        return nextResolve(specifier, context);
      } catch (err) {
        if (!notFound(err) || !isPath(specifier)) throw err;
        for (const candidate of typeScriptCandidates(specifier)) {
          try {
            return nextResolve(candidate, context);
          } catch (again) {
            if (!notFound(again)) throw again;
          }
        }
        throw err;
      }
    },
  });
}
