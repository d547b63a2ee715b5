// Type tests for consumers' scopes, route kwargs, the query helper and layer sends of other
// message types (checked by `tsc -p tsconfig.json`, never run). Each `@ts-expect-error` line
// must fail to compile; if it ever compiles, tsc reports the unused directive.
import {
  AsyncConsumer,
  HttpConsumer,
  JsonWebsocketConsumer,
  WebsocketConsumer,
  type ConsumerLayer,
  type Handlers,
} from '../../src/consumers/index.ts';
import { queryParams } from '../../src/request/query-params.ts';
import type { ChannelScope, HttpScope, RoutedScope, Scope, WebsocketScope } from '../../src/asgi/types.ts';
import type { ChannelLayer, LayerMessage } from '../../src/layers/types.ts';

// An HttpConsumer's scope is the HTTP scope: no narrowing by hand.
class Page extends HttpConsumer {
  override async handle(): Promise<void> {
    const path: string = this.scope.path;
    const method: string = this.scope.method;
    const scheme: 'http' | 'https' = this.scope.scheme;
    const room: string = this.scope.url_route.kwargs.room;
    const page: string | null = this.query.get('page');
    const tags: string[] = this.query.getAll('tag');
    const http: HttpScope = this.scope;
    // @ts-expect-error an HTTP scope has no subprotocols
    void this.scope.subprotocols;
    // @ts-expect-error nor is it a channel scope
    void this.scope.channel;
    // @ts-expect-error kwargs are strings by default
    const n: number = this.scope.url_route.kwargs.room;
    void [path, method, scheme, room, page, tags, http, n];
  }
}

// A WebsocketConsumer's (and JsonWebsocketConsumer's) scope is the WebSocket scope.
class Socket extends WebsocketConsumer {
  override async connect(): Promise<void> {
    const offered: string[] = this.scope.subprotocols;
    const scheme: 'ws' | 'wss' = this.scope.scheme;
    const token: string | null = this.query.get('token');
    const label: string = this.scope.url_route.kwargs.label;
    const ws: WebsocketScope = this.scope;
    // @ts-expect-error a WebSocket scope has no method
    void this.scope.method;
    void [offered, scheme, token, label, ws];
    await this.accept(offered[0] ?? null);
  }
}

class JsonSocket extends JsonWebsocketConsumer {
  override async receiveJson(): Promise<void> {
    const { path, subprotocols } = this.scope;
    await this.sendJson({ path, subprotocols, room: this.scope.url_route.kwargs.room });
  }
}

// Route kwargs of another shape: `<int:id>` is a number.
class Thumbnail extends HttpConsumer<LayerMessage, { id: number }> {
  override async handle(): Promise<void> {
    const id: number = this.scope.url_route.kwargs.id;
    // @ts-expect-error the kwargs say id is a number
    const s: string = this.scope.url_route.kwargs.id;
    void [id, s];
  }
}

type Room = { type: 'room.message'; text: string };
class Typed extends JsonWebsocketConsumer<Room, { room: string; page: number }> implements Handlers<Room> {
  async room_message(event: Room): Promise<void> {
    const page: number = this.scope.url_route.kwargs.page;
    await this.sendJson({ text: event.text, room: this.scope.url_route.kwargs.room, page });
  }
}

// A consumer sends messages of other types (a job for a worker) by naming the type.
type ThumbnailMake = { type: 'thumbnail.make'; id: number };
type Gossip = { type: 'name.gossip'; message: string };

class Upload extends HttpConsumer<Room> implements Handlers<Room> {
  override async handle(): Promise<void> {
    await this.channelLayer.send<ThumbnailMake>('thumbnails', { type: 'thumbnail.make', id: 1 });
    await this.channelLayer.groupSend<Gossip>('gossip', { type: 'name.gossip', message: 'hi' });
    await this.channelLayer.groupSend('room', { type: 'room.message', text: 'its own type, unnamed' });
    // @ts-expect-error the named type is checked: id is a number
    await this.channelLayer.send<ThumbnailMake>('thumbnails', { type: 'thumbnail.make', id: '1' });
    // @ts-expect-error a misspelt type of the named type
    await this.channelLayer.send<ThumbnailMake>('thumbnails', { type: 'thumbnail.mak', id: 1 });
    // @ts-expect-error a message of another type must name its type
    await this.channelLayer.send('thumbnails', { type: 'thumbnail.make', id: 1 });
    // @ts-expect-error the named type must be a layer message
    await this.channelLayer.send<{ id: number }>('thumbnails', { id: 1 });
  }
  async room_message(event: Room): Promise<void> {
    await this.sendResponse(200, event.text);
  }
}

// A consumer that declares no messages sends any layer message.
class Untyped extends WebsocketConsumer {
  override async connect(): Promise<void> {
    await this.channelLayer.send('thumbnails', { type: 'thumbnail.make', id: 1 });
    await this.channelLayer.groupSend('gossip', { type: 'anything', nested: { ok: true } });
  }
}

// A worker consumer may declare its channel scope.
class Worker extends AsyncConsumer<ThumbnailMake, ChannelScope> implements Handlers<ThumbnailMake> {
  async thumbnail_make(message: ThumbnailMake): Promise<void> {
    const channel: string = this.scope.channel;
    void [channel, message.id];
  }
}

// The plain AsyncConsumer keeps the scope union: narrowing is the code's to do.
class Raw extends AsyncConsumer {
  async websocket_connect(): Promise<void> {
    // @ts-expect-error any scope: a lifespan or channel scope has no path
    void this.scope.path;
    if (this.scope.type === 'websocket') void this.scope.path;
  }
}

// The consumer's layer still goes where a layer is wanted.
function leave(layer: Pick<ChannelLayer, 'groupDiscard' | 'send'>): void {
  void layer;
}
export function passLayer(c: Upload, u: Untyped): ConsumerLayer<Room> {
  leave(c.channelLayer);
  leave(u.channelLayer);
  return c.channelLayer;
}

// queryParams works on any scope, and on RoutedScope.
export function query(scope: Scope, routed: RoutedScope<HttpScope>): string | null {
  return queryParams(scope).get('a') ?? queryParams(routed).get('b');
}

export { Page, Socket, JsonSocket, Thumbnail, Typed, Upload, Untyped, Worker, Raw };

// Message types declared with `interface` (no index signature) type a consumer as `type` aliases do.
{
  interface Ping {
    type: 'ping.sent';
    at: number;
  }
  interface Job {
    type: 'job.run';
    id: string;
  }
  class InterfaceTyped extends JsonWebsocketConsumer<Ping> {
    async ping_sent(event: Ping) {
      await this.sendJson({ at: event.at });
      await this.channelLayer.groupSend('pings', { type: 'ping.sent', at: 1 });
      await this.channelLayer.send<Job>('jobs', { type: 'job.run', id: 'a' });
      // @ts-expect-error a field of the wrong type
      await this.channelLayer.groupSend('pings', { type: 'ping.sent', at: 'now' });
    }
  }
  void InterfaceTyped;
}
