// Route patterns, as Django's: path('room/<str:name>/', app) with the converters str, int,
// slug, uuid and path (and your own via registerConverter), or rePath(regex, app) with named
// groups. A route whose target is a URLRouter matches a prefix and hands the rest of the path
// to that router; any other route must match the whole path.
import type { Application } from '../asgi/types.ts';
import { InvalidOptionError } from '../errors.ts';

export interface Converter {
  /** What the segment must look like, as a regex source (no anchors). */
  regex: string;
  /** Turns the matched text into the value in `url_route.kwargs`; throwing means "no match". */
  toJs(value: string): unknown;
  /** Turns a value back into path text (for building URLs). @default String(value) */
  toUrl?(value: unknown): string;
}

const CONVERTERS = new Map<string, Converter>([
  ['str', { regex: '[^/]+', toJs: (v) => v }],
  [
    'int',
    {
      regex: '[0-9]+',
      toJs: (v) => {
        const n = Number(v);
        // Beyond 2^53 a number would silently change the id; treat it as no match instead.
        if (!Number.isSafeInteger(n)) throw new RangeError(`${v} is too large for an int route`);
        return n;
      },
    },
  ],
  ['slug', { regex: '[-a-zA-Z0-9_]+', toJs: (v) => v }],
  [
    'uuid',
    {
      regex: '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}',
      toJs: (v) => v.toLowerCase(),
    },
  ],
  ['path', { regex: '.+', toJs: (v) => v }],
]);

/** Adds (or replaces) a converter for `<name:...>` in path() patterns made after this call. */
export function registerConverter(name: string, converter: Converter): void {
  if (typeof name !== 'string' || !/^[A-Za-z_]\w*$/.test(name)) {
    throw new InvalidOptionError(
      `registerConverter: the name ${JSON.stringify(name)} must be an identifier (letters, digits, _)`,
    );
  }
  if (!converter || typeof converter.regex !== 'string' || typeof converter.toJs !== 'function') {
    throw new InvalidOptionError(`registerConverter(${JSON.stringify(name)}) needs { regex: string, toJs(value) }`);
  }
  try {
    new RegExp(converter.regex);
  } catch (err) {
    throw new InvalidOptionError(
      `registerConverter(${JSON.stringify(name)}): regex ${JSON.stringify(converter.regex)} ` +
        `is not valid: ${(err as Error).message}`,
    );
  }
  if (converter.toUrl !== undefined && typeof converter.toUrl !== 'function') {
    throw new InvalidOptionError(`registerConverter(${JSON.stringify(name)}): toUrl must be a function`);
  }
  CONVERTERS.set(name, { ...converter });
}

/** The converter registered under `name`, if any. */
export function getConverter(name: string): Converter | undefined {
  return CONVERTERS.get(name);
}

export interface RouteMatch {
  /** What is left of the path after the match (empty unless the route is a prefix). */
  rest: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
}

export interface Route {
  /** The pattern as written. */
  pattern: string;
  app: Application;
  /** The target is a router that takes the remaining path. */
  prefix: boolean;
  name?: string;
  /** Matches a path (without its leading '/'); null when it does not match. */
  match(path: string): RouteMatch | null;
}

/** Marks routers, so that a route to one matches a prefix instead of the whole path. */
export const NESTED = Symbol.for('canal.nestedRouter');

export function isNestedRouter(app: unknown): boolean {
  return typeof app === 'function' && (app as unknown as Record<symbol, unknown>)[NESTED] === true;
}

function checkTarget(fn: string, pattern: unknown, app: unknown): void {
  if (typeof app !== 'function') {
    throw new InvalidOptionError(
      `${fn}(${JSON.stringify(String(pattern))}) needs an application ` +
        `(a function, e.g. MyConsumer.asApp()), not ${app === null ? 'null' : typeof app}`,
    );
  }
}

