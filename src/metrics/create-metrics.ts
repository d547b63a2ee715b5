// Prometheus metrics of a running server, its channel layers and its workers, with prom-client.
// prom-client is imported here, when metrics are asked for, never at start-up otherwise.
//
// Counts are read at scrape time from the counters the server, the layers and the workers keep
// anyway (plain integers: `server.stats()`, `layer.stats()`, `worker.stats()`); nothing is done
// per message for the metrics. The one observation made as it happens is the handshake time,
// once per WebSocket handshake, and only while metrics are on.
import type { Counter, Gauge, Registry } from 'prom-client';
import type { ChannelLayer } from '../layers/types.ts';
import type { CanalServer } from '../server/server.ts';
import { serverContextOf } from '../server/server.ts';
import type { TransportServer } from '../server/transport.ts';
import type { Worker } from '../worker/worker.ts';

/** Channel layers by alias, or a function giving them at each scrape (layers made later appear). */
export type MetricsLayers = Record<string, ChannelLayer> | (() => Record<string, ChannelLayer>);

export interface MetricsOptions {
  /** Channel layers whose sends and drops are reported, by alias. @default none */
  layers?: MetricsLayers;
  /** Workers whose messages are reported (in-process or `canal worker`). @default none */
  workers?: readonly Worker[];
  /** Where the metrics are registered: the app's own registry, to serve them with its own. @default a new one */
  registry?: Registry;
  /** Node's process metrics too (event-loop lag, CPU, memory, GC: prom-client's default metrics). @default true */
  processMetrics?: boolean;
}

export interface CanalMetrics {
  readonly registry: Registry;
  /** The Prometheus text exposition of the registry. */
  metrics(): Promise<string>;
  /** The content type of that text. */
  readonly contentType: string;
  /** Stops observing the server and takes Canal's metrics off the registry. */
  close(): void;
}

type Labels = Record<string, string>;
type Reading = readonly [Labels, number];

/** Layer stats keys counted as drops, and the cause each is labelled with. */
const DROP_CAUSES: readonly (readonly [string, string])[] = [
  ['droppedFull', 'full'],
  ['expired', 'expired'],
  ['overflow', 'overflow'],
  ['unavailable', 'unavailable'],
  ['undecodable', 'undecodable'],
];

/** Handshake time buckets (seconds): an app answers a connect in about a millisecond, or waits on I/O. */
const HANDSHAKE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Registers Canal's metrics for `server` (made by createServer) and, optionally, its layers and
 * workers. One per server: a second one takes over the handshake timings.
 */
