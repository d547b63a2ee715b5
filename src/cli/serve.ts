// canal serve [app] — the interface server (Daphne's role). Flags in seconds, as Daphne's.
import { closeSync, openSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { CanalError, InvalidOptionError, ListenError } from '../errors.ts';
import { createLogger } from '../logging.ts';
import { createServer } from '../server/server.ts';
import { resolveServerOptions, type ServerOptions } from '../server/options.ts';
import { closeChannelLayers, getChannelLayer } from '../layers/registry.ts';
import { InMemoryChannelLayer } from '../layers/memory.ts';
import { Worker } from '../worker/worker.ts';
import { parseFlags } from './flags.ts';
import { proxyHeadersFromFlags } from './proxy-headers-flags.ts';
import { loadAppExport } from './load-app.ts';
import { applyListenFlags, describeListeners, LISTEN_FLAGS, LISTEN_HELP } from './listen-flags.ts';
import { applyLogFormat, applyLogLevel, metricsHost, numberFlag, setupFromConfig } from './options.ts';
import type { ServeMetrics } from './serve-metrics.ts';
import { catchStopSignals } from './signals.ts';
import * as processes from './processes.ts';
import { describeApp, describeLayer } from './startup-line.ts';
import { serveWorkerPlan, workerChannels } from './worker-channels.ts';

const HELP = `usage: canal serve [app] [options]

  app                              path/to/app.ts[:export] (default: application of canal.config.ts)
  --host HOST                      default: HOST, else 127.0.0.1
  --port PORT                      default: PORT, else 8000 (0: a free port)
${LISTEN_HELP}
  --root-path PATH                 the path prefix the app is mounted under
  --websocket-max-message-size N   bytes (default 1048576); larger messages close with 1009
  --websocket-handshake-timeout S  seconds for the app to accept or refuse (default 5)
  --ping-interval S                keepalive ping after S quiet seconds (default 20; 0 = off)
  --ping-timeout S                 drop a socket quiet for S seconds (default 30)
  --websocket-timeout S            maximum WebSocket lifetime (default 86400; 0 = none)
  --http-timeout S                 maximum time to finish a response (default 0 = none)
  --application-close-timeout S    time an app has to return after a disconnect (default 10)
  --max-request-body-size N        bytes (default 10485760; 0 = none); larger gets 413
  --max-header-count N             header lines per request (default 100)
  --max-header-size N              bytes of request head (default 16384)
  --max-buffered-bytes N           unsent bytes per WebSocket before the client is dropped with 1008 (default 4194304)
  --ws-per-message-deflate         compress WebSocket messages of 1 KiB or more (permessage-deflate) when offered
  --drain-timeout S                time in-flight responses get at shutdown (default 10)
  --headers-timeout S              time a client has to send a request head, then 408 (default 60; 0 = none)
  --max-connections N              open connections past which new ones are closed (default 10000; 0 = none)
  --access-log FILE                access log to FILE ('-' for stdout)
  --proxy-headers                  client address and scheme from X-Forwarded-* / Forwarded of trusted peers
  --forwarded-allow-ips LIST       trusted peers: addresses, CIDRs or * (default: FORWARDED_ALLOW_IPS, else \
127.0.0.1,::1)
  --forwarded-host                 with --proxy-headers, the Host the app sees from X-Forwarded-Host too
  --worker CHANNEL                 also read CHANNEL with a worker in this process (repeatable; a,b for several)
  --no-workers                     do not run the config's workers in this process \
(they run here on the in-memory layer)
  --worker-concurrency N           messages of one channel the in-process workers handle at once (default 1)
  --processes N                    server processes sharing the address (default: PROCESSES, else 1)
  --allow-memory-layer-split       allow --processes N > 1 on the in-memory layer (each process its own)
  --config PATH                    the config file (default: CANAL_CONFIG, else canal.config.* in the working directory)
  --log-level LEVEL                debug | info | warn | error | silent (default info)
  --log-format FORMAT              text | json: one JSON object a line (default: CANAL_LOG_FORMAT, else text)
  --metrics-port PORT              serve /metrics, /healthz and /readyz on PORT (0: a free port; default: off)
  --metrics-host HOST              the metrics listener's address (default 127.0.0.1)`;

export const FLAGS = {
  host: { type: 'string' },
  port: { type: 'string' },
  ...LISTEN_FLAGS,
  'root-path': { type: 'string' },
  'websocket-max-message-size': { type: 'string' },
  'websocket-handshake-timeout': { type: 'string' },
  'ping-interval': { type: 'string' },
  'ping-timeout': { type: 'string' },
  'websocket-timeout': { type: 'string' },
  'http-timeout': { type: 'string' },
  'application-close-timeout': { type: 'string' },
  'max-request-body-size': { type: 'string' },
  'max-header-count': { type: 'string' },
  'max-header-size': { type: 'string' },
  'max-buffered-bytes': { type: 'string' },
  'ws-per-message-deflate': { type: 'boolean' },
  'drain-timeout': { type: 'string' },
  'headers-timeout': { type: 'string' },
  'max-connections': { type: 'string' },
  'access-log': { type: 'string' },
  'proxy-headers': { type: 'boolean' },
  'forwarded-allow-ips': { type: 'string' },
  'forwarded-host': { type: 'boolean' },
  worker: { type: 'string', multiple: true },
  'no-workers': { type: 'boolean' },
  'worker-concurrency': { type: 'string' },
  processes: { type: 'string' },
  'allow-memory-layer-split': { type: 'boolean' },
  config: { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  'metrics-port': { type: 'string' },
  'metrics-host': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parse(argv: string[]) {
  return parseFlags('serve', argv, FLAGS);
}

/** Maps flags (seconds, bytes) onto ServerOptions (milliseconds, bytes). */
export function serverOptionsFromFlags(
  values: ReturnType<typeof parse>['values'],
  base: ServerOptions = {},
): ServerOptions {
  const o: ServerOptions = { ...base };
  const ms = (name: keyof typeof FLAGS) => {
    const n = numberFlag(name, values[name] as string | undefined);
    return n === undefined ? undefined : Math.round(n * 1000);
  };
  const int = (name: keyof typeof FLAGS) => numberFlag(name, values[name] as string | undefined, { integer: true });
  const host = values.host ?? process.env.HOST;
  if (host) o.host = host;
  const port = numberFlag(values.port !== undefined ? 'port' : 'PORT', values.port ?? process.env.PORT, {
    integer: true,
    max: 65535,
  });
  if (port !== undefined) o.port = port;
  const rootPath = values['root-path'];
  if (rootPath !== undefined) {
    if (rootPath !== '' && !rootPath.startsWith('/'))
      throw new InvalidOptionError(`--root-path must start with '/', not ${JSON.stringify(rootPath)}`);
    o.rootPath = rootPath.replace(/\/+$/, '');
  }
  const set = <K extends keyof ServerOptions>(key: K, value: ServerOptions[K] | undefined) => {
    if (value !== undefined) o[key] = value;
  };
  set('websocketMaxMessageBytes', int('websocket-max-message-size'));
  set('websocketHandshakeTimeoutMs', ms('websocket-handshake-timeout'));
  set('pingIntervalMs', ms('ping-interval'));
  set('pingTimeoutMs', ms('ping-timeout'));
  set('websocketMaxLifetimeMs', ms('websocket-timeout'));
  set('httpResponseTimeoutMs', ms('http-timeout'));
  set('applicationCloseTimeoutMs', ms('application-close-timeout'));
  set('maxRequestBodyBytes', int('max-request-body-size'));
  set('maxHeaderCount', int('max-header-count'));
  set('maxHeaderBytes', int('max-header-size'));
  set('maxBufferedBytes', int('max-buffered-bytes'));
  set('drainTimeoutMs', ms('drain-timeout'));
  set('headersTimeoutMs', ms('headers-timeout'));
  set('maxConnections', int('max-connections'));
  const accessLog = values['access-log'];
  if (accessLog !== undefined) o.accessLog = accessLog === '-' ? 'stdout' : checkWritable(accessLog);
  const proxyHeaders = proxyHeadersFromFlags(values, o.proxyHeaders);
  if (proxyHeaders !== undefined) o.proxyHeaders = proxyHeaders;
  applyListenFlags(values, o);
  // The flag turns it on; a config's own settings (an object) are kept.
  if (values['ws-per-message-deflate'] && !o.websocketCompression) o.websocketCompression = true;
  return o;
}

/** Opens the access log once here, so a bad path is a clear error now rather than a crash later. */
function checkWritable(file: string): string {
  try {
    closeSync(openSync(file, 'a'));
  } catch (err) {
    throw new InvalidOptionError(`--access-log cannot write to ${JSON.stringify(file)}: ${(err as Error).message}`);
  }
  return file;
}

/** A config's relative `accessLog` file is relative to the config's folder, like its other paths. */
export function configServerOptions(server: ServerOptions | undefined, dir: string): ServerOptions {
  const log = server?.accessLog;
  if (typeof log !== 'string' || log === 'stdout' || isAbsolute(log)) return server ?? {};
  return { ...server, accessLog: resolve(dir, log) };
}

export function serveCommand(argv: string[]): Promise<number> {
  // A process of `--processes N` leaves the primary's channel when done: an open channel keeps it alive.
  return processes.isServerProcess() ? processes.leavePrimaryAfter(serve(argv)) : serve(argv);
}

async function serve(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv);
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length > 1) {
    throw new InvalidOptionError(
      `canal serve takes one application, not ${positionals.length}: ${positionals.join(' ')}`,
    );
  }
  applyLogLevel(values['log-level']);
  applyLogFormat(values['log-format']);
  const metricsPort = numberFlag('metrics-port', values['metrics-port'], { integer: true, max: 65535 });
  const metricsAt = metricsPort === undefined ? null : { host: metricsHost(values['metrics-host']), port: metricsPort };
  // In a process of `--processes N`, the primary has checked the flags and decides when to stop.
  const serverProcess = processes.isServerProcess();
  const signals = serverProcess ? processes.serverProcessSignals() : catchStopSignals();
  const processCount = serverProcess ? 1 : processes.processCount(values.processes);
  const flagged = workerChannels(values.worker ?? [], '--worker');
  const concurrency = numberFlag('worker-concurrency', values['worker-concurrency'], { min: 1, integer: true }) ?? 1;
  const { config, dir } = await setupFromConfig(values.config);
  const spec = positionals[0] ?? config.application;
  if (!spec)
    throw new InvalidOptionError(
      'no application: give one (canal serve path/to/app.ts) or set application in canal.config.ts',
    );
  const options = serverOptionsFromFlags(values, configServerOptions(config.server, dir));
  if (processCount > 1 && metricsAt !== null) {
    // One metrics port per process would need as many ports; the processes do not share it.
    throw new InvalidOptionError(
      `--metrics-port serves one process, not ${processCount}: drop --metrics-port, or --processes`,
    );
  }
  if (processCount > 1) {
    processes.refuseMemoryLayerSplit(processCount, values['allow-memory-layer-split'] ?? false);
    return processes.runProcesses(processCount, argv, signals);
  }
  // Layers made from here on (by the app's module too) must be closed if start-up fails, or
  // their connections would keep the process alive.
  let server: ReturnType<typeof createServer>, worker: Worker | null, running: string;
  try {
    // An app named on the command line is relative to the working directory; the config's, to its folder.
    const loaded = await loadAppExport(spec, positionals[0] !== undefined ? process.cwd() : dir);
    const app = loaded.app;
    running = `${describeApp(loaded)}, ${describeLayer()}`;
    server = createServer(app, options);
    worker = inProcessWorker(app, flagged, config.workers ?? [], values['no-workers'] ?? false, concurrency);
  } catch (err) {
    await closeChannelLayers().catch(() => {});
    throw err;
  }
  // Metrics and health: their own listener, up before lifespan startup (/readyz says 503 until listening).
  let metrics: ServeMetrics | null = null;
  if (metricsAt !== null) {
    try {
      metrics = await (await import('./serve-metrics.ts')).serveMetrics(server, worker, metricsAt.host, metricsAt.port);
    } catch (err) {
      await closeChannelLayers().catch(() => {});
      throw err;
    }
  }
  const drainTimeoutMs = resolveServerOptions(options).drainTimeoutMs;
  // The stop goes in before the listening line is printed (whoever reads that line may signal
  // at once), and before lifespan startup, which a signal must be able to cut short.
  let stopping = false;
  let resolveDone: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => (resolveDone = resolve));
  signals.stopWith((signal) => {
    stopping = true;
    console.log(`canal: ${signal}, shutting down`);
    // Workers stop reading at once and finish their messages beside the HTTP drain; lifespan
    // shutdown waits for them (their handlers may use what startup made), the layers close last.
    server
      .close({ beforeLifespanShutdown: worker ? finishWorker(worker, drainTimeoutMs) : undefined })
      .then(() => metrics?.close()) // before the layers close: /readyz would make them again
      .then(() => closeChannelLayers())
      .then(
        () => 0,
        (err) => {
          console.error('canal: error during shutdown:', err);
          return 1;
        },
      )
      .then((code) => {
        // Timers or sockets the app left open must not keep a stopped server alive; the
        // grace lets buffered output (an access log file) flush first.
        setTimeout(() => process.exit(code), 2000).unref();
        resolveDone(code);
      });
  });

  try {
    // A signal during lifespan startup stops the server before it listens: then the shutdown's
    // outcome is the exit code, whether or not listen() ever settles.
    const listened = await Promise.race([server.listen(), done]);
    if (typeof listened === 'number') return listened;
  } catch (err) {
    if (stopping) return done;
    // A failed lifespan startup has had its say; anything later (the port) gets the full shutdown.
    if (!(err instanceof CanalError && err.code === 'ERR_LIFESPAN_STARTUP')) await server.close().catch(() => {});
    await metrics?.close().catch(() => {});
    await closeChannelLayers().catch(() => {});
    throw listenError(err, options);
  }
  if (stopping) return done;
  // After lifespan startup, so what the app sets up there is ready for the first message.
  worker?.start();
  const where = describeListeners(server.addresses(), options.listen, options.tls !== undefined);
  if (serverProcess) processes.reportListening(where, running);
  else console.log(`canal: listening on ${where} (pid ${process.pid}), ${running}`);
  if (metrics !== null) console.log(`canal: ${metrics.line}`);
  return done;
}

