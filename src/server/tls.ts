// TLS listeners: the `tls` server option (node:https through the transport seam), its checks,
// and the ASGI `tls` scope extension of each TLS connection (docs/server.md, TLS).
import { X509Certificate } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createSecureContext, type TLSSocket } from 'node:tls';
import type { TlsExtension } from '../asgi/types.ts';
import { InvalidOptionError } from '../errors.ts';
import type { Transport } from './transport.ts';

type Pem = string | Buffer;

export interface TlsOptions {
  /** The server's private key, PEM. */
  key: Pem;
  /** The server's certificate, PEM (followed by its intermediates, if any). */
  cert: Pem;
  /** Decrypts an encrypted `key`. */
  passphrase?: string;
  /** CA certificates client certificates are checked against (PEM); default: Node's root CAs. */
  ca?: Pem | Pem[];
  /**
   * 'none': no client certificate is asked for. 'optional': one is asked for; a client may send
   * none, but one that fails verification closes the connection. 'required': a connection
   * without a valid one is refused. @default 'optional' when `ca` is given, else 'none'
   */
  clientCert?: 'none' | 'optional' | 'required';
}

const CLIENT_CERT = ['none', 'optional', 'required'];
const KEYS = new Set(['key', 'cert', 'passphrase', 'ca', 'clientCert']);

const isPem = (v: unknown): v is Pem => typeof v === 'string' || Buffer.isBuffer(v);

/** Checks the `tls` option, and that the key, certificate and passphrase go together. */
export function checkTlsOptions(tls: unknown): TlsOptions {
  if (tls === null || typeof tls !== 'object' || Array.isArray(tls)) {
    throw new InvalidOptionError(`server option 'tls' must be an object { key, cert, ca?, … }, not ${String(tls)}`);
  }
  const t = tls as Record<string, unknown>;
  for (const k of Object.keys(t)) {
    if (!KEYS.has(k)) throw new InvalidOptionError(`unknown key 'tls.${k}'; known keys: ${[...KEYS].join(', ')}`);
  }
  for (const k of ['key', 'cert'] as const) {
    if (!isPem(t[k])) throw new InvalidOptionError(`server option 'tls.${k}' must be PEM text (a string or Buffer)`);
  }
  if (t.ca !== undefined && !isPem(t.ca) && !(Array.isArray(t.ca) && t.ca.every(isPem))) {
    throw new InvalidOptionError(`server option 'tls.ca' must be PEM text or a list of them`);
  }
  if (t.passphrase !== undefined && typeof t.passphrase !== 'string') {
    throw new InvalidOptionError(`server option 'tls.passphrase' must be a string`);
  }
  if (t.clientCert !== undefined && !CLIENT_CERT.includes(t.clientCert as string)) {
    throw new InvalidOptionError(
      `server option 'tls.clientCert' must be one of ${CLIENT_CERT.join(', ')}, not ${String(t.clientCert)}`,
    );
  }
  const options = t as unknown as TlsOptions;
  try {
    createSecureContext({ key: options.key, cert: options.cert, passphrase: options.passphrase, ca: options.ca });
  } catch (err) {
    throw new InvalidOptionError(`TLS: ${secureContextProblem(err as Error)}`);
  }
  return options;
}

/** OpenSSL's reason, in words saying which part to fix. */
function secureContextProblem(err: Error): string {
  const m = err.message;
  if (/key values mismatch/i.test(m)) return 'the private key does not belong to the certificate';
  if (/bad decrypt|bad password|interrupted or cancelled/i.test(m)) {
    return 'the private key is encrypted and the passphrase is missing or wrong';
  }
  return `the key, certificate or CA is not usable: ${m}`;
}

/** The node:tls server options of the `tls` option (key, certificate, client certificates). */
export function tlsServerOptions(tls: TlsOptions) {
  const clientCert = tls.clientCert ?? (tls.ca !== undefined ? 'optional' : 'none');
  return {
    key: tls.key,
    cert: tls.cert,
    passphrase: tls.passphrase,
    ca: tls.ca,
    requestCert: clientCert !== 'none',
    rejectUnauthorized: clientCert === 'required',
  };
}

/**
 * 'optional' lets a client without a certificate in, and only that one: a certificate that
 * fails verification is refused before the connection carries a request.
 */
export function refuseUnverifiedOptionalCert(server: EventEmitter, tls: TlsOptions): void {
  if ((tls.clientCert ?? (tls.ca !== undefined ? 'optional' : 'none')) !== 'optional') return;
  server.prependListener('secureConnection', (socket: TLSSocket) => {
    if (!socket.authorized && socket.getPeerX509Certificate() !== undefined) socket.destroy();
  });
}

