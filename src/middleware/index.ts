export {
  CookieMiddleware,
  parseCookies,
  serializeCookie,
  setCookie,
  deleteCookie,
  type CookieOptions,
} from './cookies.ts';
export { Signer } from './signing.ts';
export {
  SessionMiddleware,
  Session,
  MemorySessionStore,
  SignedCookieSessionStore,
  type SessionStore,
  type SessionMiddlewareOptions,
} from './session.ts';
export { scopeMiddleware, type ScopeAdditions } from './base-middleware.ts';
export { RedisSessionStore, type RedisSessionStoreOptions } from './session-stores/redis.ts';
export { AuthMiddleware, AuthMiddlewareStack, AnonymousUser, login, logout, type User, type GetUser } from './auth.ts';
export { OriginValidator, AllowedHostsOriginValidator, originMatches } from './origin-validator.ts';
export { TokenAuthMiddleware, findToken, type TokenAuthOptions } from './token-auth.ts';
export { AllowedHostsMiddleware, hostAllowed } from './allowed-hosts.ts';
export { CsrfMiddleware, type CsrfOptions } from './csrf.ts';
