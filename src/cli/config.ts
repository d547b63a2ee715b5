// canal.config.ts (or .mts/.cts/.js/.mjs/.cjs): Django's settings for Canal — the application, the
// channel layers (CHANNEL_LAYERS), server options and the channels background workers read.
// Found in the working directory, or named by `--config` / CANAL_CONFIG. Paths inside it are
// relative to its own folder, so a project runs the same from any working directory.
// Only the CLI applies environment overrides (PORT, HOST, LAYER, REDIS_URL) on top of it.
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { AppLoadError, CanalError, InvalidOptionError } from '../errors.ts';
import { resolveServerOptions, type ServerOptions } from '../server/options.ts';
import type { ChannelLayersConfig } from '../layers/registry.ts';
import { checkWorkerChannel } from '../worker/worker.ts';
import { loadModule } from './load-app.ts';

export interface CanalConfig {
  /** The app as `module[:export]`; a path is relative to the config file's folder. */
  application?: string;
  /** Alias → `{ backend: 'memory' | 'redis' | 'redis-pubsub' | LayerClass, options }`. */
  channelLayers?: ChannelLayersConfig;
  /**
   * Interface server options (milliseconds, bytes), as `createServer()` takes them; an `accessLog`
   * file is relative to the config file's folder.
   */
  server?: ServerOptions;
  /**
   * The named channels the app's background consumers read (its `channel` branch):
   * `canal worker` reads them when given no channels, and `canal serve` runs them in its own
   * process when the default layer is the in-memory one. @default []
   */
  workers?: string[];
}

/** Identity helper for typed configs: `export default defineConfig({ ... })`. */
export function defineConfig(config: CanalConfig): CanalConfig {
  return config;
}

export const CONFIG_FILE_NAMES = [
  'canal.config.ts',
  'canal.config.mts',
  'canal.config.cts',
  'canal.config.js',
  'canal.config.mjs',
  'canal.config.cjs',
] as const;
const KEYS = ['application', 'channelLayers', 'server', 'workers'];

export interface LoadedConfig {
  config: CanalConfig;
  /** The file read, or null when there is none. */
  path: string | null;
  /** What paths inside the config are relative to: its folder (the working directory without one). */
  dir: string;
}

export interface ConfigFile {
  /** A config file, or a folder to look for one in; relative to the working directory. */
  file: string;
  /** Where the name came from, for messages: `--config`, `CANAL_CONFIG`. @default '--config' */
  from?: string;
}

/** The file named by `given` (a file, or a folder holding one); an error naming it when there is none. */
function findGiven(given: ConfigFile, cwd: string): string {
  const label = `${given.from ?? '--config'} ${given.file}`;
  if (given.file === '')
    throw new InvalidOptionError(`${label.trim()}: give the path of a config file, e.g. canal.config.ts`);
  const path = resolve(cwd, given.file);
  if (!existsSync(path)) throw new InvalidOptionError(`${label}: no file at ${path}`);
  if (!statSync(path).isDirectory()) return path;
  const name = CONFIG_FILE_NAMES.find((n) => existsSync(join(path, n)));
  if (!name) throw new InvalidOptionError(`${label}: no ${CONFIG_FILE_NAMES.join(', ')} in the folder ${path}`);
  return join(path, name);
}

/**
 * Reads the config: the file `given` names, else the first of CONFIG_FILE_NAMES in `cwd`;
 * `{ config: {}, path: null, dir: cwd }` when there is none. Every failure is an
 * InvalidOptionError (exit 2) naming the file.
 */
export async function loadConfig(cwd = process.cwd(), given?: ConfigFile): Promise<LoadedConfig> {
  let path: string;
  if (given) path = findGiven(given, cwd);
  else {
    const name = CONFIG_FILE_NAMES.find((n) => existsSync(join(cwd, n)));
    if (!name) return { config: {}, path: null, dir: cwd };
    path = join(cwd, name);
  }
  let mod: Record<string, unknown>;
  try {
    mod = await loadModule(path, dirname(path));
  } catch (err) {
    // A config that cannot be imported is a bad setting, not a failing app.
    if (!(err instanceof AppLoadError)) throw err;
    const bad = new InvalidOptionError(err.message.replace(/^cannot load /, 'cannot load config '));
    bad.cause = err.cause; // shown with --log-level debug
    throw bad;
  }
  // A CommonJS config compiled from `export default` keeps the object at `default.default`.
  const cjs = mod.default as { __esModule?: boolean; default?: unknown } | undefined;
  const config = (cjs?.__esModule && cjs.default !== undefined ? cjs.default : (mod.default ?? mod.config)) as
    | CanalConfig
    | undefined;
  if (!config || typeof config !== 'object')
    throw new InvalidOptionError(`${path} must export default a config object: export default defineConfig({ ... })`);
  checkConfig(config, path);
  return { config, path, dir: dirname(path) };
}

function checkConfig(config: CanalConfig, path: string): void {
  for (const key of Object.keys(config)) {
    if (!KEYS.includes(key))
      throw new InvalidOptionError(`${path}: unknown config key '${key}'; known keys: ${KEYS.join(', ')}`);
  }
  if (config.application !== undefined && (typeof config.application !== 'string' || config.application === '')) {
    throw new InvalidOptionError(
      `${path}: application must be a string 'path/to/app.ts[:export]', not ${JSON.stringify(config.application)}`,
    );
  }
  if (config.server !== undefined) {
    try {
      resolveServerOptions(config.server);
    } catch (err) {
      if (err instanceof CanalError) throw new InvalidOptionError(`${path}: ${err.message}`);
      throw err;
    }
  }
  if (config.workers !== undefined) checkWorkers(config.workers, path);
}

function checkWorkers(workers: unknown, path: string): void {
  if (!Array.isArray(workers)) {
    const shown =
      typeof workers === 'string'
        ? JSON.stringify(workers)
        : workers === null
          ? 'null'
          : typeof workers === 'object'
            ? 'an object'
            : `a ${typeof workers}`;
    throw new InvalidOptionError(
      `${path}: workers must be an array of channel names, e.g. workers: ['thumbnails'], not ${shown}`,
    );
  }
  workers.forEach((name: unknown, i) => {
    try {
      checkWorkerChannel(name);
    } catch (err) {
      throw new InvalidOptionError(`${path}: workers[${i}]: ${(err as CanalError).message}`);
    }
  });
}
