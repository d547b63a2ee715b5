// GET /poll/<label>/[?after=<id>]: long-polling for clients without WebSockets. The request is
// held until the room's next message (answered as JSON, as the WebSocket sends it) or until
// pollTimeoutMs passes (204: ask again). With `after`, a message the client has not seen yet
// is answered at once, so a client that polls in a loop with its last id misses nothing.
// The timeout comes back as a message on the consumer's own channel, so it is handled in turn
// with room messages and the request is answered exactly once.
import { HttpConsumer } from 'canaljs';
import { createLogger } from 'canaljs';
import { refuseMethod, sendJson } from '../pages/responses.ts';
import { NO_SETTINGS, type ChatSettings } from '../settings.ts';
import { leaveRoom, parseMessageId, roomGroup, toWire, type ChatEvent } from './rooms.ts';

const log = createLogger('chat:poll');

type PollEvent = ChatEvent | { type: 'poll.timeout' };

export class LongPollConsumer extends HttpConsumer<PollEvent> {
  settings: ChatSettings = NO_SETTINGS;
  group = '';
  #timer: NodeJS.Timeout | null = null;
  #answered = false;

  override async handle(): Promise<void> {
    if (await refuseMethod(this, ['GET'])) return;
    const raw = this.query.get('after');
    const after = raw === null ? null : parseMessageId(raw);
    if (raw !== null && after === null) {
      const error = `after must be a message id (a whole number ≥ 0), not ${JSON.stringify(raw)}`;
      return sendJson(this, 400, { error });
    }
    const label = this.scope.url_route.kwargs.label;
    this.group = roomGroup(label);
    // Join first, then look back: a message stored in between arrives both ways, not neither.
    await this.channelLayer.groupAdd(this.group, this.channelName);
    if (after !== null) {
      const store = await this.settings.store();
      const [missed] = await store.messagesAfterId(await store.getOrCreateRoom(label), after, 1);
      if (missed) return this.#answer(200, toWire(missed));
    }
    this.#timer = setTimeout(() => {
      this.channelLayer.send(this.channelName, { type: 'poll.timeout' }).catch((err: Error) => {
        // The layer refused the timeout message (its queue is full or Redis is away): answer
        // from here; if even that fails the client has gone, and there is nobody to tell.
        log.debug(`poll on ${this.group}: timeout message not sent (${err.message}); answering 204 directly`);
        this.#answer(204, null).catch((e: Error) =>
          log.debug(`poll on ${this.group}: the 204 was not sent (${e.message})`),
        );
      });
    }, this.settings.pollTimeoutMs);
  }

  async chat_message(event: ChatEvent): Promise<void> {
    const { type: _, ...message } = event;
    await this.#answer(200, message);
  }

  async poll_timeout(): Promise<void> {
    await this.#answer(204, null);
  }

  async #answer(status: number, content: unknown): Promise<void> {
    if (this.#answered) return;
    this.#answered = true;
    if (status === 204) await this.sendResponse(204, '', [['cache-control', 'no-store']]);
    else await sendJson(this, status, content);
  }

  override async disconnect(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await leaveRoom(this);
  }
}