/** The Worker `canal serve` runs beside the server (serveWorkerPlan says which channels), or null. */
function inProcessWorker(
  app: Parameters<typeof createServer>[0],
  flagged: string[],
  configured: string[],
  noWorkers: boolean,
  concurrency: number,
): Worker | null {
  if (flagged.length === 0 && configured.length === 0) return null;
  // The app's own layer object: on the in-memory layer only this process can read what it sends.
  const layer = getChannelLayer();
  const plan = serveWorkerPlan({ flagged, configured, inMemory: layer instanceof InMemoryChannelLayer, noWorkers });
  for (const line of plan.lines) console.log(`canal: ${line}`);
  return plan.channels.length > 0 ? new Worker({ app, layer, channels: plan.channels, concurrency }) : null;
}

/** Stops reading now; resolves when the messages in hand are done, or after the drain timeout. */
async function finishWorker(worker: Worker, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const finished = await Promise.race([
    worker.stop().then(() => true),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (!finished)
    createLogger('worker').warn(
      `${worker.stats().inHand} messages still in hand after the ${timeoutMs} ms drain timeout; ` +
        `shutting down without them`,
    );
}

/** A port in use or a host that cannot be bound: one line naming it and the flag to change. */
function listenError(err: unknown, options: ServerOptions): unknown {
  if (err instanceof CanalError) return err;
  const e = err as NodeJS.ErrnoException;
  const tcp = options.listen?.find((t) => 'host' in t) as { host: string; port: number } | undefined;
  const where = tcp ? `${tcp.host}:${tcp.port}` : `${options.host ?? '127.0.0.1'}:${options.port ?? 8000}`;
  if (e.code === 'EADDRINUSE')
    return new ListenError(`cannot listen on ${where}: the address is in use; choose another --port (or PORT)`, {
      cause: err,
    });
  if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') {
    return new ListenError(`cannot listen on ${where}: no such local address (${e.code}); check --host (or HOST)`, {
      cause: err,
    });
  }
  if (e.code === 'EACCES')
    return new ListenError(`cannot listen on ${where}: permission denied; use a port above 1023`, { cause: err });
  return err;
}
