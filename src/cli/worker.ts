// canal worker [--app app] <channel…> — Channels' runworker: the app's `channel` branch runs
// for every message of the named channels. Needs a layer other processes can reach (Redis).
import { parseArgs } from 'node:util';
import { InvalidOptionError } from '../errors.js';
import { closeChannelLayers, getChannelLayer } from '../layers/registry.js';
import { InMemoryChannelLayer } from '../layers/memory.js';
import { Worker } from '../worker/worker.js';
import { loadApp } from './load-app.js';
import { applyLogLevel, numberFlag, setupFromConfig } from './options.js';

const HELP = `usage: canal worker [--app app] <channel…> [options]

  --app APP           path/to/app.ts[:export] (default: application of canal.config.ts)
  --concurrency N     messages of one channel handled at once (default 1)
  --layer ALIAS       the channel layer alias to read (default: default)
  --log-level LEVEL   debug | info | warn | error | silent`;

export async function workerCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        app: { type: 'string' },
        concurrency: { type: 'string' },
        layer: { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new InvalidOptionError(`${(err as Error).message} (canal worker --help lists the options)`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  applyLogLevel(values['log-level']);
  if (positionals.length === 0) throw new InvalidOptionError('name at least one channel to read: canal worker thumbnails');
  const config = await setupFromConfig();
  const layer = getChannelLayer(values.layer ?? 'default');
  if (layer instanceof InMemoryChannelLayer) {
    throw new InvalidOptionError(
      'canal worker needs a channel layer that other processes can reach, and the in-memory layer lives inside one process: ' +
        'set LAYER=redis (and REDIS_URL), or configure a Redis layer in canal.config.ts. With the in-memory layer, run background consumers inside the server process.',
    );
  }
  const spec = values.app ?? config.application;
  if (!spec) throw new InvalidOptionError('no application: give --app path/to/app.ts or set application in canal.config.ts');
  const app = await loadApp(spec);
  const worker = new Worker({ app, layer, channels: positionals, concurrency: numberFlag('concurrency', values.concurrency, { min: 1, integer: true }) ?? 1 });
  worker.start();
  console.log(`canal: worker reading ${positionals.join(', ')} (pid ${process.pid})`);
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      console.log(`canal: ${signal}, finishing the messages in hand`);
      worker
        .stop()
        .then(() => closeChannelLayers())
        .then(() => resolve(0), () => resolve(1));
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
