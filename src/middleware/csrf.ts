// CSRF protection for cookie-authenticated HTTP, as Django users expect: an unsafe request
// (POST, PUT, PATCH, DELETE) that carries cookies must show either the CSRF token — the
// `csrftoken` cookie's value repeated in an `X-CSRFToken` header (double submit) — or an
// `Origin` that is this site's own (or a trusted one). Otherwise 403. Safe requests without a
// `csrftoken` cookie get one, for pages and scripts to read.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Application, HeaderPair, SendEvent } from '../asgi/types.ts';
import { InvalidOptionError } from '../errors.ts';
import { createLogger, quoteForLog, RepeatedLog } from '../logging.ts';
import { cookieHeader, parseCookies, serializeCookie } from './cookies.ts';
import { originMatches } from './origin-validator.ts';
import { copyScope } from '../asgi/copy-scope.ts';

// A refused form post is the client's doing: info, with its repeats counted.
const refusals = new RepeatedLog(createLogger('middleware:csrf'), 'info');
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

export interface CsrfOptions {
  /** Other origins allowed to post ('https://app.example.com', '.example.com'). */
  trustedOrigins?: readonly string[];
  /** @default 'csrftoken' */
  cookieName?: string;
  /** @default 'x-csrftoken' */
  headerName?: string;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function get(headers: HeaderPair[], name: string): string | null {
  for (const [k, v] of headers) if (k.toString('latin1') === name) return v.toString('latin1');
  return null;
}

function CsrfMiddlewareImpl(app: Application, options: CsrfOptions = {}): Application {
  if (options === null || typeof options !== 'object') {
    const example = "{ trustedOrigins: ['https://app.example.com'] }";
    const call = 'CsrfMiddleware(app, options?)';
    throw new InvalidOptionError(`${call}: options must be an object such as ${example}, not ${options}`);
  }
  const cookieName = options.cookieName ?? 'csrftoken';
  const headerName = (options.headerName ?? 'x-csrftoken').toLowerCase();
  const trusted = options.trustedOrigins ?? [];
  return async (scope, receive, send) => {
    if (scope.type !== 'http') return app(scope, receive, send);
    const headers = scope.headers as HeaderPair[];
    const raw = cookieHeader(headers);
    const cookies = scope.cookies ?? parseCookies(raw);
    const token = cookies[cookieName];
    if (!SAFE.has(scope.method) && raw !== null) {
      const given = get(headers, headerName);
      const origin = get(headers, 'origin');
      const host = get(headers, 'host');
      const byToken = token !== undefined && given !== null && same(given, token);
      const byOrigin =
        origin !== null &&
        host !== null &&
        (originMatches(origin, host) || trusted.some((t) => originMatches(origin, t)));
      if (!byToken && !byOrigin) {
        refusals.note(
          'requests refused by the CSRF check',
          `refused ${scope.method} ${quoteForLog(scope.path)}: ` +
            `no CSRF token and origin ${quoteForLog(origin)} is not this site's`,
        );
        await send({
          type: 'http.response.start',
          status: 403,
          headers: [['content-type', 'text/plain; charset=utf-8']],
        });
        await send({
          type: 'http.response.body',
          body: 'Forbidden: CSRF check failed (send the csrftoken cookie value in X-CSRFToken)\n',
        });
        return;
      }
    }
    const inner = copyScope(scope, { cookies, csrfToken: token ?? randomBytes(24).toString('base64url') });
    if (token !== undefined) return app(inner, receive, send);
    const wrapped = (event: SendEvent): Promise<void> => {
      if (event.type !== 'http.response.start') return send(event);
      const cookie = serializeCookie(cookieName, inner.csrfToken, { maxAge: 31_449_600, sameSite: 'Lax' });
      return send({ ...event, headers: [...(event.headers ?? []), ['set-cookie', cookie]] });
    };
    return app(inner, receive, wrapped);
  };
}

declare module '../asgi/types.js' {
  interface ScopeExtras {
    /** The CSRF token to put in forms and the X-CSRFToken header (CsrfMiddleware). */
    csrfToken?: string;
  }
}

export const CsrfMiddleware = CsrfMiddlewareImpl as unknown as {
  (app: Application, options?: CsrfOptions): Application;
  new (app: Application, options?: CsrfOptions): Application;
};
