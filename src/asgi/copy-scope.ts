// copyScope: what routers and middleware use to hand an inner app a changed scope without
// touching the caller's. `Object.assign` rather than object spread: on Node 20 a spread of a
// scope costs several times more (measured in bench/micro/scope-copy.ts), and every router and
// middleware layer of every connection makes one.
import type { Scope } from './types.js';

/** A shallow copy of `scope` with `additions` set on it; the original is left as it was. */
export function copyScope<S extends Scope>(scope: S): S;
export function copyScope<S extends Scope, A extends object>(scope: S, additions: A): S & A;
export function copyScope(scope: Scope, additions?: object): Scope {
  return additions === undefined ? Object.assign({}, scope) : Object.assign({}, scope, additions);
}
