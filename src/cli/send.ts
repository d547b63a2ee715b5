// canal send <channel> '<json>' and canal group-send <group> '<json>': for shell scripts and
// programs outside the app, on the configured channel layer (LAYER / REDIS_URL / config).
import { parseArgs } from 'node:util';
import { InvalidMessageError, InvalidOptionError } from '../errors.ts';
import { closeChannelLayers, getChannelLayer } from '../layers/registry.ts';
import { InMemoryChannelLayer } from '../layers/memory.ts';
import type { LayerMessage } from '../layers/types.ts';
import { applyLogLevel, setupFromConfig } from './options.ts';

async function run(kind: 'send' | 'group-send', argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { layer: { type: 'string' }, config: { type: 'string' }, 'log-level': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    throw new InvalidOptionError(`${(err as Error).message} (canal ${kind} --help lists the options)`);
  }
  const { values, positionals } = parsed;
  const what = kind === 'send' ? 'channel' : 'group';
  if (values.help || positionals.length !== 2) {
    console.log(`usage: canal ${kind} <${what}> '<json message with a "type">' [--layer ALIAS] [--config PATH]`);
    return values.help ? 0 : 2;
  }
  applyLogLevel(values['log-level']);
  const [target, text] = positionals as [string, string];
  let message: LayerMessage;
  try {
    message = JSON.parse(text) as LayerMessage;
  } catch (err) {
    throw new InvalidMessageError(`the message is not JSON (${(err as Error).message}): ${text}`);
  }
  await setupFromConfig(values.config);
  const layer = getChannelLayer(values.layer ?? 'default');
  if (layer instanceof InMemoryChannelLayer) {
    throw new InvalidOptionError(`canal ${kind} needs a layer shared between processes (LAYER=redis); the in-memory layer would deliver to no one`);
  }
  try {
    if (kind === 'send') await layer.send(target, message);
    else await layer.groupSend(target, message);
  } finally {
    await closeChannelLayers();
  }
  return 0;
}

export const sendCommand = (argv: string[]) => run('send', argv);
export const groupSendCommand = (argv: string[]) => run('group-send', argv);