/** `path('chat/<str:room>/', app)`: Django's path syntax; `<name>` alone is `<str:name>`. */
export function path(pattern: string, app: Application, options: { name?: string } = {}): Route {
  if (typeof pattern !== 'string') throw new InvalidOptionError(`path() takes a pattern string, not ${typeof pattern}`);
  checkTarget('path', pattern, app);
  // Paths are matched without their leading '/', so a pattern written with one still matches.
  const body = pattern.replace(/^\//, '');
  const converters: [string, Converter][] = [];
  let source = '';
  let last = 0;
  const placeholder = /<(?:([^<>:]+):)?([^<>:]+)>/g;
  for (let m; (m = placeholder.exec(body)); ) {
    const kind = m[1] ?? 'str';
    const name = m[2]!;
    if (!/^[A-Za-z_]\w*$/.test(name))
      throw new InvalidOptionError(
        `path(${JSON.stringify(pattern)}): '${name}' is not a valid parameter name (use letters, digits, _)`,
      );
    if (converters.some(([n]) => n === name))
      throw new InvalidOptionError(`path(${JSON.stringify(pattern)}): the parameter '${name}' appears twice`);
    const converter = CONVERTERS.get(kind);
    if (!converter)
      throw new InvalidOptionError(
        `path(${JSON.stringify(pattern)}): unknown converter '${kind}'; ` +
          `known: ${[...CONVERTERS.keys()].join(', ')} (add one with registerConverter)`,
      );
    // Named groups keep the indices right even when a converter's regex has groups of its own.
    source += escapeRegex(body.slice(last, m.index)) + `(?<p${converters.length}>${converter.regex})`;
    converters.push([name, converter]);
    last = m.index + m[0].length;
  }
  const tail = body.slice(last);
  if (/[<>]/.test(tail)) throw new InvalidOptionError(`path(${JSON.stringify(pattern)}): unbalanced '<' or '>'`);
  source += escapeRegex(tail);
  const prefix = isNestedRouter(app);
  const regex = new RegExp('^' + source + (prefix ? '' : '$'));
  const named = options.name !== undefined ? { name: options.name } : {};
  if (converters.length === 0) {
    // A pattern without parameters is plain text: compared, not run as a regex.
    return {
      pattern,
      app,
      prefix,
      ...named,
      match(p) {
        if (prefix ? !p.startsWith(tail) : p !== tail) return null;
        return { rest: p.slice(tail.length), args: [], kwargs: {} };
      },
    };
  }
  return {
    pattern,
    app,
    prefix,
    ...named,
    match(p) {
      const m = regex.exec(p);
      if (!m) return null;
      const kwargs: Record<string, unknown> = {};
      for (let i = 0; i < converters.length; i++) {
        const [name, converter] = converters[i]!;
        try {
          kwargs[name] = converter.toJs(m.groups![`p${i}`]!);
        } catch {
          return null; // as in Django, a converter that refuses the value means "not this route"
        }
      }
      return { rest: p.slice(m[0].length), args: [], kwargs };
    },
  };
}

/**
 * `rePath(/^chat\/(?<room>\w+)\/$/, app)` or the same as a string. Named groups become kwargs;
 * with no named groups, the unnamed ones become args (as in Django).
 */
export function rePath(pattern: string | RegExp, app: Application, options: { name?: string } = {}): Route {
  if (typeof pattern !== 'string' && !(pattern instanceof RegExp))
    throw new InvalidOptionError(`rePath() takes a regex or a string, not ${typeof pattern}`);
  checkTarget('rePath', pattern, app);
  let source = typeof pattern === 'string' ? pattern : pattern.source;
  source = source.replace(/^\^/, '').replace(/^(\\?\/)/, '');
  const prefix = isNestedRouter(app);
  if (prefix) source = source.replace(/(?<!\\)\$$/, '');
  let regex: RegExp;
  try {
    regex = new RegExp('^(?:' + source + ')', typeof pattern === 'string' ? '' : pattern.flags.replace(/[gy]/g, ''));
  } catch (err) {
    throw new InvalidOptionError(
      `rePath(${JSON.stringify(String(pattern))}): not a valid regex: ${(err as Error).message}`,
    );
  }
  return {
    pattern: String(pattern),
    app,
    prefix,
    ...(options.name !== undefined ? { name: options.name } : {}),
    match(p) {
      const m = regex.exec(p);
      if (!m) return null;
      if (!prefix && m[0].length !== p.length) return null;
      const groups = m.groups ?? {};
      const named = Object.keys(groups).length > 0;
      const kwargs: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(groups)) if (v !== undefined) kwargs[k] = v;
      return { rest: p.slice(m[0].length), args: named ? [] : m.slice(1), kwargs };
    },
  };
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
