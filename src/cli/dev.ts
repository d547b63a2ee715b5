// canal dev [app] — `canal serve` for development: the server, the app and its workers, started
// again when a file of the app changes (dev-supervisor.ts), with the app's error as a page while
// it cannot load (dev-error-page.ts).
import cluster from 'node:cluster';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { InvalidOptionError } from '../errors.ts';
import { loadConfig } from './config.ts';
import { runErrorPage } from './dev-error-page.ts';
import { ERROR_PAGE_ENV, supervise } from './dev-supervisor.ts';
import { outermost } from './dev-watch.ts';
import { parseFlags } from './flags.ts';
import { resolveModulePath, splitSpec } from './load-app.ts';
import { applyLogLevel, configFile, layersFromEnv } from './options.ts';
import { configServerOptions, FLAGS as SERVE_FLAGS, serverOptionsFromFlags } from './serve.ts';
import { catchStopSignals } from './signals.ts';

const errorPageProcess = cluster.isWorker && process.env[ERROR_PAGE_ENV] !== undefined;
if (errorPageProcess) delete process.env[ERROR_PAGE_ENV];

/**
 * The flags of `canal serve` that do not apply: one process, on a TCP address the supervisor holds;
 * the metrics listener is left out because the old and the new app process overlap at a reload.
 */
const NOT_IN_DEV = [
  'processes',
  'allow-memory-layer-split',
  'uds',
  'uds-mode',
  'fd',
  'metrics-port',
  'metrics-host',
] as const;

const FLAGS = Object.fromEntries(
  Object.entries(SERVE_FLAGS).filter(([name]) => !(NOT_IN_DEV as readonly string[]).includes(name)),
) as Omit<typeof SERVE_FLAGS, (typeof NOT_IN_DEV)[number]>;

const HELP = `usage: canal dev [app] [options]

Runs the app as canal serve does (the server, the app and the config's workers in one process, on
the in-memory layer unless LAYER or the config names another) and starts it again when a file in
the app's or the config's folder changes. While the app cannot load, every request gets its error.

  app                  path/to/app.ts[:export] (default: application of canal.config.ts)
  --host HOST          default: HOST, else 127.0.0.1
  --port PORT          default: PORT, else 8000 (0: a free port)
  --drain-timeout S    time in-flight responses get when the app is started again (default 1)
  --config PATH        the config file (default: CANAL_CONFIG, else canal.config.* in the working directory)
  --log-level LEVEL    debug | info | warn | error | silent (default info)

and the other flags of canal serve (canal serve --help) except ${NOT_IN_DEV.map((f) => `--${f}`).join(', ')}.`;

export function devCommand(argv: string[]): Promise<number> {
  return errorPageProcess ? runErrorPage() : dev(argv);
}

async function dev(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags('dev', argv, FLAGS);
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length > 1) {
    throw new InvalidOptionError(
      `canal dev takes one application, not ${positionals.length}: ${positionals.join(' ')}`,
    );
  }
  applyLogLevel(values['log-level']);
  const signals = catchStopSignals();
  // The config is read here for what to watch and to check it; the app's processes read it again
  // (this process keeps the first copy of a module it imports, so it imports no app code).
  const { config, path: configPath, dir } = await loadConfig(process.cwd(), configFile(values.config));
  layersFromEnv(config.channelLayers);
  const spec = positionals[0] ?? config.application;
  if (!spec)
    throw new InvalidOptionError(
      'no application: give one (canal dev path/to/app.ts) or set application in canal.config.ts',
    );
  const options = serverOptionsFromFlags(values, configServerOptions(config.server, dir));
  if (options.listen !== undefined)
    throw new InvalidOptionError(`canal dev listens on --host and --port only, not on the config's server.listen`);

  const base = positionals[0] !== undefined ? process.cwd() : dir;
  const roots = outermost([appFolder(spec, base), ...(configPath ? [dir] : [])]);
  const accessLog = typeof options.accessLog === 'string' && options.accessLog !== 'stdout' ? options.accessLog : null;
  // A restart need not wait out a production drain timeout: a flag may still ask for one.
  const serveArgs = values['drain-timeout'] === undefined ? [...argv, '--drain-timeout', '1'] : argv;
  return supervise({
    serveArgs,
    errorPage: { host: options.host, port: options.port, tls: options.tls },
    roots,
    ignoreFiles: accessLog ? [resolve(accessLog)] : [],
    watching: roots.map(shownPath).join(', '),
    signals,
  });
}

/** The folder of the app's module; for a package, or a file not there yet, the folder it is named from. */
function appFolder(spec: string, base: string): string {
  const { module } = splitSpec(spec);
  try {
    const path = resolveModulePath(module, base);
    if (path) return dirname(path);
  } catch {
    // No such file yet: the app's process says so, and a save that makes it brings the app up.
    return dirname(resolve(base, module));
  }
  return base;
}

function shownPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}
