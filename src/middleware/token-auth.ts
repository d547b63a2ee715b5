// Token auth for clients without cookies (mobile apps, services): a bearer token from the
// `Sec-WebSocket-Protocol` header (offered as `bearer, <token>`; the server then accepts with
// subprotocol 'bearer') or a query parameter (`?token=`), verified as a JWT (HS256/RS256… with
// `jose`) or by an app callback. A missing or bad token denies the handshake with 401 through
// the denial-response extension; HTTP requests get 401. `scope.user` is set from the token.
import type { Application, HeaderPair, Scope } from '../asgi/types.ts';
import { InvalidOptionError } from '../errors.ts';
import { createLogger } from '../logging.ts';
import type { User } from './auth.ts';
import { copyScope } from '../asgi/copy-scope.ts';

const log = createLogger('middleware:token');

export interface TokenAuthOptions {
  /** Verify a token and return its user (null or a throw refuses). */
  verify?: (token: string, scope: Scope) => Promise<User | null> | User | null;
  /** Or verify a JWT: an HMAC secret (string/bytes) or a public key (KeyObject/CryptoKey). */
  jwtKey?: string | Uint8Array | import('node:crypto').KeyObject;
  /** Claims the JWT must carry. */
  issuer?: string;
  audience?: string;
  /** Query parameter with the token. @default 'token' */
  queryParam?: string;
  /** Turns verified JWT claims into the user. @default { id: sub, isAuthenticated: true, ...claims } */
  userFromClaims?: (claims: Record<string, unknown>) => User;
}

function header(headers: HeaderPair[], name: string): string | null {
  for (const [k, v] of headers) if (k.toString('latin1') === name) return v.toString('latin1');
  return null;
}

/** The token from `Sec-WebSocket-Protocol: bearer, <token>`, an `Authorization: Bearer` header, or the query. */
export function findToken(scope: Scope, queryParam = 'token'): string | null {
  if (scope.type !== 'http' && scope.type !== 'websocket') return null;
  if (scope.type === 'websocket') {
    const i = scope.subprotocols.indexOf('bearer');
    if (i >= 0 && scope.subprotocols[i + 1]) return scope.subprotocols[i + 1]!;
  }
  const auth = header(scope.headers, 'authorization');
  if (auth && /^bearer /i.test(auth)) return auth.slice(7).trim();
  const q = new URLSearchParams(scope.query_string.toString('latin1')).get(queryParam);
  return q || null;
}

function TokenAuthMiddlewareImpl(app: Application, options: TokenAuthOptions): Application {
  if (!options || (typeof options.verify !== 'function' && options.jwtKey === undefined)) {
    throw new InvalidOptionError(
      'TokenAuthMiddleware(app, options) needs verify(token, scope) or jwtKey, ' +
        'e.g. TokenAuthMiddleware(app, { jwtKey: process.env.JWT_SECRET }) ' +
        'or TokenAuthMiddleware(app, { verify: (token) => db.users.byToken(token) })',
    );
  }
  const key = typeof options.jwtKey === 'string' ? new TextEncoder().encode(options.jwtKey) : options.jwtKey;
  const toUser =
    options.userFromClaims ??
    ((c: Record<string, unknown>) => ({ ...c, id: String(c.sub ?? ''), isAuthenticated: true }) as User);
  const verify = async (token: string, scope: Scope): Promise<User | null> => {
    if (options.verify) return options.verify(token, scope);
    const { jwtVerify } = await import('jose');
    const { payload } = await jwtVerify(token, key as Uint8Array, {
      ...(options.issuer ? { issuer: options.issuer } : {}),
      ...(options.audience ? { audience: options.audience } : {}),
    });
    return toUser(payload as Record<string, unknown>);
  };

  return async (scope, receive, send) => {
    if (scope.type !== 'http' && scope.type !== 'websocket') return app(scope, receive, send);
    const token = findToken(scope, options.queryParam);
    let user: User | null = null;
    let why = 'no token';
    if (token) {
      try {
        user = await verify(token, scope);
        if (!user) why = 'token refused';
      } catch (err) {
        why = (err as Error).message;
      }
    }
    if (user) return app(copyScope(scope, { user: { ...user, isAuthenticated: true } }), receive, send);
    log.debug(`refused ${scope.type} ${scope.path}: ${why}`);
    const body = JSON.stringify({ error: 'authentication required' });
    const headers: [string, string][] = [
      ['content-type', 'application/json'],
      ['www-authenticate', 'Bearer'],
    ];
    if (scope.type === 'websocket') {
      await receive();
      await send({ type: 'websocket.http.response.start', status: 401, headers });
      await send({ type: 'websocket.http.response.body', body });
    } else {
      await send({ type: 'http.response.start', status: 401, headers });
      await send({ type: 'http.response.body', body });
    }
  };
}

export const TokenAuthMiddleware = TokenAuthMiddlewareImpl as unknown as {
  (app: Application, options: TokenAuthOptions): Application;
  new (app: Application, options: TokenAuthOptions): Application;
};
