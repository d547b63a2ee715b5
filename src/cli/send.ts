// canal send <channel> '<json>' and canal group-send <group> '<json>': for shell scripts and
// programs outside the app, on the configured channel layer (LAYER / REDIS_URL / config).
// The exit code tells the script whether the message went: a layer groupSend never raises for
// an unreachable Redis (it counts a drop), so group-send watches the drops and fails on one.
import { InvalidMessageError, InvalidOptionError } from '../errors.ts';
import { closeChannelLayers, getChannelLayer } from '../layers/registry.ts';
import { InMemoryChannelLayer } from '../layers/memory.ts';
import { checkChannelName, checkGroupName } from '../layers/names.ts';
import { LayerUnavailableError } from '../layers/redis/connection.ts';
import type { DropEvent } from '../layers/remote-layer.ts';
import type { ChannelLayer, LayerMessage } from '../layers/types.ts';
import { parseFlags } from './flags.ts';
import { applyLogLevel, setupFromConfig } from './options.ts';

const FLAGS = {
  layer: { type: 'string' },
  config: { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function usage(kind: 'send' | 'group-send'): string {
  const what = kind === 'send' ? 'channel' : 'group';
  const flags = '[--layer ALIAS] [--config PATH] [--log-level L]';
  return `usage: canal ${kind} <${what}> '<json message with a "type">' ${flags}`;
}

/** The message argument: a JSON object with a string `type`, checked before any layer is made. */
export function parseMessage(text: string): LayerMessage {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch (err) {
    throw new InvalidMessageError(`the message is not JSON (${(err as Error).message}): ${text}`);
  }
  const isObject = message !== null && typeof message === 'object' && !Array.isArray(message);
  if (!isObject || typeof (message as { type?: unknown }).type !== 'string') {
    const example = `'{"type": "chat.message", "text": "hi"}'`;
    throw new InvalidMessageError(
      `the message must be a JSON object with a string "type", e.g. ${example}, not ${text}`,
    );
  }
  return message as LayerMessage;
}

async function run(kind: 'send' | 'group-send', argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(kind, argv, FLAGS);
  if (values.help) {
    console.log(usage(kind));
    return 0;
  }
  if (positionals.length !== 2) {
    const what = kind === 'send' ? 'a channel' : 'a group';
    const n = positionals.length;
    const given = `${n} argument${n === 1 ? '' : 's'}`;
    throw new InvalidOptionError(`${kind} takes ${what} and a message, not ${given}\n${usage(kind)}`);
  }
  applyLogLevel(values['log-level']);
  const [target, text] = positionals as [string, string];
  if (kind === 'send') checkChannelName(target);
  else checkGroupName(target);
  const message = parseMessage(text);
  await setupFromConfig(values.config);
  const layer = getChannelLayer(values.layer ?? 'default');
  if (layer instanceof InMemoryChannelLayer) {
    throw new InvalidOptionError(
      `canal ${kind} needs a layer shared between processes (LAYER=redis); the in-memory layer would deliver to no one`,
    );
  }
  if (kind === 'send') {
    try {
      await layer.send(target, message);
    } finally {
      await closeChannelLayers();
    }
    return 0;
  }
  const drops = watchDrops(layer);
  try {
    await layer.groupSend(target, message);
  } finally {
    // Closing waits for the answers of group sends handed to Redis, and so for their drops.
    await closeChannelLayers();
    drops.stop();
  }
  const lost = drops.events.find((e) => e.reason === 'unavailable' || e.reason === 'unconfirmed');
  if (lost) {
    const why = lost.error?.message ?? 'the layer could not reach Redis';
    const maybe =
      lost.reason === 'unconfirmed'
        ? ' (Redis took the command but did not answer: it may still have been delivered)'
        : '';
    throw new LayerUnavailableError(`group-send to ${target} failed: ${why}${maybe}`);
  }
  const full = drops.events.filter((e) => e.reason === 'full').length;
  if (full > 0) {
    const members = full === 1 ? '1 member channel was' : `${full} member channels were`;
    console.error(`canal: group-send to ${target}: ${members} full and did not get the message`);
  }
  return 0;
}

/** The `drop` events a layer emits (the Redis layers do) until `stop()`. */
function watchDrops(layer: ChannelLayer): { events: DropEvent[]; stop(): void } {
  const events: DropEvent[] = [];
  const emitter = layer as Partial<Pick<NodeJS.EventEmitter, 'on' | 'off'>>;
  const onDrop = (event: DropEvent) => events.push(event);
  if (typeof emitter.on !== 'function' || typeof emitter.off !== 'function') return { events, stop: () => {} };
  emitter.on.call(layer, 'drop', onDrop);
  return { events, stop: () => emitter.off!.call(layer, 'drop', onDrop) };
}

export const sendCommand = (argv: string[]) => run('send', argv);
export const groupSendCommand = (argv: string[]) => run('group-send', argv);