export async function createMetrics(
  server: CanalServer<TransportServer>,
  options: MetricsOptions = {},
): Promise<CanalMetrics> {
  const ctx = serverContextOf(server);
  if (ctx === undefined) throw new TypeError('createMetrics() needs a server made by createServer()');
  const client = await import('prom-client');
  const registry = options.registry ?? new client.Registry();
  const names: string[] = [];
  const layersNow = (): Record<string, ChannelLayer> =>
    typeof options.layers === 'function' ? options.layers() : (options.layers ?? {});
  const workers = options.workers ?? [];

  /** A counter whose values are read at scrape time. */
  const counter = (name: string, help: string, labelNames: string[], read: () => Iterable<Reading>): void => {
    names.push(name);
    new client.Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect(this: Counter) {
        this.reset();
        for (const [labels, value] of read()) this.inc(labels, value);
      },
    });
  };
  const gauge = (
    name: string,
    help: string,
    labelNames: string[],
    read: () => Iterable<Reading> | Promise<Iterable<Reading>>,
  ): void => {
    names.push(name);
    new client.Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect(this: Gauge) {
        this.reset();
        for (const [labels, value] of await read()) this.set(labels, value);
      },
    });
  };
  const stats = () => server.stats();

  gauge('canal_open_connections', 'Open client connections by protocol.', ['protocol'], async () => {
    const s = stats();
    const tcp = await connectionCount(server.httpServer);
    // Sockets still in their handshake are HTTP until accepted; upgraded ones stay in node's count.
    const http = tcp === null ? s.httpInFlight : Math.max(0, tcp - s.websocketsOpen);
    return [
      [{ protocol: 'http' }, http],
      [{ protocol: 'websocket' }, s.websocketsOpen],
    ];
  });
  gauge('canal_http_requests_in_flight', 'HTTP requests whose response has not finished.', [], () => [
    [{}, stats().httpInFlight],
  ]);
  counter('canal_http_requests_total', 'HTTP requests handed to the app.', [], () => [[{}, stats().httpRequests]]);
  counter('canal_http_responses_total', 'HTTP responses by status class.', ['code'], () => {
    const s = stats();
    return [
      [{ code: '1xx' }, s.httpResponses1xx],
      [{ code: '2xx' }, s.httpResponses2xx],
      [{ code: '3xx' }, s.httpResponses3xx],
      [{ code: '4xx' }, s.httpResponses4xx],
      [{ code: '5xx' }, s.httpResponses5xx],
    ];
  });
  counter('canal_websocket_handshakes_total', 'WebSocket handshakes by outcome.', ['outcome'], () => {
    const s = stats();
    return [
      [{ outcome: 'accepted' }, s.websocketsTotal],
      [{ outcome: 'refused' }, s.websocketsRefused],
    ];
  });
  counter(
    'canal_websocket_messages_total',
    'WebSocket messages, from clients (in) and to them (out).',
    ['direction'],
    () => {
      const s = stats();
      return [
        [{ direction: 'in' }, s.websocketMessagesIn],
        [{ direction: 'out' }, s.websocketMessagesOut],
      ];
    },
  );
  counter('canal_websocket_bytes_total', 'WebSocket message payload bytes, in and out.', ['direction'], () => {
    const s = stats();
    return [
      [{ direction: 'in' }, s.websocketBytesIn],
      [{ direction: 'out' }, s.websocketBytesOut],
    ];
  });
  counter('canal_slow_clients_closed_total', 'WebSockets closed (1008) for not reading what was sent.', [], () => [
    [{}, stats().slowClientsClosed],
  ]);
  counter('canal_app_errors_total', 'App instances that raised.', [], () => [[{}, stats().appErrors]]);
  counter(
    'canal_requests_rejected_total',
    'Requests, handshakes or frames refused as malformed or over a limit.',
    [],
    () => [[{}, stats().rejected]],
  );

  names.push('canal_websocket_handshake_seconds');
  const handshakes = new client.Histogram({
    name: 'canal_websocket_handshake_seconds',
    help: 'Time from a WebSocket handshake request to the app accepting or refusing it.',
    labelNames: ['outcome'],
    buckets: HANDSHAKE_BUCKETS,
    registers: [registry],
  });
  const accepted = handshakes.labels('accepted');
  const refused = handshakes.labels('refused');
  const observer = (seconds: number, ok: boolean): void => (ok ? accepted : refused).observe(seconds);
  ctx.handshakeObserver = observer;

  const layerStats = function* (): Generator<readonly [string, Record<string, unknown>]> {
    for (const [alias, layer] of Object.entries(layersNow())) {
      const read = (layer as { stats?: () => Record<string, unknown> }).stats;
      if (typeof read === 'function') yield [alias, read.call(layer)];
    }
  };
  const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  counter('canal_layer_messages_sent_total', 'Messages a channel layer took with send().', ['layer'], function* () {
    for (const [layer, s] of layerStats()) if (num(s.sent) !== null) yield [{ layer }, num(s.sent)!];
  });
  counter('canal_layer_group_sends_total', 'groupSend() calls of a channel layer.', ['layer'], function* () {
    for (const [layer, s] of layerStats()) if (num(s.groupSends) !== null) yield [{ layer }, num(s.groupSends)!];
  });
  counter(
    'canal_layer_messages_dropped_total',
    'Messages a channel layer lost, by cause (docs/channel-layer-spec.md).',
    ['layer', 'cause'],
    function* () {
      for (const [layer, s] of layerStats())
        for (const [key, cause] of DROP_CAUSES) if (num(s[key]) !== null) yield [{ layer, cause }, num(s[key])!];
    },
  );
  counter(
    'canal_layer_messages_unconfirmed_total',
    'Group messages Redis did not answer for: perhaps delivered, perhaps not.',
    ['layer'],
    function* () {
      for (const [layer, s] of layerStats()) if (num(s.unconfirmed) !== null) yield [{ layer }, num(s.unconfirmed)!];
    },
  );
  if (workers.length > 0) {
    counter('canal_worker_messages_total', 'Messages workers handled, by outcome.', ['outcome'], () => {
      let handled = 0;
      let failed = 0;
      for (const w of workers) {
        const s = w.stats();
        handled += s.handled;
        failed += s.failed;
      }
      return [
        [{ outcome: 'handled' }, handled],
        [{ outcome: 'failed' }, failed],
      ];
    });
    gauge('canal_worker_messages_in_hand', 'Messages workers are handling now.', [], () => [
      [{}, workers.reduce((n, w) => n + w.stats().inHand, 0)],
    ]);
  }

  let defaults: string[] = [];
  if (options.processMetrics !== false) {
    const before = new Set(registry.getMetricsAsArray().map((m) => m.name));
    client.collectDefaultMetrics({ register: registry });
    defaults = registry
      .getMetricsAsArray()
      .map((m) => m.name)
      .filter((n) => !before.has(n));
  }

  return {
    registry,
    metrics: () => registry.metrics(),
    contentType: registry.contentType,
    close() {
      if (ctx.handshakeObserver === observer) ctx.handshakeObserver = null;
      for (const name of [...names, ...defaults]) registry.removeSingleMetric(name);
    },
  };
}

/** How many connections the listening server holds (node's own count), or null when it cannot say. */
function connectionCount(server: TransportServer): Promise<number | null> {
  const get = (server as { getConnections?: (cb: (err: Error | null, n: number) => void) => void }).getConnections;
  if (typeof get !== 'function') return Promise.resolve(null);
  return new Promise((resolve) => get.call(server, (err, n) => resolve(err ? null : n)));
}
