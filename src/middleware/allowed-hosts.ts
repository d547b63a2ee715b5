// Django's ALLOWED_HOSTS for HTTP: a request whose Host header is not allowed gets 400 before
// the app runs (Host-header attacks: poisoned password-reset links, cache poisoning).
// Entries as for AllowedHostsOriginValidator: 'example.com', '.example.com', '*'.
import type { Application, HeaderPair } from '../asgi/types.ts';
import { InvalidOptionError } from '../errors.ts';
import { createLogger, quoteForLog, RepeatedLog } from '../logging.ts';

// A refused Host is the client's doing: info, with its repeats counted.
const refusals = new RepeatedLog(createLogger('middleware:hosts'), 'info');

export function hostAllowed(host: string, allowed: readonly string[]): boolean {
  const name = host
    .replace(/:\d+$/, '')
    .replace(/^\[|\]$/g, '')
    .toLowerCase();
  return allowed.some(
    (a) => a === '*' || (a.startsWith('.') ? name === a.slice(1) || name.endsWith(a) : name === a.toLowerCase()),
  );
}

function AllowedHostsMiddlewareImpl(app: Application, allowedHosts: readonly string[]): Application {
  if (!Array.isArray(allowedHosts) || allowedHosts.length === 0)
    throw new InvalidOptionError(
      'AllowedHostsMiddleware needs a list of allowed hosts, e.g. ["example.com", ".example.com"]',
    );
  return async (scope, receive, send) => {
    if (scope.type !== 'http') return app(scope, receive, send);
    // The first Host, as requestHeader(), Node and Express read it; a request with several is
    // refused (RFC 9112 §3.2), so no reader can see another Host than the one checked here.
    let host: string | null = null;
    let hosts = 0;
    for (const [k, v] of scope.headers as HeaderPair[]) {
      if (k.length === 4 && k.toString('latin1') === 'host' && hosts++ === 0) host = v.toString('latin1');
    }
    if (hosts === 1 && hostAllowed(host!, allowedHosts)) return app(scope, receive, send);
    const why = hosts > 1 ? `${hosts} Host headers` : `Host ${quoteForLog(host)} is not allowed`;
    refusals.note('requests refused for their Host', `refused ${scope.method} ${quoteForLog(scope.path)}: ${why}`);
    await send({ type: 'http.response.start', status: 400, headers: [['content-type', 'text/plain; charset=utf-8']] });
    await send({ type: 'http.response.body', body: 'Bad Request: this host is not served here\n' });
  };
}

export const AllowedHostsMiddleware = AllowedHostsMiddlewareImpl as unknown as {
  (app: Application, allowedHosts: readonly string[]): Application;
  new (app: Application, allowedHosts: readonly string[]): Application;
};
