export { CookieMiddleware, parseCookies, serializeCookie, setCookie, deleteCookie, type CookieOptions } from './cookies.js';
export { Signer } from './signing.js';
export { SessionMiddleware, Session, MemorySessionStore, type SessionStore, type SessionMiddlewareOptions } from './session.js';
export { RedisSessionStore, type RedisSessionStoreOptions } from './session-stores/redis.js';
export { AuthMiddleware, AuthMiddlewareStack, AnonymousUser, login, logout, type User, type GetUser } from './auth.js';
export { OriginValidator, AllowedHostsOriginValidator, originMatches } from './origin-validator.js';
export { nodeHttpApp, type NodeHttpHandler, type NodeHttpAppOptions } from './node-http-app.js';
export { TokenAuthMiddleware, findToken, type TokenAuthOptions } from './token-auth.js';
export { AllowedHostsMiddleware, hostAllowed } from './allowed-hosts.js';
