// OriginValidator / AllowedHostsOriginValidator: the defence against cross-site WebSocket
// hijacking. A WebSocket handshake whose Origin is not allowed is refused (403) before the
// inner app runs. Allowed entries, as in Channels: '*' (anything, a missing Origin included),
// 'example.com' (that host, any scheme and port), '.example.com' (it and every subdomain),
// 'https://example.com' (scheme must match), 'example.com:8443' (port must match).
// A missing Origin header is refused unless '*' is allowed. HTTP scopes pass through.
import type { Application, HeaderPair } from '../asgi/types.ts';
import { InvalidOptionError } from '../errors.ts';
import { createLogger, quoteForLog, RepeatedLog } from '../logging.ts';

// A refused Origin is the client's doing: info, with its repeats counted.
const refusals = new RepeatedLog(createLogger('middleware:origin'), 'info');

function header(headers: HeaderPair[], name: string): string | null {
  for (const [k, v] of headers) if (k.toString('latin1') === name) return v.toString('latin1');
  return null;
}

interface ParsedOrigin {
  scheme: string;
  host: string;
  port: number | null;
}

function parse(origin: string): ParsedOrigin | null {
  try {
    const u = new URL(origin);
    if (!u.hostname) return null;
    return { scheme: u.protocol.slice(0, -1), host: u.hostname.toLowerCase(), port: u.port ? Number(u.port) : null };
  } catch {
    return null;
  }
}

/** Whether `origin` matches one allowed entry. */
export function originMatches(origin: string, allowed: string): boolean {
  if (allowed === '*') return true;
  const o = parse(origin);
  if (!o) return false;
  let rest = allowed.toLowerCase();
  let scheme: string | null = null;
  const sep = rest.indexOf('://');
  if (sep >= 0) {
    scheme = rest.slice(0, sep);
    rest = rest.slice(sep + 3);
  }
  if (scheme && scheme !== o.scheme) return false;
  let port: number | null = null;
  const colon = rest.lastIndexOf(':');
  if (colon > 0 && !rest.endsWith(']')) {
    port = Number(rest.slice(colon + 1));
    rest = rest.slice(0, colon);
  }
  const defaultPort = o.scheme === 'https' || o.scheme === 'wss' ? 443 : 80;
  if (port !== null && port !== (o.port ?? defaultPort)) return false;
  if (rest.startsWith('.')) return o.host === rest.slice(1) || o.host.endsWith(rest);
  return o.host === rest;
}

function OriginValidatorImpl(app: Application, allowedOrigins: readonly string[]): Application {
  if (typeof app !== 'function')
    throw new InvalidOptionError('OriginValidator(app, allowedOrigins): app must be an application');
  if (!Array.isArray(allowedOrigins) || allowedOrigins.some((o) => typeof o !== 'string' || o === '')) {
    throw new InvalidOptionError(
      `OriginValidator: allowedOrigins must be a list of non-empty strings ` +
        `('*', 'example.com', '.example.com', 'https://example.com:8443'), ` +
        `not ${JSON.stringify(allowedOrigins)}`,
    );
  }
  const allowAny = allowedOrigins.includes('*');
  return async (scope, receive, send) => {
    if (scope.type !== 'websocket') return app(scope, receive, send);
    const origin = header(scope.headers, 'origin');
    const ok = origin === null ? allowAny : allowedOrigins.some((a) => originMatches(origin, a));
    if (ok) return app(scope, receive, send);
    refusals.note(
      'WebSockets refused for their Origin',
      `refused a WebSocket to ${quoteForLog(scope.path)} from origin ${quoteForLog(origin)}`,
    );
    const first = await receive();
    if (first.type === 'websocket.connect') await send({ type: 'websocket.close' });
  };
}

/** `OriginValidator(app, ['example.com', '.example.org'])`, with or without `new`. */
export const OriginValidator = OriginValidatorImpl as unknown as {
  (app: Application, allowedOrigins: readonly string[]): Application;
  new (app: Application, allowedOrigins: readonly string[]): Application;
};

/** OriginValidator with the allowed hosts as origins (Django's ALLOWED_HOSTS). */
export const AllowedHostsOriginValidator = ((app: Application, allowedHosts: readonly string[]) =>
  OriginValidatorImpl(app, allowedHosts)) as unknown as {
  (app: Application, allowedHosts: readonly string[]): Application;
  new (app: Application, allowedHosts: readonly string[]): Application;
};
