// The WebSocket side every example mounts beside its framework: echoes each frame back.
import { WebsocketConsumer, type Frame } from '../../src/index.js';

export class EchoConsumer extends WebsocketConsumer {
  override async receive(frame: Frame): Promise<void> {
    await this.send(frame);
  }
}
