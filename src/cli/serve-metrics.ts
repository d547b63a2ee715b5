// `canal serve --metrics-port N [--metrics-host HOST]`: the metrics and health listener beside
// the server, on its own port. Imported only when the flag is given, so prom-client is loaded
// only then.
import { ListenError } from '../errors.ts';
import { channelLayerAliases, getChannelLayer } from '../layers/registry.ts';
import type { ChannelLayer } from '../layers/types.ts';
import { createMetrics } from '../metrics/create-metrics.ts';
import { startMetricsServer } from '../metrics/metrics-server.ts';
import type { CanalServer } from '../server/server.ts';
import type { TransportServer } from '../server/transport.ts';
import type { Worker } from '../worker/worker.ts';

export interface ServeMetrics {
  /** The line `canal serve` prints once it listens. */
  readonly line: string;
  close(): Promise<void>;
}

/**
 * Every configured channel layer by alias (made now if the app has not used it yet: it is
 * configured to be used). One that cannot be made stands in as a layer whose ping fails.
 */
function configuredLayers(): Record<string, ChannelLayer> {
  const out: Record<string, ChannelLayer> = {};
  for (const alias of channelLayerAliases()) {
    try {
      out[alias] = getChannelLayer(alias);
    } catch (err) {
      out[alias] = { ping: () => Promise.reject(err) } as unknown as ChannelLayer;
    }
  }
  return out;
}

export async function serveMetrics(
  server: CanalServer<TransportServer>,
  worker: Worker | null,
  host: string,
  port: number,
): Promise<ServeMetrics> {
  const metrics = await createMetrics(server, { layers: configuredLayers, workers: worker ? [worker] : [] });
  let listener: Awaited<ReturnType<typeof startMetricsServer>>;
  try {
    listener = await startMetricsServer({ server, metrics, layers: configuredLayers, host, port });
  } catch (err) {
    metrics.close();
    const e = err as NodeJS.ErrnoException;
    const where = `${host}:${port}`;
    if (e.code === 'EADDRINUSE')
      throw new ListenError(`cannot serve metrics on ${where}: the address is in use; choose another --metrics-port`, {
        cause: err,
      });
    if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN' || e.code === 'EACCES')
      throw new ListenError(`cannot serve metrics on ${where} (${e.code}); check --metrics-host and --metrics-port`, {
        cause: err,
      });
    throw err;
  }
  const a = listener.address();
  const url = `http://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
  return {
    line: `metrics on ${url}/metrics (health: /healthz, /readyz)`,
    async close() {
      await listener.close();
      metrics.close();
    },
  };
}
