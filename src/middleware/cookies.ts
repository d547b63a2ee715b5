// Cookies: `scope.cookies` parsed from the Cookie header, and Set-Cookie headers for responses.
// The `cookie` package parses the header and writes Set-Cookie (checking domain, path, expires).
import { parse as parseCookieHeader, serialize as serializeSetCookie } from 'cookie';
import type { Application, HeaderPair } from '../asgi/types.ts';
import { InvalidOptionError } from '../errors.ts';
import { copyScope } from '../asgi/copy-scope.ts';

declare module '../asgi/types.js' {
  interface ScopeExtras {
    /** Request cookies by name (CookieMiddleware). */
    cookies?: Record<string, string>;
  }
}

/**
 * A cookie value as sent: surrounding double quotes dropped (RFC 6265 §4.1.1 allows a quoted
 * value), then percent-decoded; a value that does not decode is kept as it came.
 */
function decodeValue(value: string): string {
  const bare = value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
  if (!bare.includes('%')) return bare;
  try {
    return decodeURIComponent(bare);
  } catch {
    return bare;
  }
}

/**
 * The cookies of a Cookie header by name. A repeated name keeps its first value (the browser
 * sends the most specific path first). The object has no Object.prototype: a cookie named
 * `constructor` or `__proto__` is an own key like any other, and an absent one is undefined.
 */
export function parseCookies(header: string | null | undefined): Record<string, string> {
  const out = parseCookieHeader(header ?? '', { decode: decodeValue }) as Record<string, string>;
  delete out['']; // '=x' names no cookie
  return out;
}

export interface CookieOptions {
  path?: string;
  domain?: string;
  /** Seconds. */
  maxAge?: number;
  expires?: Date;
  secure?: boolean;
  httpOnly?: boolean;
  /** @default 'Lax' */
  sameSite?: 'Lax' | 'Strict' | 'None' | false;
}

const NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function serializeCookie(name: string, value: string, options: CookieOptions = {}): string {
  // Stricter than the cookie package, which also takes separators such as '/', ':' or '"' that
  // some servers and proxies split on: a name is an RFC 9110 token.
  if (!NAME.test(name)) throw new InvalidOptionError(`cookie name ${JSON.stringify(name)} is not a valid token`);
  const { maxAge } = options;
  if (maxAge !== undefined && !Number.isFinite(maxAge)) {
    throw new InvalidOptionError(`cookie ${JSON.stringify(name)}: maxAge must be a number of seconds, not ${maxAge}`);
  }
  const sameSite = options.sameSite === undefined ? 'Lax' : options.sameSite;
  try {
    return serializeSetCookie(name, value, {
      maxAge: maxAge === undefined ? undefined : Math.floor(maxAge),
      expires: options.expires,
      domain: options.domain,
      path: options.path ?? '/',
      // Browsers drop a SameSite=None cookie that is not Secure.
      secure: options.secure || sameSite === 'None',
      httpOnly: options.httpOnly,
      sameSite: typeof sameSite === 'string' ? (sameSite.toLowerCase() as 'lax' | 'strict' | 'none') : sameSite,
    });
  } catch (err) {
    throw new InvalidOptionError(
      `cookie ${JSON.stringify(name)}: ${(err as Error).message}; a domain is a host name (example.com), a path ` +
        "is printable ASCII without ';', expires a valid Date, sameSite 'Lax', 'Strict', 'None' or false",
    );
  }
}

/** Adds a Set-Cookie header to a response's header list. */
export function setCookie(headers: [string, string][], name: string, value: string, options?: CookieOptions): void {
  headers.push(['set-cookie', serializeCookie(name, value, options)]);
}

/** Adds a Set-Cookie header that deletes the cookie. */
export function deleteCookie(
  headers: [string, string][],
  name: string,
  options: Pick<CookieOptions, 'path' | 'domain'> = {},
): void {
  headers.push(['set-cookie', serializeCookie(name, '', { ...options, maxAge: 0, expires: new Date(0) })]);
}

export function cookieHeader(headers: HeaderPair[]): string | null {
  const parts: string[] = [];
  for (const [k, v] of headers) if (k.toString('latin1') === 'cookie') parts.push(v.toString('latin1'));
  return parts.length ? parts.join('; ') : null;
}

function CookieMiddlewareImpl(app: Application): Application {
  return (scope, receive, send) => {
    if (scope.type !== 'http' && scope.type !== 'websocket') return app(scope, receive, send);
    return app(copyScope(scope, { cookies: parseCookies(cookieHeader(scope.headers)) }), receive, send);
  };
}

export const CookieMiddleware = CookieMiddlewareImpl as unknown as {
  (app: Application): Application;
  new (app: Application): Application;
};
