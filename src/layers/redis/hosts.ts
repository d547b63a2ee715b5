// The `hosts` option of the Redis layers, as channels_redis takes it, turned into Redis clients:
// 'redis://…' / 'rediss://…' (TLS) / 'unix:///path.sock?db=N' URLs, [host, port] pairs,
// option objects ({ host, port, password, db, tls }), and Sentinel entries
// ({ sentinels: [[host, port], …], master_name, sentinel_kwargs? }).
import { isIP } from 'node:net';
import type { Redis as RedisClient, RedisOptions } from 'ioredis';
import { InvalidOptionError } from '../../errors.ts';

export type RedisHost =
  | string
  | readonly [string, number]
  | {
      address?: string;
      host?: string;
      port?: number;
      path?: string;
      password?: string;
      username?: string;
      db?: number;
      tls?: RedisOptions['tls'];
      /** Sentinel: the sentinels to ask and the name of the monitored master. */
      sentinels?: readonly (readonly [string, number] | { host: string; port: number })[];
      master_name?: string;
      masterName?: string;
      sentinel_kwargs?: { password?: string; username?: string; tls?: RedisOptions['tls'] };
    };

export interface HostSpec {
  /** What to show in messages: the URL or host:port, without a password. */
  label: string;
  options: RedisOptions;
}

