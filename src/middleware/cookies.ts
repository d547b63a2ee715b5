// Cookies: `scope.cookies` parsed from the Cookie header, and Set-Cookie headers for responses.
import type { Application, HeaderPair } from '../asgi/types.ts';
import { InvalidOptionError } from '../errors.ts';
import { copyScope } from '../asgi/copy-scope.ts';

declare module '../asgi/types.js' {
  interface ScopeExtras {
    /** Request cookies by name (CookieMiddleware). */
    cookies?: Record<string, string>;
  }
}

export function parseCookies(header: string | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (!name || name in out) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      out[name] = decodeURIComponent(value);
    } catch {
      out[name] = value;
    }
  }
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
  if (!NAME.test(name)) throw new InvalidOptionError(`cookie name ${JSON.stringify(name)} is not a valid token`);
  let out = `${name}=${encodeURIComponent(value)}`;
  if (options.maxAge !== undefined) {
    if (!Number.isFinite(options.maxAge)) throw new InvalidOptionError(`cookie maxAge must be a number of seconds, not ${options.maxAge}`);
    out += `; Max-Age=${Math.floor(options.maxAge)}`;
  }
  if (options.expires) out += `; Expires=${options.expires.toUTCString()}`;
  if (options.domain) out += `; Domain=${options.domain}`;
  out += `; Path=${options.path ?? '/'}`;
  if (options.secure || options.sameSite === 'None') out += '; Secure';
  if (options.httpOnly) out += '; HttpOnly';
  const sameSite = options.sameSite === undefined ? 'Lax' : options.sameSite;
  if (sameSite) out += `; SameSite=${sameSite}`;
  return out;
}

/** Adds a Set-Cookie header to a response's header list. */
export function setCookie(headers: [string, string][], name: string, value: string, options?: CookieOptions): void {
  headers.push(['set-cookie', serializeCookie(name, value, options)]);
}

/** Adds a Set-Cookie header that deletes the cookie. */
export function deleteCookie(headers: [string, string][], name: string, options: Pick<CookieOptions, 'path' | 'domain'> = {}): void {
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