/** The transport for the `tls` option: node:https with Canal's node:http options. */
export function tlsTransport(tls: TlsOptions): Transport<HttpsServer> {
  return (options) => {
    const server = createHttpsServer({ ...options, ...tlsServerOptions(tls) });
    refuseUnverifiedOptionalCert(server, tls);
    return server;
  };
}

/** getProtocol() names → the version numbers of the TLS specifications. */
const VERSIONS: Record<string, number> = {
  SSLv3: 0x0300,
  TLSv1: 0x0301,
  'TLSv1.1': 0x0302,
  'TLSv1.2': 0x0303,
  'TLSv1.3': 0x0304,
};

/**
 * IANA names (getCipher().standardName) → IANA code points, for the suites OpenSSL offers by
 * default and their common relatives; another suite is reported as null.
 */
const SUITES: Record<string, number> = {
  TLS_AES_128_GCM_SHA256: 0x1301,
  TLS_AES_256_GCM_SHA384: 0x1302,
  TLS_CHACHA20_POLY1305_SHA256: 0x1303,
  TLS_AES_128_CCM_SHA256: 0x1304,
  TLS_AES_128_CCM_8_SHA256: 0x1305,
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 0xc02b,
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 0xc02c,
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 0xc02f,
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 0xc030,
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 0xcca8,
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 0xcca9,
  TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 0xccaa,
  TLS_DHE_RSA_WITH_AES_128_GCM_SHA256: 0x009e,
  TLS_DHE_RSA_WITH_AES_256_GCM_SHA384: 0x009f,
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 0xc023,
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384: 0xc024,
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 0xc027,
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384: 0xc028,
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 0xc009,
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 0xc00a,
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 0xc013,
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 0xc014,
  TLS_DHE_RSA_WITH_AES_128_CBC_SHA256: 0x0067,
  TLS_DHE_RSA_WITH_AES_256_CBC_SHA256: 0x006b,
  TLS_RSA_WITH_AES_128_GCM_SHA256: 0x009c,
  TLS_RSA_WITH_AES_256_GCM_SHA384: 0x009d,
  TLS_RSA_WITH_AES_128_CBC_SHA256: 0x003c,
  TLS_RSA_WITH_AES_256_CBC_SHA256: 0x003d,
  TLS_RSA_WITH_AES_128_CBC_SHA: 0x002f,
  TLS_RSA_WITH_AES_256_CBC_SHA: 0x0035,
};

/** The code point of an IANA cipher suite name, or null when it is not in the table. */
export function cipherSuiteCode(standardName: string | undefined): number | null {
  return (standardName !== undefined && Object.hasOwn(SUITES, standardName) ? SUITES[standardName] : null) ?? null;
}

/** The names of the table, for the test that checks them against OpenSSL's. */
export const KNOWN_CIPHER_SUITES: Readonly<Record<string, number>> = SUITES;

/**
 * An X.509 subject as node prints it (one RDN a line, most significant first, values escaped
 * as RFC 4514 says) → the RFC 4514 string: RDNs in reverse order, comma-separated.
 */
export function rfc4514(subject: string): string {
  return subject
    .split('\n')
    .filter((line) => line !== '')
    .reverse()
    .map((rdn) => rdn.replaceAll(' + ', '+'))
    .join(',');
}

const kTls = Symbol('canal.tls');

/**
 * The `tls` scope extension of a connection, made at its first request and shared by the
 * others of the same connection (it describes the connection, not the request).
 */
export function tlsExtension(socket: TLSSocket & { [kTls]?: TlsExtension }): TlsExtension {
  let ext = socket[kTls];
  if (ext !== undefined) return ext;
  const peer = socket.getPeerX509Certificate();
  const chain: string[] = [];
  if (peer !== undefined) {
    // Leaf first, each certificate followed by the one that signed it, as node reports them.
    const seen = new Set<object>();
    let c: { raw?: Buffer; issuerCertificate?: unknown } | undefined = socket.getPeerCertificate(true);
    while (c?.raw !== undefined && !seen.has(c)) {
      seen.add(c);
      chain.push(new X509Certificate(c.raw).toString());
      c = c.issuerCertificate as typeof c;
    }
  }
  const protocol = socket.getProtocol();
  ext = Object.freeze({
    server_cert: socket.getX509Certificate()?.toString() ?? null,
    client_cert_chain: Object.freeze(chain) as string[],
    client_cert_name: peer !== undefined ? rfc4514(peer.subject) : null,
    client_cert_error:
      peer !== undefined && !socket.authorized ? String(socket.authorizationError ?? 'not verified') : null,
    tls_version: protocol !== null && Object.hasOwn(VERSIONS, protocol) ? VERSIONS[protocol]! : null,
    cipher_suite: cipherSuiteCode(socket.getCipher()?.standardName),
  });
  socket[kTls] = ext;
  return ext;
}
