// withPresence(Base): a WebSocket consumer that tracks itself in groups and is untracked as it
// ends — when the socket closes, and also when a handler throws — so a closed socket leaves at
// once. `class Room extends withPresence(JsonWebsocketConsumer) { … await this.trackPresence(room, meta) … }`
import { InvalidOptionError } from '../errors.ts';
import { createLogger, RepeatedLog } from '../logging.ts';
import { reserveApiNames } from '../consumers/handlers.ts';
import type { WebsocketConsumer } from '../consumers/websocket-consumer.ts';
import type { ChannelLayer } from '../layers/types.ts';
import {
  presenceFor,
  type PresenceEntry,
  type PresenceEvent,
  type PresenceMeta,
  type PresenceOptions,
} from './presence.ts';

const failures = new RepeatedLog(createLogger('presence'), 'warn');

/** What withPresence adds to a consumer. */
export interface PresenceTracking {
  /**
   * Joins `group` (as groupAdd does) and tracks this consumer's channel in it with `meta`: the
   * group's members get `presence.join`. Untracked and left when the consumer ends.
   */
  trackPresence(group: string, meta?: PresenceMeta): Promise<PresenceEntry>;
  /** Untracks and leaves `group` before the consumer ends: the members get `presence.leave`. */
  untrackPresence(group: string): Promise<void>;
  /** Who is in `group` now, from every process. */
  listPresence(group: string): Promise<PresenceEntry[]>;
  /** A member joined one of this consumer's groups (itself included). Does nothing unless overridden. */
  presence_join(event: PresenceEvent): Promise<void> | void;
  /** A member left one of this consumer's groups. Does nothing unless overridden. */
  presence_leave(event: PresenceEvent): Promise<void> | void;
}

// biome-ignore lint/suspicious/noExplicitAny: a mixin's base takes any constructor arguments
type WebsocketConsumerClass = new (...args: any[]) => WebsocketConsumer<any, any>;

/** The class withPresence makes: Base's statics, and instances with PresenceTracking besides Base's members. */
export type WithPresence<C extends WebsocketConsumerClass> = Omit<C, 'prototype'> &
  (new (
    ...args: ConstructorParameters<C>
  ) => InstanceType<C> & PresenceTracking);

/** The groups each instance tracks itself in (kept off the instance: init options are its own fields). */
const trackedGroups = new WeakMap<object, Set<string>>();

/**
 * `Base` (WebsocketConsumer, JsonWebsocketConsumer or a subclass) with presence. `options` are
 * those of the layer's shared Presence (presenceFor).
 */
export function withPresence<C extends WebsocketConsumerClass>(Base: C, options?: PresenceOptions): WithPresence<C> {
  class PresenceConsumer extends Base implements PresenceTracking {
    async trackPresence(group: string, meta: PresenceMeta = {}): Promise<PresenceEntry> {
      const layer = this.channelLayer as unknown as ChannelLayer | undefined;
      if (!layer) {
        throw new InvalidOptionError(
          `${this.constructor.name}.trackPresence() needs a channel layer, but channelLayerAlias is null`,
        );
      }
      const presence = presenceFor(layer, options);
      let groups = trackedGroups.get(this);
      if (!groups) trackedGroups.set(this, (groups = new Set()));
      groups.add(group);
      await layer.groupAdd(group, this.channelName);
      return presence.track(group, this.channelName, meta);
    }

    async untrackPresence(group: string): Promise<void> {
      if (!trackedGroups.get(this)?.delete(group)) return;
      const layer = this.channelLayer as unknown as ChannelLayer;
      // Left first, so this consumer is not sent its own leave.
      await layer.groupDiscard(group, this.channelName);
      await presenceFor(layer, options).untrack(group, this.channelName);
    }

    listPresence(group: string): Promise<PresenceEntry[]> {
      return presenceFor(this.channelLayer as unknown as ChannelLayer, options).list(group);
    }

    presence_join(event: PresenceEvent): Promise<void> | void {
      void event;
    }

    presence_leave(event: PresenceEvent): Promise<void> | void {
      void event;
    }

    protected override async cleanUp(): Promise<void> {
      for (const group of [...(trackedGroups.get(this) ?? [])]) {
        // Best effort, as leaving the static groups is: the consumer ends whatever happens.
        await this.untrackPresence(group).catch((err: Error) =>
          failures.note(
            'untrack on end',
            `${this.constructor.name}: could not untrack ${this.channelName} from ${group} (${err.message})`,
          ),
        );
      }
      await super.cleanUp();
    }
  }
  reserveApiNames(PresenceConsumer.prototype);
  return PresenceConsumer as unknown as WithPresence<C>;
}
