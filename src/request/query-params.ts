// The query string of an http or websocket scope as URLSearchParams: `?room=a&tag=x&tag=y`
// gives get('room') 'a' and getAll('tag') ['x', 'y'], percent-escapes and '+' decoded.
import type { Scope } from '../asgi/types.ts';

/**
 * The scope's query string, parsed anew on each call (a fresh object: changing it changes
 * nothing else). Bytes are read as UTF-8, as browsers percent-encode it; empty for a scope
 * without a query string (lifespan, channel).
 */
export function queryParams(scope: Scope): URLSearchParams {
  const raw = (scope as { query_string?: Buffer }).query_string;
  return new URLSearchParams(raw === undefined || raw.length === 0 ? '' : raw.toString('utf8'));
}
