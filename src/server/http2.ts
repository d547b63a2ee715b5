// HTTP/2 through the transport seam (docs/server.md, HTTP/2): node:http2's compatibility API,
// whose requests and responses behave as node:http's. Over TLS, ALPN picks h2 or http/1.1 on
// the same port (WebSocket upgrades are HTTP/1.1); without TLS, cleartext HTTP/2 with prior
// knowledge (h2c) only.
import { Server as HttpServer, type IncomingMessage } from 'node:http';
import {
  createSecureServer,
  createServer as createH2cServer,
  type Http2SecureServer,
  type Http2Server,
  type ServerHttp2Session,
} from 'node:http2';
import { refuseUnverifiedOptionalCert, type TlsOptions, tlsServerOptions } from './tls.ts';
import type { Transport, TransportOptions } from './transport.ts';

export type Http2TransportServer = Http2SecureServer | Http2Server;

/**
 * The transport for the `http2` option: h2 and http/1.1 by ALPN with `tls`, h2c without. The
 * HTTP/1.1 connections of a TLS listener keep Canal's node:http limits and timeouts.
 */
export function http2Transport(tls: TlsOptions | null): Transport<Http2TransportServer> {
  return (options) => {
    const settings = { maxHeaderListSize: options.maxHeaderSize };
    let server: Http2TransportServer;
    if (tls === null) server = createH2cServer({ settings });
    else {
      server = createSecureServer({ ...tlsServerOptions(tls), allowHTTP1: true, settings });
      Object.assign(server, http1Settings(options));
      refuseUnverifiedOptionalCert(server, tls);
    }
    // Ahead of the server's own listener: it reads requests as node:http makes them.
    server.prependListener('request', asHttp1Headers);
    const sessions = new Set<ServerHttp2Session>();
    server.on('session', (session: ServerHttp2Session) => {
      sessions.add(session);
      session.once('close', () => sessions.delete(session));
    });
    // close() stops accepting and sends GOAWAY: streams in flight may finish. This cuts the rest.
    Object.assign(server, {
      closeAllConnections() {
        for (const s of sessions) s.destroy();
        if (tls !== null) HttpServer.prototype.closeAllConnections.call(server);
      },
    });
    return server;
  };
}

/** What node:http reads from its server for each HTTP/1.1 connection, as Canal sets it. */
function http1Settings(o: TransportOptions) {
  return {
    maxHeaderSize: o.maxHeaderSize,
    keepAliveTimeout: o.keepAliveTimeout,
    requestTimeout: o.requestTimeout,
    headersTimeout: o.headersTimeout,
    connectionsCheckingInterval: o.connectionsCheckingInterval,
    requireHostHeader: o.requireHostHeader,
  };
}

/**
 * An HTTP/2 request's rawHeaders without the pseudo-headers (ASGI: headers carry none), and
 * `:authority` as the `host` header, first, in place of any other (RFC 9113 §8.3.1).
 * `:method` and `:path` are the request's `method` and `url` already.
 */
function asHttp1Headers(req: IncomingMessage): void {
  if (req.httpVersionMajor !== 2) return;
  const raw = req.rawHeaders;
  let authority: string | undefined;
  for (let i = 0; i < raw.length; i += 2) if (raw[i] === ':authority') authority = raw[i + 1];
  const out: string[] = authority === undefined ? [] : ['host', authority];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.charCodeAt(0) === 58 /* : */ || (authority !== undefined && name.toLowerCase() === 'host')) continue;
    out.push(name, raw[i + 1]!);
  }
  Object.defineProperty(req, 'rawHeaders', { value: out, configurable: true });
}
