// GET /chat/<label>/messages/?after=<id>: the room's messages after the one a page saw last,
// oldest first (at most 100), so a client that was away can catch up without gaps. (The room
// page catches up through its socket instead: chat-consumer.ts replays from `?after=`.)
import { HttpConsumer } from 'canaljs';
import { refuseMethod, sendJson } from '../pages/responses.ts';
import { NO_SETTINGS, type ChatSettings } from '../settings.ts';
import { parseMessageId, toWire } from './rooms.ts';

export class RoomHistory extends HttpConsumer {
  static override channelLayerAlias = null;
  settings: ChatSettings = NO_SETTINGS;

  override async handle(): Promise<void> {
    if (await refuseMethod(this, ['GET'])) return;
    const raw = this.query.get('after') ?? '0';
    const after = parseMessageId(raw);
    if (after === null) {
      return sendJson(this, 400, {
        error: `after must be a message id (a whole number ≥ 0), not ${JSON.stringify(raw)}`,
      });
    }
    const store = await this.settings.store();
    const room = await store.getOrCreateRoom(this.scope.url_route.kwargs.label);
    const messages = await store.messagesAfterId(room, after, 100);
    await sendJson(this, 200, { messages: messages.map(toWire) });
  }
}
