// `canal serve --proxy-headers [--forwarded-allow-ips LIST] [--forwarded-host]`, uvicorn's
// names: the proxyHeaders server option from flags, FORWARDED_ALLOW_IPS and the config's own.
import { InvalidOptionError } from '../errors.ts';
import type { ServerOptions } from '../server/options.ts';
import { splitAddressList, trustedPeers, type ProxyHeadersOptions } from '../server/proxy-headers.ts';

export interface ProxyHeadersFlags {
  'proxy-headers'?: boolean;
  'forwarded-allow-ips'?: string;
  'forwarded-host'?: boolean;
}

/**
 * The proxyHeaders option: on with --proxy-headers or the config's; trusted peers from
 * --forwarded-allow-ips, else FORWARDED_ALLOW_IPS, else the config's, else loopback.
 * The two refinements without proxy headers on are refused (they would do nothing).
 */
export function proxyHeadersFromFlags(
  flags: ProxyHeadersFlags,
  configured: ServerOptions['proxyHeaders'],
  env: Record<string, string | undefined> = process.env,
): ServerOptions['proxyHeaders'] {
  const on = flags['proxy-headers'] === true || (configured !== undefined && configured !== false);
  if (!on) {
    const stray =
      flags['forwarded-allow-ips'] !== undefined
        ? '--forwarded-allow-ips'
        : flags['forwarded-host']
          ? '--forwarded-host'
          : null;
    if (stray) throw new InvalidOptionError(`${stray} needs --proxy-headers (or proxyHeaders in the config)`);
    return configured;
  }
  const o: ProxyHeadersOptions = typeof configured === 'object' && configured !== null ? { ...configured } : {};
  const flag = flags['forwarded-allow-ips'];
  const list = flag ?? (env.FORWARDED_ALLOW_IPS || undefined);
  if (list !== undefined) {
    const label = flag !== undefined ? '--forwarded-allow-ips' : 'FORWARDED_ALLOW_IPS';
    o.trusted = splitAddressList(list);
    trustedPeers(o.trusted, label);
  }
  if (flags['forwarded-host']) o.host = true;
  return o;
}
