// The transport seam: what makes the listening server. The default is node:http; a TLS
// listener (node:https) or any server that hands out node:http-compatible requests and
// responses plugs in the same way, and the rest of the server (timeouts, maximum connections,
// upgrades, graceful close) is written against TransportServer only.
import type { EventEmitter } from 'node:events';
import { createServer as createHttpServer, type Server, type ServerOptions as HttpServerOptions } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The node:http server options Canal sets; a transport passes them on to the server it makes. */
export type TransportOptions = Required<
  Pick<
    HttpServerOptions,
    | 'maxHeaderSize'
    | 'keepAliveTimeout'
    | 'requestTimeout'
    | 'headersTimeout'
    | 'connectionsCheckingInterval'
    | 'requireHostHeader'
  >
>;

/**
 * What the server needs from a listening server. It emits node:http's server events:
 * 'request' (IncomingMessage, ServerResponse), 'upgrade' (IncomingMessage, socket, head),
 * 'clientError' (error, socket) and 'drop' (past maxConnections), with objects that behave as
 * node:http's do. http.Server and https.Server are TransportServers.
 */
export interface TransportServer extends EventEmitter {
  listen(port: number, host: string, listening: () => void): unknown;
  close(closed?: (err?: Error) => void): unknown;
  address(): AddressInfo | string | null;
  readonly listening: boolean;
  maxConnections: number;
  maxHeadersCount?: number | null;
  /** Closes kept-alive connections with no request in flight (on shutdown). */
  closeIdleConnections?(): void;
  /** Closes every connection still open (on shutdown, once the drain is over). */
  closeAllConnections?(): void;
}

/** Makes the listening server from the options Canal sets, e.g. `(o) => https.createServer({ ...o, key, cert })`. */
export type Transport<S extends TransportServer = TransportServer> = (options: TransportOptions) => S;

/** The default transport: HTTP/1.1 on node:http. */
export const httpTransport: Transport<Server> = (options) => createHttpServer(options);
