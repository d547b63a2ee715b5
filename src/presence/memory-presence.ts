// Presence records of a layer whose groups live in one process (the in-memory layer): a Map per
// layer, shared by every Presence on it. No process can die apart from the others, so there
// are no heartbeats.
import type { ChannelLayer } from '../layers/types.ts';
import type { GoneEntry, PresenceEntry, PresenceStore } from './presence.ts';

class LocalPresenceStore implements PresenceStore {
  readonly needsHeartbeat = false;
  readonly closed = false;
  /** group → channel → entry */
  readonly #groups = new Map<string, Map<string, PresenceEntry>>();

  async track(group: string, entry: PresenceEntry): Promise<boolean> {
    let channels = this.#groups.get(group);
    if (!channels) this.#groups.set(group, (channels = new Map()));
    const fresh = !channels.has(entry.channel);
    channels.set(entry.channel, entry);
    return fresh;
  }

  async untrack(group: string, channel: string): Promise<boolean> {
    const channels = this.#groups.get(group);
    if (!channels?.delete(channel)) return false;
    if (channels.size === 0) this.#groups.delete(group);
    return true;
  }

  async list(group: string): Promise<{ present: PresenceEntry[]; gone: GoneEntry[] }> {
    const channels = this.#groups.get(group);
    const present = channels
      ? [...channels.values()].map((e) => ({ ...e, meta: JSON.parse(JSON.stringify(e.meta)) }))
      : [];
    return { present, gone: [] };
  }

  async heartbeat(): Promise<{ gone: GoneEntry[]; lost: boolean }> {
    return { gone: [], lost: false };
  }

  async close(): Promise<void> {}
}

const stores = new WeakMap<ChannelLayer, LocalPresenceStore>();

/** The records of `layer`, the same for every Presence on it. */
export function localPresenceStore(layer: ChannelLayer): PresenceStore {
  let store = stores.get(layer);
  if (!store) stores.set(layer, (store = new LocalPresenceStore()));
  return store;
}
