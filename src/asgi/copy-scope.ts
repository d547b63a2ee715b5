// copyScope: what routers and middleware use to hand an inner app a changed scope without
// touching the caller's. Every router and middleware layer of every connection makes one.
//
// A scope laid out as its builder declared (registerScopeLayout: the same keys in the same
// order) is copied by one object literal made from that key list, so the copy has the shape of
// the original and code reading scopes stays monomorphic; any other scope by `Object.assign`.
// The interface server registers its layouts (src/server/scope.ts); this module knows none.
// Scope keys are strings (docs/app-interface.md): a symbol-keyed property is not part of a
// scope, and a copy may leave it out.
import type { Scope } from './types.ts';

type AnyScope = Record<string, unknown>;

interface Layout {
  readonly type: string;
  readonly keys: readonly string[];
  /** A literal of `keys`, read from the scope given. */
  readonly copy: (s: AnyScope) => AnyScope;
  /** The same literal with `url_route` last, inside it: a key added afterwards costs a map transition. */
  readonly routed: (s: AnyScope, urlRoute: unknown) => AnyScope;
}

// A short list scanned by type (few scope types are registered: the server's two): comparing
// a scope's type with each is cheaper than a hash lookup on every copy.
const layouts: Layout[] = [];

/** A key a generated literal may hold: a plain name, not one the copy adds or treats apart. */
const PLAIN_KEY = /^[A-Za-z_$][\w$]*$/;
const RESERVED = new Set(['__proto__', 'state', 'url_route']);

function literalOf(keys: readonly string[], routed: boolean): (s: AnyScope, urlRoute?: unknown) => AnyScope {
  const fields = keys.map((k) => `${JSON.stringify(k)}: s[${JSON.stringify(k)}]`);
  if (routed) fields.push('url_route: r');
  return new Function('s', 'r', `'use strict'; return { ${fields.join(', ')} };`) as (
    s: AnyScope,
    urlRoute?: unknown,
  ) => AnyScope;
}

/**
 * Declares the keys, in order, of the scopes of one `type` a builder makes, so that their
 * copies are made by a literal of the same shape. The builder makes its scopes with exactly
 * these keys in this order (optionally followed by `state`, the lifespan state); a scope that
 * differs is still copied right, by Object.assign.
 */
export function registerScopeLayout(type: string, keys: readonly string[]): void {
  if (new Set(keys).size !== keys.length || keys.some((k) => !PLAIN_KEY.test(k) || RESERVED.has(k))) {
    throw new TypeError(`registerScopeLayout: ${JSON.stringify(keys)} is not a list of distinct plain scope keys`);
  }
  const list = [...keys];
  const layout: Layout = { type, keys: list, copy: literalOf(list, false), routed: literalOf(list, true) };
  const at = layouts.findIndex((l) => l.type === type);
  if (at < 0) layouts.push(layout);
  else layouts[at] = layout;
}

/** How a scope's keys compare with a layout. */
const Fit = {
  Other: 0,
  Exact: 1,
  /** the layout's keys, then `state` (the lifespan state) */
  WithState: 2,
} as const;
type Fit = (typeof Fit)[keyof typeof Fit];

/**
 * Whether the scope's keys are `layout`, optionally followed by `state`. Walked with for-in,
 * which reads the keys a fast object's map already holds instead of making an array of them
 * (Object.keys) for every copy. for-in also lists inherited enumerable keys, after the own
 * ones: a scope with any is "other" and copied by Object.assign, which is always right.
 */
function fitOf(s: AnyScope, layout: readonly string[]): Fit {
  const n = layout.length;
  let i = 0;
  for (const key in s) {
    if (i < n) {
      if (key !== layout[i]) return Fit.Other;
    } else if (i > n || key !== 'state') return Fit.Other;
    i++;
  }
  return i === n ? Fit.Exact : i === n + 1 ? Fit.WithState : Fit.Other;
}

/** The literal copy of a scope in a registered layout, or null for any other. */
function literalCopy(scope: Scope, routed: boolean, urlRoute: unknown): AnyScope | null {
  const s = scope as unknown as AnyScope;
  const type = s.type;
  let layout: Layout | undefined;
  for (let i = 0; i < layouts.length; i++) {
    if (layouts[i]!.type === type) {
      layout = layouts[i];
      break;
    }
  }
  if (layout === undefined) return null;
  const fit = fitOf(s, layout.keys);
  if (fit === Fit.Other) return null;
  if (fit === Fit.Exact) return routed ? layout.routed(s, urlRoute) : layout.copy(s);
  // With the lifespan state: it follows the layout's keys, as in the original, then url_route.
  const c = layout.copy(s);
  c.state = s.state;
  if (routed) c.url_route = urlRoute;
  return c;
}

/** A shallow copy of `scope` with `additions` set on it; the original is left as it was. */
export function copyScope<S extends Scope>(scope: S): S;
export function copyScope<S extends Scope, A extends object>(scope: S, additions: A): S & A;
export function copyScope(scope: Scope, additions?: object): Scope {
  const copy = (literalCopy(scope, false, undefined) ?? Object.assign({}, scope)) as Scope;
  return additions === undefined ? copy : Object.assign(copy, additions);
}

/** A shallow copy of `scope` with `url_route` set (what URLRouter hands its target). */
export function copyScopeWithRoute<S extends Scope>(
  scope: S,
  urlRoute: { args: unknown[]; kwargs: Record<string, unknown> },
): S {
  const copy = literalCopy(scope, true, urlRoute);
  if (copy !== null) return copy as unknown as S;
  const c = Object.assign({}, scope) as S & { url_route?: unknown };
  c.url_route = urlRoute;
  return c;
}
