// WebSocket /ws/chat/<label>/: the Channels tutorial's room. Each JSON `{handle, message}` is
// stored, then broadcast to the room's group; every member's chat_message sends it on as
// `{"handle", "message", "timestamp"}` — the JSON of the Channels tutorial and of the Django
// reference app, key for key. A bad frame gets `{"error": …}` on that socket only, and the
// socket stays open.
import { JsonWebsocketConsumer } from 'canaljs';
import type { Room } from '../db/store.ts';
import { NO_SETTINGS, type ChatSettings } from '../settings.ts';
import { chatEvent, checkIncoming, roomGroup, type ChatEvent } from './rooms.ts';

export class ChatConsumer extends JsonWebsocketConsumer<ChatEvent> {
  settings: ChatSettings = NO_SETTINGS;
  group = '';
  room: Room | null = null;

  override async connect(): Promise<void> {
    const label = this.scope.url_route.kwargs.label;
    this.room = await (await this.settings.store()).getOrCreateRoom(label);
    this.group = roomGroup(label);
    await this.channelLayer.groupAdd(this.group, this.channelName);
    await this.accept();
  }

  override async receiveJson(content: unknown): Promise<void> {
    const checked = checkIncoming(content);
    if ('error' in checked) return this.sendJson({ error: checked.error });
    const store = await this.settings.store();
    const saved = await store.addMessage(this.room!, checked.handle, checked.message);
    await this.channelLayer.groupSend(this.group, chatEvent(saved));
  }

  async chat_message(event: ChatEvent): Promise<void> {
    await this.sendJson({ handle: event.handle, message: event.message, timestamp: event.timestamp });
  }

  override async onInvalidJson(): Promise<void> {
    await this.sendJson({ error: 'invalid JSON' });
  }

  override async onBinaryFrame(): Promise<void> {
    await this.sendJson({ error: 'expected a text frame' });
  }

  override async disconnect(): Promise<void> {
    if (this.group) await this.channelLayer.groupDiscard(this.group, this.channelName);
  }
}
