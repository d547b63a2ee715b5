// Shared by the consumer tests: a memory layer that shows group membership, and a poll helper.
import { InMemoryChannelLayer } from '../../src/layers/memory.ts';
import { configureChannelLayers, getChannelLayer } from '../../src/layers/registry.ts';

/** The in-memory layer, keeping a public copy of who is in which group. */
export class WatchedLayer extends InMemoryChannelLayer {
  readonly members = new Map<string, Set<string>>();
  override async groupAdd(group: string, channel: string): Promise<void> {
    await super.groupAdd(group, channel);
    if (!this.members.has(group)) this.members.set(group, new Set());
    this.members.get(group)!.add(channel);
  }
  override async groupDiscard(group: string, channel: string): Promise<void> {
    await super.groupDiscard(group, channel);
    this.members.get(group)?.delete(channel);
  }
  count(group: string): number {
    return this.members.get(group)?.size ?? 0;
  }
}

/** Makes the default layer a WatchedLayer and returns it. */
export function useWatchedLayer(): WatchedLayer {
  configureChannelLayers({ default: { backend: WatchedLayer } });
  return getChannelLayer() as WatchedLayer;
}

/** Polls until `check()` is true; fails after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs = 1000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
