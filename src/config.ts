// canal.config.ts (or .js/.mjs): Django's settings for Canal — the application, the channel
// layers (CHANNEL_LAYERS) and server options. Found in the working directory.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidOptionError } from './errors.js';
import type { ServerOptions } from './server/options.js';
import type { ChannelLayersConfig } from './layers/registry.js';
import { loadModule } from './cli/load-app.js';

export interface CanalConfig {
  /** The app as `module[:export]`, relative to the config file's folder. */
  application?: string;
  channelLayers?: ChannelLayersConfig;
  server?: ServerOptions;
}

/** Identity helper for typed configs: `export default defineConfig({ ... })`. */
export function defineConfig(config: CanalConfig): CanalConfig {
  return config;
}

const NAMES = ['canal.config.ts', 'canal.config.mts', 'canal.config.js', 'canal.config.mjs'];
const KEYS = ['application', 'channelLayers', 'server'];

export async function loadConfig(cwd = process.cwd()): Promise<{ config: CanalConfig; path: string | null }> {
  const name = NAMES.find((n) => existsSync(join(cwd, n)));
  if (!name) return { config: {}, path: null };
  const path = join(cwd, name);
  const mod = await loadModule(path, cwd);
  const config = (mod.default ?? mod.config) as CanalConfig | undefined;
  if (!config || typeof config !== 'object') throw new InvalidOptionError(`${path} must export default a config object (defineConfig({...}))`);
  for (const key of Object.keys(config)) {
    if (!KEYS.includes(key)) throw new InvalidOptionError(`${path}: unknown config key '${key}'; known keys: ${KEYS.join(', ')}`);
  }
  return { config, path };
}
