// Sessions: `scope.session`, loaded from a signed session-id cookie (HMAC, key rotation) and a
// pluggable store. HTTP responses save a modified session and set the cookie automatically;
// WebSocket code calls `await scope.session.save()`. A tampered, unknown or expired cookie
// gives a fresh empty session.
import { randomBytes } from 'node:crypto';
import type { Application, HeaderPair, SendEvent } from '../asgi/types.ts';
import { InvalidOptionError } from '../errors.ts';
import { cookieHeader, parseCookies, serializeCookie, type CookieOptions } from './cookies.ts';
import { Signer } from './signing.ts';
import { copyScope } from '../asgi/copy-scope.ts';

declare module '../asgi/types.js' {
  interface ScopeExtras {
    /** The request's session (SessionMiddleware). */
    session?: Session;
  }
}

export interface SessionStore {
  load(key: string): Promise<Record<string, unknown> | null>;
  save(key: string, data: Record<string, unknown>, ttlSeconds: number): Promise<void>;
  delete(key: string): Promise<void>;
  /** Stores that keep the data in the cookie itself make the key from the data on each save. */
  keyFor?(data: Record<string, unknown>, ttlSeconds: number): string;
}

/**
 * Sessions kept in the (signed, not encrypted) cookie itself: no server storage, so every
 * process reads them. The data is visible to the client, limited to about 4 KB, and only an
 * HTTP response can change it (a WebSocket cannot set cookies).
 */
export class SignedCookieSessionStore implements SessionStore {
  static readonly MAX_BYTES = 3800;
  keyFor(data: Record<string, unknown>, ttlSeconds: number): string {
    const key = Buffer.from(JSON.stringify({ d: data, e: Date.now() + ttlSeconds * 1000 })).toString('base64url');
    if (key.length > SignedCookieSessionStore.MAX_BYTES) {
      throw new InvalidOptionError(
        `session data is ${key.length} bytes encoded, too large for a signed-cookie session ` +
          `(${SignedCookieSessionStore.MAX_BYTES}); ` +
          `keep less in the session or use MemorySessionStore/RedisSessionStore`,
      );
    }
    return key;
  }
  async load(key: string): Promise<Record<string, unknown> | null> {
    try {
      const { d, e } = JSON.parse(Buffer.from(key, 'base64url').toString('utf8')) as {
        d: Record<string, unknown>;
        e: number;
      };
      return typeof e === 'number' && e > Date.now() && d && typeof d === 'object' ? d : null;
    } catch {
      return null;
    }
  }
  async save(): Promise<void> {}
  async delete(): Promise<void> {}
}

/** Sessions in this process's memory (the default; one process only). */
export class MemorySessionStore implements SessionStore {
  private readonly items = new Map<string, { json: string; expires: number }>();
  async load(key: string): Promise<Record<string, unknown> | null> {
    const item = this.items.get(key);
    if (!item) return null;
    if (item.expires <= Date.now()) {
      this.items.delete(key);
      return null;
    }
    return JSON.parse(item.json) as Record<string, unknown>;
  }
  async save(key: string, data: Record<string, unknown>, ttlSeconds: number): Promise<void> {
    this.items.set(key, { json: JSON.stringify(data), expires: Date.now() + ttlSeconds * 1000 });
  }
  async delete(key: string): Promise<void> {
    this.items.delete(key);
  }
}

export class Session {
  /** The session key in the store; null until first saved. */
  key: string | null;
  modified = false;
  private data: Record<string, unknown>;
  /** Set when the cookie must be written again (new key, cycled key, flushed). */
  cookieChanged = false;

  declare private readonly store: SessionStore;
  declare private readonly ttlSeconds: number;
  constructor(store: SessionStore, ttlSeconds: number, key: string | null, data: Record<string, unknown> | null) {
    this.store = store;
    this.ttlSeconds = ttlSeconds;
    this.key = data ? key : null;
    this.data = data ?? {};
  }

  get<T = unknown>(name: string): T | undefined {
    return this.data[name] as T | undefined;
  }
  has(name: string): boolean {
    return name in this.data;
  }
  set(name: string, value: unknown): void {
    if (value === undefined)
      throw new InvalidOptionError(`session value for ${JSON.stringify(name)} is undefined; use delete()`);
    this.data[name] = value;
    this.modified = true;
  }
  delete(name: string): void {
    if (name in this.data) {
      delete this.data[name];
      this.modified = true;
    }
  }
  clear(): void {
    this.data = {};
    this.modified = true;
  }
  get isEmpty(): boolean {
    return Object.keys(this.data).length === 0;
  }
  toJSON(): Record<string, unknown> {
    return { ...this.data };
  }

