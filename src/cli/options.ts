// Shared command-line pieces: numbers from flags, the app and the layer from config and env.
import { CanalError, InvalidOptionError } from '../errors.js';
import { loadConfig, type CanalConfig } from '../config.js';
import { configureChannelLayers, type ChannelLayersConfig } from '../layers/registry.js';
import { setLogLevel, type LogLevel } from '../logging.js';

/** A numeric flag's value; `name` is the flag without dashes, or an environment variable in capitals. */
export function numberFlag(name: string, value: string | undefined, { min = 0, max = Infinity, integer = false } = {}): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    const label = /^[A-Z_]+$/.test(name) ? name : `--${name}`;
    const range = max === Infinity ? `≥ ${min}` : `from ${min} to ${max}`;
    throw new InvalidOptionError(`${label} must be ${integer ? 'a whole number' : 'a number'} ${range}, not ${JSON.stringify(value)}`);
  }
  return n;
}

export function applyLogLevel(value: string | undefined): void {
  if (value === undefined) return;
  const levels = ['debug', 'info', 'warn', 'error', 'silent'];
  if (!levels.includes(value)) throw new InvalidOptionError(`--log-level must be one of ${levels.join(', ')}, not ${JSON.stringify(value)}`);
  setLogLevel(value as LogLevel);
  process.env.CANAL_LOG_LEVEL = value;
}

const LAYERS = ['memory', 'redis', 'redis-pubsub'];

/** Reads canal.config.*, then applies LAYER / REDIS_URL, and configures the channel layers. */
export async function setupFromConfig(): Promise<CanalConfig> {
  const { config, path } = await loadConfig();
  let layers: ChannelLayersConfig = { ...(config.channelLayers ?? {}) };
  const env = process.env.LAYER;
  if (env !== undefined && env !== '') {
    if (!LAYERS.includes(env)) throw new InvalidOptionError(`LAYER must be one of ${LAYERS.join(', ')}, not ${JSON.stringify(env)}`);
    const current = layers.default;
    const options = current && current.backend === env ? { ...(current.options ?? {}) } : {};
    if (env !== 'memory' && process.env.REDIS_URL) (options as { hosts?: string[] }).hosts = [process.env.REDIS_URL];
    layers = { ...layers, default: { backend: env, options } };
  } else if (process.env.REDIS_URL && layers.default && layers.default.backend !== 'memory') {
    layers = { ...layers, default: { ...layers.default, options: { ...(layers.default.options ?? {}), hosts: [process.env.REDIS_URL] } } };
  }
  if (Object.keys(layers).length > 0) {
    try {
      configureChannelLayers(layers);
    } catch (err) {
      if (err instanceof CanalError && path && config.channelLayers) err.message = `${path} (channelLayers${env ? `, LAYER=${env}` : ''}): ${err.message}`;
      throw err;
    }
  }
  return config;
}
