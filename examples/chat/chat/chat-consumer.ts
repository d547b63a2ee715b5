// WebSocket /ws/chat/<label>/: the Channels tutorial's room. Each JSON `{handle, message}` is
// stored, then broadcast to the room's group; every member's chat_message sends it on as
// `{"handle", "message", "timestamp"}` — the JSON of the Channels tutorial and of the Django
// reference app, key for key. A bad frame gets `{"error": …}` on that socket only, and the
// socket stays open.
//
// The room page connects with `?after=<id>` (the last message it shows) and `&handle=<name>`;
// such a socket speaks the page's protocol, in which every frame has a `type` (canaljs/client
// dispatches on it):
//
//   server → page   {type: 'chat.message', id, handle, message, timestamp}
//                   {type: 'presence.here', you, people: [{id, handle}]}   once, on connect
//                   {type: 'presence.join' | 'presence.leave', id, handle}
//                   {type: 'chat.error', error}
//   page → server   {type: 'chat.message', handle, message}
//                   {type: 'presence.handle', handle}                      the name changed
//
// On connect the messages stored after `after` are sent first, then the live ones, each once:
// the socket joins the room's group before reading the database, so a message stored during
// the read arrives both ways and its live copy is skipped by id. The page is tracked in the
// room's presence group (withPresence), with an id of its own and its handle.
import { randomUUID } from 'node:crypto';
import { JsonWebsocketConsumer, withPresence, type PresenceEvent } from 'canaljs';
import type { Room } from '../db/store.ts';
import { NO_SETTINGS, type ChatSettings } from '../settings.ts';
import {
  chatEvent,
  checkHandle,
  checkIncoming,
  parseMessageId,
  presenceGroup,
  roomGroup,
  toWire,
  type ChatEvent,
  type WireMessage,
} from './rooms.ts';

/** Messages read from the database per query while a page catches up. */
const REPLAY_PAGE = 100;

type Person = { id: string; handle: string };

function person(meta: PresenceEvent['meta']): Person {
  return { id: String(meta.id ?? ''), handle: typeof meta.handle === 'string' ? meta.handle : '' };
}

export class ChatConsumer extends withPresence(JsonWebsocketConsumer<ChatEvent>) {
  settings: ChatSettings = NO_SETTINGS;
  group = '';
  room: Room | null = null;
  /** Set for a room page (`?after=`): typed frames, catch-up and presence. */
  #page: { here: string; me: Person } | null = null;
  /** Ids the catch-up sent, so the same message arriving live is not sent twice. */
  #replayed = new Set<number>();

  override async connect(): Promise<void> {
    const label = this.scope.url_route.kwargs.label;
    const rawAfter = this.query.get('after');
    const after = rawAfter === null ? null : parseMessageId(rawAfter);
    if (rawAfter !== null && after === null) return this.close(); // refused: 403 at the handshake
    this.room = await (await this.settings.store()).getOrCreateRoom(label);
    this.group = roomGroup(label);
    await this.channelLayer.groupAdd(this.group, this.channelName);
    if (after === null) return this.accept();

    const handle = checkHandle(this.query.get('handle') ?? '');
    this.#page = {
      here: presenceGroup(label),
      me: { id: randomUUID(), handle: typeof handle === 'string' ? handle : '' },
    };
    await this.trackPresence(this.#page.here, this.#page.me);
    await this.accept();
    const people = (await this.listPresence(this.#page.here)).map((e) => person(e.meta));
    await this.sendJson({ type: 'presence.here', you: this.#page.me.id, people });
    await this.#replay(after);
  }

  async #replay(after: number): Promise<void> {
    const store = await this.settings.store();
    for (let last = after; ; ) {
      const missed = await store.messagesAfterId(this.room!, last, REPLAY_PAGE);
      for (const m of missed) {
        this.#replayed.add(m.id);
        await this.#sendMessage(toWire(m));
        last = m.id;
      }
      if (missed.length < REPLAY_PAGE) return;
    }
  }

  override async receiveJson(content: unknown): Promise<void> {
    const type = (content as { type?: unknown } | null)?.type;
    if (this.#page && type === 'presence.handle') {
      const handle = checkHandle((content as { handle?: unknown }).handle);
      if (typeof handle !== 'string') return this.#error(handle.error);
      return this.#rename(handle);
    }
    const checked = checkIncoming(content);
    if ('error' in checked) return this.#error(checked.error);
    const store = await this.settings.store();
    const saved = await store.addMessage(this.room!, checked.handle, checked.message);
    await this.channelLayer.groupSend(this.group, chatEvent(saved));
    await this.#rename(checked.handle);
  }

  /** A page's name changed: its presence entry is tracked again, and the room hears it as a join. */
  async #rename(handle: string): Promise<void> {
    if (!this.#page || this.#page.me.handle === handle) return;
    this.#page.me = { ...this.#page.me, handle };
    await this.trackPresence(this.#page.here, this.#page.me);
  }

  async chat_message(event: ChatEvent): Promise<void> {
    const { type: _, ...message } = event;
    if (!this.#page) {
      await this.sendJson({ handle: message.handle, message: message.message, timestamp: message.timestamp });
      return;
    }
    // Compared as a set, not as "newer than the last": two servers may broadcast their
    // messages in another order than the database numbered them.
    if (this.#replayed.delete(message.id)) return;
    await this.#sendMessage(message);
  }

  async #sendMessage(m: WireMessage): Promise<void> {
    await this.sendJson({ type: 'chat.message', ...m });
  }

  override async presence_join(event: PresenceEvent): Promise<void> {
    await this.sendJson({ type: 'presence.join', ...person(event.meta) });
  }

  override async presence_leave(event: PresenceEvent): Promise<void> {
    await this.sendJson({ type: 'presence.leave', ...person(event.meta) });
  }

  async #error(error: string): Promise<void> {
    await this.sendJson(this.#page ? { type: 'chat.error', error } : { error });
  }

  override async onInvalidJson(): Promise<void> {
    await this.#error('invalid JSON');
  }

  override async onBinaryFrame(): Promise<void> {
    await this.#error('expected a text frame');
  }

  override async disconnect(): Promise<void> {
    if (this.group) await this.channelLayer.groupDiscard(this.group, this.channelName);
  }
}
