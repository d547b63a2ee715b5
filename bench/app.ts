// The bench contract (../shared/bench/CONTRACT.md) built from Canal's real pieces:
// ProtocolTypeRouter + URLRouter + consumers, and the channel layer's groupSend for
// /bench/group/<name>/. Every group delivery goes through a consumer's handler, as an app's
// would. PORT and LAYER (memory | redis | redis-pubsub) are read by `canal serve`.
import { ProtocolTypeRouter, URLRouter, path } from '../src/routing/index.ts';
import { HttpConsumer, WebsocketConsumer, type Frame } from '../src/consumers/index.ts';
import type { Application } from '../src/asgi/types.ts';

const HELLO = Buffer.from('hello world');
const HELLO_HEADERS: [string, string][] = [
  ['content-type', 'text/plain'],
  ['content-length', String(HELLO.length)],
];

class Hello extends HttpConsumer {
  static override channelLayerAlias = null;
  override async handle(): Promise<void> {
    await this.sendResponse(
      200,
      this.scope.type === 'http' && this.scope.method === 'HEAD' ? '' : HELLO,
      HELLO_HEADERS,
    );
  }
}

class Echo extends WebsocketConsumer {
  static override channelLayerAlias = null;
  override async receive(frame: Frame): Promise<void> {
    await this.send(frame);
  }
}

type GroupMessage = { type: 'group.message'; text?: string | null; bytes?: Uint8Array | null };

class Group extends WebsocketConsumer<GroupMessage> {
  group = '';
  override async connect(): Promise<void> {
    this.group = this.scope.url_route!.kwargs.name as string;
    await this.channelLayer.groupAdd(this.group, this.channelName);
    await this.accept();
  }
  override async receive(frame: Frame): Promise<void> {
    await this.channelLayer.groupSend(this.group, {
      type: 'group.message',
      text: frame.text ?? null,
      bytes: frame.bytes ?? null,
    });
  }
  async group_message(event: GroupMessage): Promise<void> {
    await this.send(event.text != null ? { text: event.text } : { bytes: event.bytes! });
  }
  override async disconnect(): Promise<void> {
    await this.channelLayer.groupDiscard(this.group, this.channelName);
  }
}

const application: Application = ProtocolTypeRouter({
  http: URLRouter([path('bench/hello', Hello.asApp())]),
  websocket: URLRouter([path('bench/echo/', Echo.asApp()), path('bench/group/<str:name>/', Group.asApp())]),
});

export default application;
