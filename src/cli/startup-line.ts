// What `canal serve` and `canal worker` say they run once started: the app (file and export)
// and the channel layer (backend and hosts). A password in a host is never printed: start-up
// lines end up in log files and CI output.
import { isAbsolute, relative, sep } from 'node:path';
import { channelLayerConfig } from '../layers/registry.ts';
import { hostWithAuth, parseHosts, type RedisHost } from '../layers/redis/hosts.ts';
import type { LoadedApp } from './load-app.ts';

/** `app src/asgi.ts:application`: a file under the working directory relative to it, else absolute. */
export function describeApp(loaded: Pick<LoadedApp, 'module' | 'exportName'>, cwd = process.cwd()): string {
  let shown = loaded.module;
  if (isAbsolute(shown)) {
    const rel = relative(cwd, shown);
    if (rel !== '' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel)) shown = rel;
  }
  return `app ${shown}:${loaded.exportName}`;
}

/** `layer redis (redis://:****@host:6379/0)`, `layer memory`; another alias is named: `layer jobs: …`. */
export function describeLayer(alias = 'default'): string {
  const label = alias === 'default' ? 'layer' : `layer ${alias}:`;
  const entry = channelLayerConfig(alias);
  if (!entry) return `${label} (not configured)`;
  if (typeof entry.backend === 'function') return `${label} ${entry.backend.name || '(a layer class)'}`;
  if (entry.backend !== 'redis' && entry.backend !== 'redis-pubsub') return `${label} ${entry.backend}`;
  const hosts = parseHosts((entry.options as { hosts?: readonly RedisHost[] } | undefined)?.hosts);
  return `${label} ${entry.backend} (${hosts.map(hostWithAuth).join(', ')})`;
}
