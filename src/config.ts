// canal.config.ts (or .mts/.js/.mjs): Django's settings for Canal — the application, the
// channel layers (CHANNEL_LAYERS) and server options. Found in the working directory.
// Only the CLI applies environment overrides (PORT, HOST, LAYER, REDIS_URL) on top of it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CanalError, InvalidOptionError } from './errors.js';
import { resolveServerOptions, type ServerOptions } from './server/options.js';
import type { ChannelLayersConfig } from './layers/registry.js';
import { loadModule } from './cli/load-app.js';

export interface CanalConfig {
  /** The app as `module[:export]`, relative to the working directory (where the config is). */
  application?: string;
  /** Alias → `{ backend: 'memory' | 'redis' | 'redis-pubsub' | LayerClass, options }`. */
  channelLayers?: ChannelLayersConfig;
  /** Interface server options (milliseconds, bytes), as `createServer()` takes them. */
  server?: ServerOptions;
}

/** Identity helper for typed configs: `export default defineConfig({ ... })`. */
export function defineConfig(config: CanalConfig): CanalConfig {
  return config;
}

export const CONFIG_FILE_NAMES = ['canal.config.ts', 'canal.config.mts', 'canal.config.js', 'canal.config.mjs'] as const;
const KEYS = ['application', 'channelLayers', 'server'];

/** Reads the first config file found in `cwd`; `{ config: {}, path: null }` when there is none. */
export async function loadConfig(cwd = process.cwd()): Promise<{ config: CanalConfig; path: string | null }> {
  const name = CONFIG_FILE_NAMES.find((n) => existsSync(join(cwd, n)));
  if (!name) return { config: {}, path: null };
  const path = join(cwd, name);
  const mod = await loadModule(path, cwd);
  const config = (mod.default ?? mod.config) as CanalConfig | undefined;
  if (!config || typeof config !== 'object') throw new InvalidOptionError(`${path} must export default a config object: export default defineConfig({ ... })`);
  for (const key of Object.keys(config)) {
    if (!KEYS.includes(key)) throw new InvalidOptionError(`${path}: unknown config key '${key}'; known keys: ${KEYS.join(', ')}`);
  }
  if (config.application !== undefined && (typeof config.application !== 'string' || config.application === '')) {
    throw new InvalidOptionError(`${path}: application must be a string 'path/to/app.ts[:export]', not ${JSON.stringify(config.application)}`);
  }
  if (config.server !== undefined) {
    try {
      resolveServerOptions(config.server);
    } catch (err) {
      if (err instanceof CanalError) throw new InvalidOptionError(`${path}: ${err.message}`);
      throw err;
    }
  }
  return { config, path };
}
