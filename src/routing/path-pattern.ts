// Route patterns, as Django's: path('room/<str:name>/', app) with converters str, int, slug,
// uuid and path (and your own via registerConverter), or rePath(regex, app) with named groups.
import { InvalidOptionError } from '../errors.js';
import type { Application } from '../asgi/types.js';

export interface Converter {
  regex: string;
  toJs(value: string): unknown;
}

const CONVERTERS: Record<string, Converter> = {
  str: { regex: '[^/]+', toJs: (v) => v },
  int: { regex: '[0-9]+', toJs: (v) => Number(v) },
  slug: { regex: '[-a-zA-Z0-9_]+', toJs: (v) => v },
  uuid: { regex: '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}', toJs: (v) => v.toLowerCase() },
  path: { regex: '.+', toJs: (v) => v },
};

export function registerConverter(name: string, converter: Converter): void {
  if (!/^[A-Za-z_]\w*$/.test(name)) throw new InvalidOptionError(`converter name ${JSON.stringify(name)} must be an identifier`);
  CONVERTERS[name] = converter;
}

export interface Route {
  /** Matches the start of a path; for a prefix route the rest goes to the nested router. */
  match(path: string): { rest: string; args: unknown[]; kwargs: Record<string, unknown> } | null;
  app: Application;
  pattern: string;
  /** The target is a router that takes the remaining path. */
  prefix: boolean;
}

/** Marks routers so a route to them matches a prefix instead of the whole path. */
export const NESTED = Symbol.for('canal.nestedRouter');

function isRouter(app: Application): boolean {
  return (app as unknown as Record<symbol, unknown>)[NESTED] === true;
}

export function path(pattern: string, app: Application, options: { name?: string } = {}): Route {
  if (typeof pattern !== 'string') throw new InvalidOptionError(`path() takes a pattern string, not ${typeof pattern}`);
  if (typeof app !== 'function') throw new InvalidOptionError(`path(${JSON.stringify(pattern)}) needs an application, not ${typeof app}`);
  void options;
  const converters: [string, Converter][] = [];
  let source = '';
  let last = 0;
  const re = /<(?:(\w+):)?(\w+)>/g;
  for (let m; (m = re.exec(pattern)); ) {
    const kind = m[1] ?? 'str';
    const converter = CONVERTERS[kind];
    if (!converter) throw new InvalidOptionError(`path(${JSON.stringify(pattern)}): unknown converter '${kind}'; known: ${Object.keys(CONVERTERS).join(', ')}`);
    source += escape(pattern.slice(last, m.index)) + `(${converter.regex})`;
    converters.push([m[2]!, converter]);
    last = m.index + m[0].length;
  }
  source += escape(pattern.slice(last));
  const prefix = isRouter(app);
  const regex = new RegExp('^' + source + (prefix ? '' : '$'));
  return {
    pattern,
    app,
    prefix,
    match(p) {
      const m = regex.exec(p);
      if (!m) return null;
      const kwargs: Record<string, unknown> = {};
      converters.forEach(([name, c], i) => (kwargs[name] = c.toJs(m[i + 1]!)));
      return { rest: p.slice(m[0].length), args: [], kwargs };
    },
  };
}

export function rePath(pattern: string | RegExp, app: Application): Route {
  if (typeof app !== 'function') throw new InvalidOptionError(`rePath(${String(pattern)}) needs an application, not ${typeof app}`);
  let source = typeof pattern === 'string' ? pattern : pattern.source;
  if (source.startsWith('^')) source = source.slice(1);
  const prefix = isRouter(app);
  if (prefix && source.endsWith('$')) source = source.slice(0, -1);
  const regex = new RegExp('^' + source);
  return {
    pattern: String(pattern),
    app,
    prefix,
    match(p) {
      const m = regex.exec(p);
      if (!m) return null;
      if (!prefix && m[0].length !== p.length) return null;
      const kwargs: Record<string, unknown> = { ...(m.groups ?? {}) };
      const args = m.groups && Object.keys(m.groups).length ? [] : m.slice(1);
      return { rest: p.slice(m[0].length), args, kwargs };
    },
  };
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