  /** Writes the session to its store (making a key the first time). */
  async save(): Promise<void> {
    if (this.store.keyFor) {
      this.key = this.store.keyFor(this.data, this.ttlSeconds);
      this.cookieChanged = true;
    } else if (this.key === null) {
      this.key = randomBytes(24).toString('base64url');
      this.cookieChanged = true;
    }
    await this.store.save(this.key, this.data, this.ttlSeconds);
    this.modified = false;
  }

  /** A new key for the same data (on login: no session fixation); the old key is deleted. */
  async cycleKey(): Promise<void> {
    const old = this.key;
    this.key = null;
    await this.save();
    if (old) await this.store.delete(old);
  }

  /** Deletes the session and starts an empty one (on logout). */
  async flush(): Promise<void> {
    if (this.key) await this.store.delete(this.key);
    this.key = null;
    this.data = {};
    this.modified = false;
    this.cookieChanged = true;
  }
}

export interface SessionMiddlewareOptions {
  /** Secrets that sign the session cookie: the first signs, any verifies (rotation). */
  secretKeys: readonly (string | Buffer)[];
  /** @default a MemorySessionStore */
  store?: SessionStore;
  /** @default 'sessionid' */
  cookieName?: string;
  /** Session lifetime in seconds. @default 1_209_600 (two weeks) */
  maxAge?: number;
  /** Cookie attributes. @default { path: '/', httpOnly: true, sameSite: 'Lax' } */
  cookie?: Omit<CookieOptions, 'maxAge' | 'expires'>;
}

const KEYS = ['secretKeys', 'store', 'cookieName', 'maxAge', 'cookie'];

function SessionMiddlewareImpl(app: Application, options: SessionMiddlewareOptions): Application {
  if (typeof app !== 'function')
    throw new InvalidOptionError('SessionMiddleware(app, options): app must be an application');
  if (!options || typeof options !== 'object' || options.secretKeys === undefined) {
    throw new InvalidOptionError(
      'SessionMiddleware(app, { secretKeys }) needs secretKeys: secrets of 16 characters or more that sign ' +
        'the session cookie (the first signs, any verifies), ' +
        'e.g. SessionMiddleware(app, { secretKeys: [process.env.SECRET_KEY] })',
    );
  }
  for (const k of Object.keys(options))
    if (!KEYS.includes(k))
      throw new InvalidOptionError(`unknown SessionMiddleware option '${k}'; known: ${KEYS.join(', ')}`);
  const signer = new Signer(options.secretKeys, 'canal.session');
  const store = options.store ?? new MemorySessionStore();
  const cookieName = options.cookieName ?? 'sessionid';
  const maxAge = options.maxAge ?? 1_209_600;
  if (!Number.isInteger(maxAge) || maxAge <= 0)
    throw new InvalidOptionError(`SessionMiddleware maxAge must be a whole number of seconds > 0, not ${maxAge}`);
  const cookie: CookieOptions = { path: '/', httpOnly: true, sameSite: 'Lax', ...(options.cookie ?? {}) };

  return async (scope, receive, send) => {
    if (scope.type !== 'http' && scope.type !== 'websocket') return app(scope, receive, send);
    const cookies = scope.cookies ?? parseCookies(cookieHeader(scope.headers as HeaderPair[]));
    const raw = cookies[cookieName];
    const key = raw ? signer.unsign(raw) : null;
    const data = key ? await store.load(key) : null;
    const session = new Session(store, maxAge, key, data);
    const hadCookie = raw !== undefined;
    const inner = copyScope(scope, { cookies, session });
    if (scope.type === 'websocket') return app(inner, receive, send);

    const wrapped = async (event: SendEvent): Promise<void> => {
      if (event.type === 'http.response.start') {
        if (session.modified && !(session.key === null && session.isEmpty)) await session.save();
        let header: string | null = null;
        if (session.key !== null && session.cookieChanged)
          header = serializeCookie(cookieName, signer.sign(session.key), { ...cookie, maxAge });
        else if (session.key === null && hadCookie && session.cookieChanged)
          header = serializeCookie(cookieName, '', { ...cookie, maxAge: 0, expires: new Date(0) });
        if (header) {
          const headers = [...(event.headers ?? []), ['set-cookie', header] as [string, string]];
          return send({ ...event, headers });
        }
      }
      return send(event);
    };
    return app(inner, receive, wrapped);
  };
}

export const SessionMiddleware = SessionMiddlewareImpl as unknown as {
  (app: Application, options: SessionMiddlewareOptions): Application;
  new (app: Application, options: SessionMiddlewareOptions): Application;
};
