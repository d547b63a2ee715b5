// The core Redis layer's record of its own channels' group memberships: those Redis confirmed
// (added back when Redis returns without them), and those Redis may hold though no one should
// (a join that timed out, a leave that could not be sent), removed once Redis answers again.
// A failed join leaves no membership behind, here or in Redis.

interface Stale {
  group: string;
  channel: string;
  /** Which marking this is: a removal sent for an older one does not clear a newer one. */
  mark: number;
}

/** `group channel`: group and channel names have no spaces. */
function pair(group: string, channel: string): string {
  return `${group} ${channel}`;
}

export class Memberships {
  private readonly byGroup = new Map<string, Set<string>>();
  private readonly byChannel = new Map<string, Set<string>>();
  /** The latest groupAdd/groupDiscard under way per pair, by number. */
  private readonly latest = new Map<string, number>();
  private readonly stale = new Map<string, Stale>();
  private calls = 0;

  /**
   * A groupAdd or groupDiscard of the pair begins. It supersedes any call on the pair under
   * way (which then changes nothing here when it ends) and any removal still to be made.
   * Returns the call's number, for end().
   */
  begin(group: string, channel: string): number {
    const key = pair(group, channel);
    const n = ++this.calls;
    this.latest.set(key, n);
    this.stale.delete(key);
    return n;
  }

  /** Call `n` on the pair has ended: true when it is still the latest (no later call began). */
  end(group: string, channel: string, n: number): boolean {
    const key = pair(group, channel);
    if (this.latest.get(key) !== n) return false;
    this.latest.delete(key);
    return true;
  }

  has(group: string, channel: string): boolean {
    return this.byGroup.get(group)?.has(channel) ?? false;
  }

  /** Records a membership Redis confirmed. */
  add(group: string, channel: string): void {
    let channels = this.byGroup.get(group);
    if (!channels) this.byGroup.set(group, (channels = new Set()));
    channels.add(channel);
    let groups = this.byChannel.get(channel);
    if (!groups) this.byChannel.set(channel, (groups = new Set()));
    groups.add(group);
  }

  /** Forgets a membership; true when it was recorded. */
  delete(group: string, channel: string): boolean {
    const channels = this.byGroup.get(group);
    if (!channels?.delete(channel)) return false;
    if (channels.size === 0) this.byGroup.delete(group);
    const groups = this.byChannel.get(channel)!;
    groups.delete(group);
    if (groups.size === 0) this.byChannel.delete(channel);
    return true;
  }

  /** Forgets every membership of `channel`; returns its groups. */
  deleteChannel(channel: string): string[] {
    const groups = this.byChannel.get(channel);
    if (!groups) return [];
    const list = [...groups];
    for (const group of list) this.delete(group, channel);
    return list;
  }

  /** The recorded memberships, group by group. */
  groups(): IterableIterator<[string, Set<string>]> {
    return this.byGroup.entries();
  }

  /** Redis may hold this membership though no one should: it is to be removed (takeStale). */
  markStale(group: string, channel: string): void {
    this.stale.set(pair(group, channel), { group, channel, mark: ++this.calls });
  }

  /** The memberships to remove from Redis, of the groups `which` selects. Clear with removed(). */
  takeStale(which: (group: string) => boolean): Stale[] {
    return [...this.stale.values()].filter((s) => which(s.group));
  }

  /** Redis has removed these: forget them, unless marked again since. */
  removed(done: readonly Stale[]): void {
    for (const s of done) {
      const key = pair(s.group, s.channel);
      if (this.stale.get(key)?.mark === s.mark) this.stale.delete(key);
    }
  }

  get staleCount(): number {
    return this.stale.size;
  }

  clear(): void {
    this.byGroup.clear();
    this.byChannel.clear();
    this.stale.clear();
  }
}
