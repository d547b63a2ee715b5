// The metrics listener: a small node:http server of its own (never the app's port), serving
// GET /metrics (Prometheus text), /healthz (the process serves) and /readyz (listening, and every
// channel layer answers). Made by `canal serve --metrics-port`, or by an app with startMetricsServer.
import { createServer as createHttpServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChannelLayer } from '../layers/types.ts';
import type { CanalServer } from '../server/server.ts';
import { serverContextOf } from '../server/server.ts';
import type { TransportServer } from '../server/transport.ts';
import type { CanalMetrics, MetricsLayers } from './create-metrics.ts';

export interface Readiness {
  ready: boolean;
  /** What is not ready: `server` (not listening, or shutting down), and each layer by alias, with why. */
  notReady: Record<string, string>;
}

/** How long a layer has to answer a readiness check (Redis: a PING). */
export const READY_TIMEOUT_MS = 1000;

/**
 * Whether `server` listens (and is not shutting down) and every layer answers within `timeoutMs`
 * (a layer without `ping`, in memory, always does).
 */
export async function checkReadiness(
  server: CanalServer<TransportServer>,
  layers: MetricsLayers = {},
  timeoutMs = READY_TIMEOUT_MS,
): Promise<Readiness> {
  const notReady: Record<string, string> = {};
  if (serverContextOf(server)?.shuttingDown) notReady.server = 'shutting down';
  else if (server.address() === null) notReady.server = 'not listening';
  let byAlias: Record<string, ChannelLayer>;
  try {
    byAlias = typeof layers === 'function' ? layers() : layers;
  } catch (err) {
    notReady.layers = (err as Error).message;
    byAlias = {};
  }
  await Promise.all(
    Object.entries(byAlias).map(async ([alias, layer]) => {
      if (typeof layer.ping !== 'function') return;
      try {
        await layer.ping(timeoutMs);
      } catch (err) {
        notReady[`layer ${alias}`] = (err as Error).message;
      }
    }),
  );
  return { ready: Object.keys(notReady).length === 0, notReady };
}

export interface MetricsServerOptions {
  server: CanalServer<TransportServer>;
  /** Served at /metrics; without it /metrics is 404 and only the health checks are served. */
  metrics?: CanalMetrics | null;
  /** The layers /readyz checks (the CLI gives every configured one). @default none */
  layers?: MetricsLayers;
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** How long each layer has to answer /readyz. @default 1000 */
  readyTimeoutMs?: number;
}

export interface MetricsServer {
  readonly httpServer: Server;
  address(): { host: string; port: number };
  close(): Promise<void>;
}

/** Starts the metrics listener; resolves once it listens (rejects with the listen error). */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { server, metrics = null, layers = {}, host = '127.0.0.1', port } = options;
  const readyTimeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
  const httpServer = createHttpServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'GET only\n', { allow: 'GET, HEAD' });
      return;
    }
    if (path === '/healthz') {
      send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
    } else if (path === '/readyz') {
      checkReadiness(server, layers, readyTimeoutMs).then(
        (r) =>
          r.ready
            ? send(res, 200, 'application/json', JSON.stringify({ ready: true }) + '\n')
            : send(res, 503, 'application/json', JSON.stringify(r) + '\n'),
        (err: Error) => send(res, 500, 'text/plain; charset=utf-8', `${err.message}\n`),
      );
    } else if (path === '/metrics' && metrics !== null) {
      metrics.metrics().then(
        (text) => send(res, 200, metrics.contentType, text),
        (err: Error) => send(res, 500, 'text/plain; charset=utf-8', `${err.message}\n`),
      );
    } else {
      send(res, 404, 'text/plain; charset=utf-8', 'not found: /metrics, /healthz and /readyz are served here\n');
    }
  });
  httpServer.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(port, host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  return {
    httpServer,
    address() {
      const a = httpServer.address() as AddressInfo;
      return { host: a.address, port: a.port };
    },
    close: () =>
      new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        httpServer.closeAllConnections();
      }),
  };
}

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  extra: Record<string, string> = {},
): void {
  const bytes = Buffer.from(body);
  res.writeHead(status, {
    'content-type': type,
    'content-length': bytes.length,
    'cache-control': 'no-store',
    ...extra,
  });
  res.end(res.req.method === 'HEAD' ? undefined : bytes);
}
