// Option parsing and checks the Redis layers share with every backend.
import { InvalidOptionError } from '../../errors.ts';
import { parseLayerOptions, type BaseLayerOptions, type LayerSettings } from '../base-layer.ts';
import { checkMessage } from '../message-check.ts';

export { checkChannelName, checkChannelPrefix, checkGroupName } from '../names.ts';

export type CommonLayerOptions = BaseLayerOptions;
export type CommonLayerSettings = LayerSettings;

export function parseCommonOptions(
  backend: string,
  options: Record<string, unknown>,
  ownKeys: readonly string[],
): CommonLayerSettings {
  try {
    return parseLayerOptions(options as BaseLayerOptions, ownKeys);
  } catch (err) {
    if (err instanceof InvalidOptionError) throw new InvalidOptionError(`${backend} layer: ${err.message}`);
    throw err;
  }
}

export function checkLayerMessage(message: unknown, maxBytes: number, op: string): void {
  checkMessage(message, maxBytes, op);
}
