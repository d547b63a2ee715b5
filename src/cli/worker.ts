// canal worker [--app app] [channel…] — Channels' runworker: the app's `channel` branch runs
// for every message of the named channels (the arguments, else the config's `workers`).
// Needs a layer other processes can reach (Redis).
import { InvalidOptionError } from '../errors.ts';
import { closeChannelLayers, getChannelLayer } from '../layers/registry.ts';
import { InMemoryChannelLayer } from '../layers/memory.ts';
import { Worker } from '../worker/worker.ts';
import { parseFlags } from './flags.ts';
import { loadAppExport } from './load-app.ts';
import { applyLogLevel, numberFlag, setupFromConfig } from './options.ts';
import { catchStopSignals } from './signals.ts';
import { describeApp, describeLayer } from './startup-line.ts';
import { workerChannels } from './worker-channels.ts';

const HELP = `usage: canal worker [--app app] [channel…] [options]

  channel…            named channels to read, a,b for several (default: workers of canal.config.ts)
  --app APP           path/to/app.ts[:export] (default: application of canal.config.ts)
  --concurrency N     messages of one channel handled at once (default 1)
  --layer ALIAS       the channel layer alias to read (default: default)
  --config PATH       the config file (default: CANAL_CONFIG, else canal.config.* in the working directory)
  --log-level LEVEL   debug | info | warn | error | silent`;

const FLAGS = {
  app: { type: 'string' },
  concurrency: { type: 'string' },
  layer: { type: 'string' },
  config: { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function workerCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags('worker', argv, FLAGS);
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  applyLogLevel(values['log-level']);
  const signals = catchStopSignals();
  const fromArgs = workerChannels(positionals, 'canal worker');
  const concurrency = numberFlag('concurrency', values.concurrency, { min: 1, integer: true }) ?? 1;
  const { config, path, dir } = await setupFromConfig(values.config);
  // Arguments win; the config's list was checked when it was loaded.
  const channels = fromArgs.length > 0 ? fromArgs : [...new Set(config.workers ?? [])];
  if (channels.length === 0) {
    throw new InvalidOptionError(
      `name at least one channel to read: canal worker thumbnails, ` +
        `or list them in workers of ${path ?? 'canal.config.ts'} (workers: ['thumbnails'])`,
    );
  }
  let worker: Worker, running: string;
  const alias = values.layer ?? 'default';
  try {
    const layer = getChannelLayer(alias);
    if (layer instanceof InMemoryChannelLayer) {
      throw new InvalidOptionError(
        'canal worker needs a channel layer that other processes can reach, ' +
          'and the in-memory layer lives inside one process: ' +
          'set LAYER=redis (and REDIS_URL), or configure a Redis layer in canal.config.ts. ' +
          'With the in-memory layer, canal serve runs the workers ' +
          'in its own process (--worker, or workers in canal.config.ts).',
      );
    }
    const spec = values.app ?? config.application;
    if (!spec)
      throw new InvalidOptionError('no application: give --app path/to/app.ts or set application in canal.config.ts');
    // --app is relative to the working directory; the config's application, to the config's folder.
    const loaded = await loadAppExport(spec, values.app !== undefined ? process.cwd() : dir);
    running = `${describeApp(loaded)}, ${describeLayer(alias)}`;
    worker = new Worker({ app: loaded.app, layer, channels, concurrency });
  } catch (err) {
    // A Redis layer made above would otherwise hold the process open after the error.
    await closeChannelLayers().catch(() => {});
    throw err;
  }
  const done = new Promise<number>((resolve) => {
    signals.stopWith((signal) => {
      console.log(`canal: ${signal}, finishing the messages in hand`);
      worker
        .stop()
        .then(() => closeChannelLayers())
        .then(
          () => resolve(0),
          (err) => {
            console.error('canal: error during shutdown:', err);
            resolve(1);
          },
        );
    });
  });
  worker.start();
  console.log(`canal: worker reading ${channels.join(', ')} (pid ${process.pid}), ${running}`);
  return done;
}
