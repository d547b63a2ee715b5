// Shared command-line pieces: numbers from flags, the app and the layer from config and env.
import { CanalError, InvalidOptionError } from '../errors.ts';
import { loadConfig, type ConfigFile, type LoadedConfig } from './config.ts';
import { configureChannelLayers, type ChannelLayersConfig } from '../layers/registry.ts';
import { setLogFormat, setLogLevel, type LogLevel } from '../logging.ts';

/** A numeric flag's value; `name` is the flag without dashes, or an environment variable in capitals. */
export function numberFlag(
  name: string,
  value: string | undefined,
  { min = 0, max = Infinity, integer = false } = {},
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    const label = /^[A-Z_]+$/.test(name) ? name : `--${name}`;
    const range = max === Infinity ? `≥ ${min}` : `from ${min} to ${max}`;
    throw new InvalidOptionError(
      `${label} must be ${integer ? 'a whole number' : 'a number'} ${range}, not ${JSON.stringify(value)}`,
    );
  }
  return n;
}

/** `--log-level`, else CANAL_LOG_LEVEL, checked as PORT is: a misspelt level is refused, not ignored. */
export function applyLogLevel(flag: string | undefined, env: Record<string, string | undefined> = process.env): void {
  const value = flag ?? (env.CANAL_LOG_LEVEL || undefined);
  if (value === undefined) return;
  const levels = ['debug', 'info', 'warn', 'error', 'silent'];
  if (!levels.includes(value)) {
    const label = flag !== undefined ? '--log-level' : 'CANAL_LOG_LEVEL';
    throw new InvalidOptionError(`${label} must be one of ${levels.join(', ')}, not ${JSON.stringify(value)}`);
  }
  setLogLevel(value as LogLevel);
  process.env.CANAL_LOG_LEVEL = value;
}

/** `--log-format`, else CANAL_LOG_FORMAT: 'text' or 'json'; children (workers) inherit it through the environment. */
export function applyLogFormat(flag: string | undefined, env: Record<string, string | undefined> = process.env): void {
  const value = flag ?? (env.CANAL_LOG_FORMAT || undefined);
  if (value === undefined) return;
  if (value !== 'text' && value !== 'json') {
    const label = flag !== undefined ? '--log-format' : 'CANAL_LOG_FORMAT';
    throw new InvalidOptionError(`${label} must be text or json, not ${JSON.stringify(value)}`);
  }
  setLogFormat(value);
  process.env.CANAL_LOG_FORMAT = value;
}

/** `--metrics-host`: a non-empty host; the default is the loopback address, not the server's host. */
export function metricsHost(flag: string | undefined): string {
  if (flag === undefined) return '127.0.0.1';
  if (flag.trim() === '') throw new InvalidOptionError('--metrics-host must be a host name or address, not ""');
  return flag;
}

const LAYERS = ['memory', 'redis', 'redis-pubsub'];

/**
 * The config's channel layers with LAYER and REDIS_URL applied to the `default` alias:
 * LAYER picks its backend (keeping the config's options when the backend is the same one);
 * REDIS_URL becomes the `hosts` of a Redis default layer.
 */
export function layersFromEnv(
  configured: ChannelLayersConfig | undefined,
  env: Record<string, string | undefined> = process.env,
): ChannelLayersConfig {
  let layers: ChannelLayersConfig = { ...(configured ?? {}) };
  const backend = env.LAYER;
  const redisUrl = env.REDIS_URL || undefined;
  if (backend !== undefined && backend !== '') {
    if (!LAYERS.includes(backend))
      throw new InvalidOptionError(`LAYER must be one of ${LAYERS.join(', ')}, not ${JSON.stringify(backend)}`);
    const current = layers.default;
    const options: Record<string, unknown> =
      current && current.backend === backend ? { ...(current.options ?? {}) } : {};
    if (backend !== 'memory' && redisUrl) options.hosts = [redisUrl];
    layers = { ...layers, default: { backend, options } };
  } else if (
    redisUrl &&
    layers.default &&
    (layers.default.backend === 'redis' || layers.default.backend === 'redis-pubsub')
  ) {
    layers = {
      ...layers,
      default: { ...layers.default, options: { ...(layers.default.options ?? {}), hosts: [redisUrl] } },
    };
  }
  return layers;
}

/** The config file named by `--config`, else by CANAL_CONFIG; undefined: look in the working directory. */
export function configFile(
  flag: string | undefined,
  env: Record<string, string | undefined> = process.env,
): ConfigFile | undefined {
  if (flag !== undefined) return { file: flag, from: '--config' };
  if (env.CANAL_CONFIG) return { file: env.CANAL_CONFIG, from: 'CANAL_CONFIG' };
  return undefined;
}

/**
 * Reads the config (`--config`, CANAL_CONFIG or canal.config.* here), then applies LAYER / REDIS_URL,
 * and configures the channel layers.
 */
export async function setupFromConfig(flag?: string): Promise<LoadedConfig> {
  const loaded = await loadConfig(process.cwd(), configFile(flag));
  const { config, path } = loaded;
  const layers = layersFromEnv(config.channelLayers);
  if (Object.keys(layers).length > 0) {
    try {
      configureChannelLayers(layers);
    } catch (err) {
      const env = process.env.LAYER;
      if (err instanceof CanalError && path && config.channelLayers)
        err.message = `${path} (channelLayers${env ? `, LAYER=${env}` : ''}): ${err.message}`;
      throw err;
    }
  }
  return loaded;
}
