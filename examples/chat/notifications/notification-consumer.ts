// WebSocket /ws/notifications/: every socket is in group `gossip` (static groups are joined on
// connect and left on disconnect) and gets each `name.gossip` event as JSON.
import { JsonWebsocketConsumer } from 'canaljs';

export type GossipEvent = { type: 'name.gossip'; event: string; message: string };

export class NotificationConsumer extends JsonWebsocketConsumer<GossipEvent> {
  static override groups = ['gossip'];

  async name_gossip(event: GossipEvent): Promise<void> {
    await this.sendJson(event);
  }
}
