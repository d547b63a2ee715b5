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

/** The registered layouts: scope type → its keys in order. */
const layouts = new Map<string, readonly string[]>();

/** A key a generated literal may hold: a plain name, not one the copy adds or treats apart. */
const PLAIN_KEY = /^[A-Za-z_$][\w$]*$/;
const RESERVED = new Set(['__proto__', 'state', 'url_route']);

type LiteralCopy = (s: AnyScope, routed: boolean, urlRoute: unknown) => AnyScope | null;

/** The literal copy of a scope in a registered layout, or null for any other. */
let literalCopy: LiteralCopy = () => null;

/**
 * Generates literalCopy for the registered layouts: one branch per scope type, each holding
 * its literals, so a copy runs no lookup and calls no other function.
 *
 * A branch checks that the scope's keys are the layout's, optionally followed by `state` (the
 * lifespan state), walking them with for-in: it reads the keys a fast object's map already
 * holds instead of making an array of them (Object.keys) for every copy. for-in also lists
 * inherited enumerable keys, after the own ones: a scope with any is "other" (null), and
 * copied by Object.assign, which is always right. `url_route` goes inside the literal: a key
 * added to the new object afterwards would cost it a map transition of its own.
 */
function generate(): LiteralCopy {
  const lists: (readonly string[])[] = [];
  let body = 'const t = s.type;\n';
  for (const [type, keys] of layouts) {
    const fields = keys.map((k) => `${JSON.stringify(k)}: s[${JSON.stringify(k)}]`).join(', ');
    body +=
      `if (t === ${JSON.stringify(type)}) {\n` +
      `  const k = K[${lists.length}], n = ${keys.length};\n` +
      '  let i = 0;\n' +
      '  for (const key in s) {\n' +
      '    if (i < n) { if (key !== k[i]) return null; }\n' +
      "    else if (i > n || key !== 'state') return null;\n" +
      '    i++;\n' +
      '  }\n' +
      `  if (i === n) return routed ? { ${fields}, url_route: r } : { ${fields} };\n` +
      '  if (i !== n + 1) return null;\n' +
      `  const c = { ${fields} };\n` +
      '  c.state = s.state;\n' +
      '  if (routed) c.url_route = r;\n' +
      '  return c;\n' +
      '}\n';
    lists.push(keys);
  }
  body += 'return null;';
  const make = new Function('K', `'use strict'; return function literalCopy(s, routed, r) {\n${body}\n};`);
  return make(lists) as LiteralCopy;
}

/**
 * Declares the keys, in order, of the scopes of one `type` a builder makes, so that their
 * copies are made by a literal of the same shape. The builder makes its scopes with exactly
 * these keys in this order (optionally followed by `state`, the lifespan state); a scope that
 * differs is still copied right, by Object.assign.
 */
export function registerScopeLayout(type: string, keys: readonly string[]): void {
  if (!PLAIN_KEY.test(type))
    throw new TypeError(`registerScopeLayout: ${JSON.stringify(type)} is not a scope type name`);
  if (new Set(keys).size !== keys.length || keys.some((k) => !PLAIN_KEY.test(k) || RESERVED.has(k))) {
    throw new TypeError(`registerScopeLayout: ${JSON.stringify(keys)} is not a list of distinct plain scope keys`);
  }
  layouts.set(type, [...keys]);
  literalCopy = generate();
}

/** A shallow copy of `scope` with `additions` set on it; the original is left as it was. */
export function copyScope<S extends Scope>(scope: S): S;
export function copyScope<S extends Scope, A extends object>(scope: S, additions: A): S & A;
export function copyScope(scope: Scope, additions?: object): Scope {
  const copy = (literalCopy(scope as unknown as AnyScope, false, undefined) ?? Object.assign({}, scope)) as Scope;
  return additions === undefined ? copy : Object.assign(copy, additions);
}

/** A shallow copy of `scope` with `url_route` set (what URLRouter hands its target). */
export function copyScopeWithRoute<S extends Scope>(
  scope: S,
  urlRoute: { args: unknown[]; kwargs: Record<string, unknown> },
): S {
  const copy = literalCopy(scope as unknown as AnyScope, true, urlRoute);
  if (copy !== null) return copy as unknown as S;
  const c = Object.assign({}, scope) as S & { url_route?: unknown };
  c.url_route = urlRoute;
  return c;
}
