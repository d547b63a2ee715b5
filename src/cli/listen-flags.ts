// The listener flags of `canal serve` (uvicorn's names): TLS (--ssl-*), unix sockets (--uds,
// --uds-mode), inherited descriptors (--fd) and --http2, turned into the `tls`, `listen` and
// `http2` server options.
import { readFileSync } from 'node:fs';
import { InvalidOptionError } from '../errors.ts';
import type { ListenAddress, ListenTarget } from '../server/listeners.ts';
import type { ServerOptions } from '../server/options.ts';
import type { TlsOptions } from '../server/tls.ts';
import { numberFlag } from './options.ts';

export const LISTEN_FLAGS = {
  uds: { type: 'string' },
  'uds-mode': { type: 'string' },
  fd: { type: 'string' },
  'ssl-keyfile': { type: 'string' },
  'ssl-certfile': { type: 'string' },
  'ssl-keyfile-password': { type: 'string' },
  'ssl-ca-certs': { type: 'string' },
  'ssl-cert-reqs': { type: 'string' },
  http2: { type: 'boolean' },
} as const;

export const LISTEN_HELP = `  --uds PATH                       listen on a unix socket (with --host/--port: on both)
  --uds-mode MODE                  permissions of the socket file, octal (e.g. 660)
  --fd N                           listen on inherited descriptor N (systemd socket activation: 3)
  --ssl-keyfile PATH               serve HTTPS and WSS with this private key (PEM) …
  --ssl-certfile PATH              … and this certificate (PEM, then its intermediates)
  --ssl-keyfile-password PASS      the passphrase of an encrypted key
  --ssl-ca-certs PATH              CA certificates (PEM) client certificates are checked against
  --ssl-cert-reqs 0|1|2            client certificates: 0 not asked for, 1 optional, 2 required \
(default 1 with --ssl-ca-certs, else 0)
  --http2                          HTTP/2: with --ssl-*, h2 or HTTP/1.1 by ALPN (WebSocket on HTTP/1.1); \
without, cleartext h2c only`;

type Values = { [K in Exclude<keyof typeof LISTEN_FLAGS, 'http2'>]?: string } & {
  host?: string;
  port?: string;
  http2?: boolean;
};

function readPem(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new InvalidOptionError(`--${flag} cannot read ${JSON.stringify(path)}: ${e.code ?? e.message}`);
  }
}

const CERT_REQS = ['none', 'optional', 'required'] as const;

function tlsFromFlags(v: Values): TlsOptions | undefined {
  const key = v['ssl-keyfile'];
  const cert = v['ssl-certfile'];
  if (key === undefined && cert === undefined) {
    const stray = (['ssl-keyfile-password', 'ssl-ca-certs', 'ssl-cert-reqs'] as const).find((f) => v[f] !== undefined);
    if (stray) throw new InvalidOptionError(`--${stray} needs --ssl-keyfile and --ssl-certfile`);
    return undefined;
  }
  if (key === undefined || cert === undefined) {
    throw new InvalidOptionError(
      `TLS needs both --ssl-keyfile and --ssl-certfile; only ${key ? '--ssl-keyfile' : '--ssl-certfile'} is given`,
    );
  }
  const tls: TlsOptions = { key: readPem('ssl-keyfile', key), cert: readPem('ssl-certfile', cert) };
  if (v['ssl-keyfile-password'] !== undefined) tls.passphrase = v['ssl-keyfile-password'];
  if (v['ssl-ca-certs'] !== undefined) tls.ca = readPem('ssl-ca-certs', v['ssl-ca-certs']);
  const reqs = numberFlag('ssl-cert-reqs', v['ssl-cert-reqs'], { max: 2, integer: true });
  if (reqs !== undefined) tls.clientCert = CERT_REQS[reqs];
  return tls;
}

function udsMode(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^(0o?)?[0-7]{1,3}$/.test(value)) {
    throw new InvalidOptionError(`--uds-mode must be octal permission bits such as 660, not ${JSON.stringify(value)}`);
  }
  return Number.parseInt(value.replace(/^0o?/, '') || '0', 8);
}

/**
 * `tls` and `listen` from the flags, set on `o` (which holds host and port already). With
 * --uds or --fd, TCP is served too only when --host or --port is given.
 */
export function applyListenFlags(v: Values, o: ServerOptions): void {
  const tls = tlsFromFlags(v);
  if (tls) o.tls = tls;
  if (v.http2) {
    if (o.transport !== undefined) {
      throw new InvalidOptionError("--http2 does not go with the config file's server.transport: remove one of them");
    }
    o.http2 = true;
  }
  const mode = udsMode(v['uds-mode']);
  if (mode !== undefined && v.uds === undefined) throw new InvalidOptionError('--uds-mode needs --uds');
  const fd = numberFlag('fd', v.fd, { integer: true });
  if (v.uds === undefined && fd === undefined) return;
  if (v.uds === '') throw new InvalidOptionError('--uds needs a path');
  const listen: ListenTarget[] = [];
  if (v.host !== undefined || v.port !== undefined) listen.push({ host: o.host ?? '127.0.0.1', port: o.port ?? 8000 });
  if (v.uds !== undefined) listen.push(mode === undefined ? { path: v.uds } : { path: v.uds, mode });
  if (fd !== undefined) listen.push({ fd });
  delete o.host;
  delete o.port;
  o.listen = listen;
}

/** The startup line's list: `https://127.0.0.1:8443, unix:/run/canal.sock, http://0.0.0.0:8000 (fd 3)`. */
export function describeListeners(addresses: ListenAddress[], targets: ListenTarget[] | undefined, tls: boolean) {
  return addresses
    .map((a, i) => {
      const host = 'host' in a && a.host.includes(':') ? `[${a.host}]` : 'host' in a ? a.host : '';
      const shown =
        'path' in a ? `unix:${a.path}${tls ? ' (https)' : ''}` : `${tls ? 'https' : 'http'}://${host}:${a.port}`;
      const t = targets?.[i];
      return t !== undefined && 'fd' in t ? `${shown} (fd ${t.fd})` : shown;
    })
    .join(', ');
}