/** `address` with the password of its `user:password@` part shown as `****`, for messages. */
export function redactUrl(address: string): string {
  // Up to the last '@': an unencoded '@' in a password must not leave its tail visible.
  return address.replace(/^([^:/?#]*:\/\/[^:@/]*):.*@/s, '$1:****@');
}

/**
 * The host as the start-up line shows it: its label, saying that it has credentials without
 * showing the password (`redis://:****@host:6379/0`, `host:6379 (password ****)`).
 */
export function hostWithAuth(spec: HostSpec): string {
  const { username, password } = spec.options;
  if (!username && !password) return spec.label;
  const scheme = /^rediss?:\/\//.exec(spec.label)?.[0];
  if (scheme) return `${scheme}${username ?? ''}${password ? ':****' : ''}@${spec.label.slice(scheme.length)}`;
  const auth = [username ? `user ${username}` : '', password ? 'password ****' : ''].filter(Boolean);
  return `${spec.label} (${auth.join(', ')})`;
}

function urlSpec(address: string, index: number): HostSpec {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    const shown = JSON.stringify(redactUrl(address));
    throw new InvalidOptionError(
      `hosts[${index}] is not a URL: ${shown} (expected redis://host:port/db, rediss://… or unix:///path)`,
    );
  }
  const db =
    url.pathname && url.pathname !== '/' ? Number(url.pathname.slice(1)) : Number(url.searchParams.get('db') ?? 0);
  const auth: RedisOptions = {};
  if (url.username) auth.username = decodeURIComponent(url.username);
  if (url.password) auth.password = decodeURIComponent(url.password);
  if (url.protocol === 'unix:') {
    return {
      label: `unix:${url.pathname}`,
      options: { ...auth, path: url.pathname, db: Number(url.searchParams.get('db') ?? 0) },
    };
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new InvalidOptionError(`hosts[${index}] has scheme ${url.protocol} — use redis://, rediss:// or unix://`);
  }
  if (!Number.isInteger(db) || db < 0) {
    throw new InvalidOptionError(`hosts[${index}] has a bad database number in ${redactUrl(address)}`);
  }
  const options: RedisOptions = { ...auth, host: url.hostname || 'localhost', port: Number(url.port || 6379), db };
  // SNI takes a host name, never an IP address (RFC 6066)
  if (url.protocol === 'rediss:') options.tls = isIP(url.hostname) ? {} : { servername: url.hostname };
  return { label: `${url.protocol}//${options.host}:${options.port}/${db}`, options };
}

function pair(entry: unknown): { host: string; port: number } | null {
  if (Array.isArray(entry) && entry.length === 2 && typeof entry[0] === 'string' && Number.isInteger(entry[1])) {
    return { host: entry[0], port: entry[1] };
  }
  if (entry && typeof entry === 'object' && typeof (entry as { host?: unknown }).host === 'string') {
    const e = entry as { host: string; port?: number };
    return { host: e.host, port: e.port ?? 26379 };
  }
  return null;
}

export function parseHosts(hosts: readonly RedisHost[] | undefined): HostSpec[] {
  if (hosts === undefined || hosts === null) return [urlSpec('redis://localhost:6379', 0)];
  if (typeof hosts === 'string' || !Array.isArray(hosts)) {
    throw new InvalidOptionError(
      `hosts must be a list of Redis hosts, even for one: hosts: [${JSON.stringify(hosts)}]`,
    );
  }
  if (hosts.length === 0) throw new InvalidOptionError('hosts must name at least one Redis host');
  return hosts.map((entry, i): HostSpec => {
    if (typeof entry === 'string') return urlSpec(entry, i);
    const p = Array.isArray(entry) ? pair(entry) : null;
    if (p) return { label: `${p.host}:${p.port}`, options: { host: p.host, port: p.port } };
    if (!entry || typeof entry !== 'object')
      throw new InvalidOptionError(`hosts[${i}] must be a URL, [host, port] or an object, not ${String(entry)}`);
    const e = entry as Exclude<RedisHost, string | readonly [string, number]>;
    if (e.sentinels) {
      const master = e.master_name ?? e.masterName;
      if (!master) throw new InvalidOptionError(`hosts[${i}] lists sentinels but no master_name`);
      const sentinels = e.sentinels.map((s, j) => {
        const sp = pair(s);
        if (!sp) throw new InvalidOptionError(`hosts[${i}].sentinels[${j}] must be [host, port]`);
        return sp;
      });
      const options: RedisOptions = { sentinels, name: master, db: e.db ?? 0 };
      if (e.password) options.password = e.password;
      if (e.username) options.username = e.username;
      if (e.tls) options.tls = e.tls;
      if (e.sentinel_kwargs?.password) options.sentinelPassword = e.sentinel_kwargs.password;
      if (e.sentinel_kwargs?.username) options.sentinelUsername = e.sentinel_kwargs.username;
      if (e.sentinel_kwargs?.tls) {
        options.sentinelTLS = e.sentinel_kwargs.tls;
        options.enableTLSForSentinelMode = true;
      }
      return { label: `sentinel:${master}@${sentinels.map((s) => `${s.host}:${s.port}`).join(',')}`, options };
    }
    if (e.address) {
      const spec = urlSpec(e.address, i);
      if (e.tls) spec.options.tls = { ...(spec.options.tls as object), ...(e.tls as object) };
      return spec;
    }
    const options: RedisOptions = {};
    if (e.path) options.path = e.path;
    else {
      options.host = e.host ?? 'localhost';
      options.port = e.port ?? 6379;
    }
    if (e.password) options.password = e.password;
    if (e.username) options.username = e.username;
    if (e.db !== undefined) options.db = e.db;
    if (e.tls) options.tls = e.tls;
    return { label: e.path ? `unix:${e.path}` : `${options.host}:${options.port}`, options };
  });
}

/**
 * Longest wait between two reconnection attempts, before jitter. Kept short so that however long
 * Redis was away, the layer is back within a fraction of a second of Redis: an attempt on a
 * host that refuses costs next to nothing on either side.
 */
export const RECONNECT_MAX_DELAY_MS = 200;
/** Up to this much is added at random to each wait, so processes do not all connect at once. */
export const RECONNECT_JITTER_MS = 50;

/** The wait before reconnection attempt `times` (1, 2, …): 100 ms, then RECONNECT_MAX_DELAY_MS, plus jitter. */
export function reconnectDelay(times: number): number {
  const jitter = Math.floor(Math.random() * RECONNECT_JITTER_MS);
  return Math.min(50 * 2 ** Math.min(times, 6), RECONNECT_MAX_DELAY_MS) + jitter;
}

/** Options every layer client shares: fail fast while Redis is away, reconnect with a capped backoff. */
export function clientOptions(spec: HostSpec, extra: RedisOptions = {}): RedisOptions {
  return {
    ...spec.options,
    // RESP2: replies keep the flat shapes every Redis since 2.x gives (ioredis 6 defaults to RESP3)
    protocol: 2,
    lazyConnect: false,
    enableOfflineQueue: false, // a command during an outage fails at once instead of queueing without bound
    maxRetriesPerRequest: 0,
    retryStrategy: reconnectDelay,
    connectTimeout: 5000,
    enableAutoPipelining: true,
    ...extra,
  };
}

export type { RedisClient };
