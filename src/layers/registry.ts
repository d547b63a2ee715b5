// The process's channel layers by alias (Django's CHANNEL_LAYERS): configured once by the CLI
// from canal.config.ts, or by configureChannelLayers() in a script or test. With nothing
// configured, alias 'default' is an in-memory layer. Backends are made on first use; a bad
// backend name or option is an error when the configuration is given.
import '../instance.ts';
import { InvalidOptionError, UnknownBackendError } from '../errors.ts';
import { memoryBackend } from './memory.ts';
import { redisBackend } from './redis/redis-layer.ts';
import { redisPubSubBackend } from './redis/pubsub-layer.ts';
import type { ChannelLayer, LayerBackend } from './types.ts';

export type LayerClass = new (options?: object) => ChannelLayer;

export interface LayerConfig {
  backend: 'memory' | 'redis' | 'redis-pubsub' | string | LayerClass;
  options?: object;
}

export type ChannelLayersConfig = Record<string, LayerConfig>;

type Factory = (options: object) => ChannelLayer;

/** The backends by name: the built-in ones, as each describes itself, and those registered. */
const BACKENDS: Record<string, { make: Factory; check?: (options: object) => void }> = Object.fromEntries(
  [memoryBackend, redisBackend, redisPubSubBackend].map((backend: LayerBackend) => [backend.name, backend]),
);

/** Adds a backend by name, for configurations to name besides the built-in ones. */
export function registerLayerBackend(name: string, make: Factory, check?: (options: object) => void): void {
  BACKENDS[name] = { make, check };
}

let config: ChannelLayersConfig = { default: { backend: 'memory' } };
const layers = new Map<string, ChannelLayer>();

function resolveBackend(alias: string, entry: LayerConfig): Factory {
  if (typeof entry.backend === 'function') {
    const Cls = entry.backend;
    return (o) => new Cls(o);
  }
  const known = BACKENDS[entry.backend];
  if (!known) {
    throw new UnknownBackendError(
      `channel layer '${alias}': unknown backend ${JSON.stringify(entry.backend)}; ` +
        `known backends: ${Object.keys(BACKENDS).join(', ')}, or a layer class`,
    );
  }
  return known.make;
}

export function configureChannelLayers(next: ChannelLayersConfig): void {
  if (!next || typeof next !== 'object')
    throw new InvalidOptionError('channelLayers must be an object: { alias: { backend, options } }');
  for (const [alias, entry] of Object.entries(next)) {
    if (!entry || typeof entry !== 'object' || entry.backend === undefined) {
      throw new InvalidOptionError(
        `channel layer '${alias}' needs a backend ('memory', 'redis', 'redis-pubsub' or a class)`,
      );
    }
    // A misspelt key (e.g. 'option') would otherwise leave the layer silently on its defaults.
    const stray = Object.keys(entry).find((k) => k !== 'backend' && k !== 'options');
    if (stray !== undefined)
      throw new InvalidOptionError(
        `channel layer '${alias}': unknown key '${stray}'; an entry is { backend, options }`,
      );
    resolveBackend(alias, entry);
    if (typeof entry.backend === 'string') {
      try {
        BACKENDS[entry.backend]!.check?.(entry.options ?? {});
      } catch (err) {
        throw new InvalidOptionError(`channel layer '${alias}' (${entry.backend}): ${(err as Error).message}`);
      }
    }
  }
  for (const layer of layers.values()) void layer.close();
  layers.clear();
  config = { ...next };
}

/** How `alias` is configured (backend and options), or undefined when it is not. */
export function channelLayerConfig(alias = 'default'): LayerConfig | undefined {
  return Object.hasOwn(config, alias) ? config[alias] : undefined;
}

/** The process's one layer for `alias`, made on first use. */
export function getChannelLayer(alias = 'default'): ChannelLayer {
  const existing = layers.get(alias);
  if (existing) return existing;
  const entry = config[alias];
  if (!entry) {
    throw new InvalidOptionError(
      `no channel layer '${alias}' is configured; configured aliases: ${Object.keys(config).join(', ') || '(none)'}`,
    );
  }
  const layer = resolveBackend(alias, entry)(entry.options ?? {});
  layers.set(alias, layer);
  return layer;
}

/** The aliases configured (with nothing configured: 'default', in memory). */
export function channelLayerAliases(): string[] {
  return Object.keys(config);
}

/** Closes every layer made so far (the CLI does this at shutdown). */
export async function closeChannelLayers(): Promise<void> {
  const all = [...layers.values()];
  layers.clear();
  await Promise.all(all.map((l) => l.close()));
}

/** Closes the layers and goes back to the default configuration (for tests). */
export async function resetChannelLayers(): Promise<void> {
  await closeChannelLayers();
  config = { default: { backend: 'memory' } };
}
