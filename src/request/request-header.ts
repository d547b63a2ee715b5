// Reading request headers from a scope's byte pairs: one header by name, and the media type of
// the body (`multipart/form-data; boundary=…` → `multipart/form-data`).
import type { HeaderPair } from '../asgi/types.ts';

/** The first value of a request header (name in lowercase), as latin1 text; null when absent. */
export function requestHeader(headers: readonly HeaderPair[], name: string): string | null {
  for (const [k, v] of headers)
    if (k.length === name.length && k.toString('latin1') === name) return v.toString('latin1');
  return null;
}

/** The request's media type without parameters, lowercased; null without a content-type. */
export function mediaType(headers: readonly HeaderPair[]): string | null {
  const value = requestHeader(headers, 'content-type');
  if (value === null) return null;
  const semi = value.indexOf(';');
  return (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
}
