// A helper for writing middleware: an app that wraps an app and hands it a copy of the scope
// with some keys added (never changing the scope it was given).
import type { Application, Scope, ScopeExtras } from '../asgi/types.ts';
import { copyScope } from '../asgi/copy-scope.ts';
import { InvalidOptionError } from '../errors.ts';

export type ScopeAdditions = (
  scope: Scope,
) => Partial<ScopeExtras> | Record<string, unknown> | Promise<Partial<ScopeExtras> | Record<string, unknown>>;

/**
 * `const TenantMiddleware = scopeMiddleware(async (scope) => ({ tenant: await findTenant(scope) }))`
 * then `TenantMiddleware(app)`. Only the listed scope types are touched (default http, websocket).
 */
export function scopeMiddleware(
  add: ScopeAdditions,
  types: readonly Scope['type'][] = ['http', 'websocket'],
): (app: Application) => Application {
  if (typeof add !== 'function') {
    const example = 'scopeMiddleware(async (scope) => ({ tenant: await findTenant(scope) }))';
    throw new InvalidOptionError(`scopeMiddleware(add) needs a function (scope) => keys to add, e.g. ${example}`);
  }
  return (app) => async (scope, receive, send) => {
    if (!types.includes(scope.type)) return app(scope, receive, send);
    const extra = await add(scope);
    return app(copyScope(scope, extra), receive, send);
  };
}
