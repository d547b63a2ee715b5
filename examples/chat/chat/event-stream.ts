// GET /events/<label>/: the room's messages as Server-Sent Events (`event: message`, the JSON
// the WebSocket sends, `id:` the message id). A browser's EventSource reconnects by itself and
// sends Last-Event-ID; the messages after it are replayed from the database first. The stream
// leaves the room's group when the client goes away.
import { HttpConsumer } from 'canaljs';
import { createLogger, requestHeader } from 'canaljs';
import { refuseMethod, sendJson } from '../pages/responses.ts';
import { NO_SETTINGS, type ChatSettings } from '../settings.ts';
import { leaveRoom, parseMessageId, roomGroup, toWire, type ChatEvent, type WireMessage } from './rooms.ts';

const log = createLogger('chat:events');

export class EventStreamConsumer extends HttpConsumer<ChatEvent> {
  settings: ChatSettings = NO_SETTINGS;
  group = '';
  /** Ids sent by the replay, so the same message arriving live is not sent twice. */
  #replayed = new Set<number>();
  #keepAlive: NodeJS.Timeout | null = null;

  override async handle(): Promise<void> {
    if (await refuseMethod(this, ['GET'])) return;
    const lastEventId = requestHeader(this.scope.headers, 'last-event-id');
    const after = lastEventId === null ? null : parseMessageId(lastEventId);
    if (lastEventId !== null && after === null) {
      return sendJson(this, 400, { error: `Last-Event-ID must be a message id, not ${JSON.stringify(lastEventId)}` });
    }
    const label = this.scope.url_route.kwargs.label;
    this.group = roomGroup(label);
    await this.channelLayer.groupAdd(this.group, this.channelName);
    await this.startEventStream();
    await this.sendEvent({ event: 'ready', data: { room: label } });
    if (after !== null) {
      const store = await this.settings.store();
      for (const m of await store.messagesAfterId(await store.getOrCreateRoom(label), after, 100)) {
        this.#replayed.add(m.id);
        await this.#send(toWire(m));
      }
    }
    this.#keepAlive = setInterval(() => {
      this.sendComment('keep-alive').catch((err: Error) =>
        log.debug(`keep-alive on ${this.group} failed: ${err.message}`),
      );
    }, this.settings.sseKeepAliveMs);
  }

  async chat_message(event: ChatEvent): Promise<void> {
    const { type: _, ...message } = event;
    // Ids are compared as a set, not as "newer than the last": two servers may broadcast
    // their messages in another order than the database numbered them.
    if (this.#replayed.delete(message.id)) return;
    await this.#send(message);
  }

  async #send(message: WireMessage): Promise<void> {
    await this.sendEvent({ event: 'message', id: String(message.id), data: message });
  }

  override async disconnect(): Promise<void> {
    if (this.#keepAlive) clearInterval(this.#keepAlive);
    this.#keepAlive = null;
    await leaveRoom(this);
  }
}
