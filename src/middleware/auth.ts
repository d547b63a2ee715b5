// Users on both HTTP and WebSocket: `scope.user` from the session (AuthMiddleware, with the
// app's own `getUser`), `login` (cycles the session key: no fixation) and `logout`.
// AuthMiddlewareStack = CookieMiddleware + SessionMiddleware + AuthMiddleware, as in Channels.
import type { Application, Scope } from '../asgi/types.ts';
import { InvalidOptionError } from '../errors.ts';
import { CookieMiddleware } from './cookies.ts';
import { SessionMiddleware, type SessionMiddlewareOptions } from './session.ts';
import { copyScope } from '../asgi/copy-scope.ts';

export interface User {
  id: string | number;
  isAuthenticated: boolean;
  [key: string]: unknown;
}

export const AnonymousUser: User = Object.freeze({ id: '', isAuthenticated: false });

declare module '../asgi/types.js' {
  interface ScopeExtras {
    /** The logged-in user, or AnonymousUser (AuthMiddleware). */
    user?: User;
  }
}

const USER_KEY = '_auth_user_id';

export type GetUser = (id: string, scope: Scope) => Promise<User | null> | User | null;

function needSession(scope: Scope, what: string) {
  if (!scope.session)
    throw new InvalidOptionError(
      `${what} needs scope.session: wrap the app in SessionMiddleware (or AuthMiddlewareStack)`,
    );
  return scope.session;
}

/** What each required option is, for the errors of AuthMiddleware and AuthMiddlewareStack. */
const NEEDED = {
  getUser: 'getUser(id, scope), which loads your user (or returns null)',
  secretKeys: 'secretKeys, the secrets (16 characters or more) that sign the session cookie',
} as const;

function AuthMiddlewareImpl(app: Application, options: { getUser: GetUser }): Application {
  if (typeof options?.getUser !== 'function') {
    const example = 'AuthMiddleware(app, { getUser: (id) => db.users.find(id) })';
    throw new InvalidOptionError(`AuthMiddleware(app, { getUser }) needs ${NEEDED.getUser}; e.g. ${example}`);
  }
  return async (scope, receive, send) => {
    if (scope.type !== 'http' && scope.type !== 'websocket') return app(scope, receive, send);
    const session = needSession(scope, 'AuthMiddleware');
    const id = session.get<string>(USER_KEY);
    let user: User = AnonymousUser;
    if (id !== undefined) {
      const found = await options.getUser(id, scope);
      if (found) user = { ...found, isAuthenticated: true };
    }
    return app(copyScope(scope, { user }), receive, send);
  };
}

export const AuthMiddleware = AuthMiddlewareImpl as unknown as {
  (app: Application, options: { getUser: GetUser }): Application;
  new (app: Application, options: { getUser: GetUser }): Application;
};

/** Logs `user` in for this session: a new session key (no fixation), saved at once. */
export async function login(scope: Scope, user: { id: string | number }): Promise<void> {
  const session = needSession(scope, 'login()');
  await session.cycleKey();
  session.set(USER_KEY, String(user.id));
  await session.save();
  scope.user = { ...(user as User), isAuthenticated: true };
}

/** Logs out: the session is deleted and a fresh one starts. */
export async function logout(scope: Scope): Promise<void> {
  await needSession(scope, 'logout()').flush();
  scope.user = AnonymousUser;
}

/**
 * Django's AuthMiddlewareStack(app) reads the settings; here what it needs is given: the options
 * it cannot do without are named, with an example, when they are missing.
 */
export function AuthMiddlewareStack(
  app: Application,
  options: SessionMiddlewareOptions & { getUser: GetUser },
): Application {
  const missing = (['getUser', 'secretKeys'] as const).filter((key) =>
    key === 'getUser' ? typeof options?.getUser !== 'function' : options?.secretKeys === undefined,
  );
  if (missing.length > 0) {
    const given = '{ secretKeys: [process.env.SECRET_KEY], getUser: (id) => db.users.find(id) }';
    const example = `AuthMiddlewareStack(app, ${given})`;
    const what = missing.map((key) => NEEDED[key]).join(', and ');
    const needs = options === undefined || options === null ? `options: ${what}` : what;
    throw new InvalidOptionError(`AuthMiddlewareStack(app, { getUser, secretKeys }) needs ${needs}; e.g. ${example}`);
  }
  const { getUser, ...session } = options;
  return CookieMiddleware(SessionMiddleware(AuthMiddleware(app, { getUser }), session));
}
