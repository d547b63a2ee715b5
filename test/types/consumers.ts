// Type tests for typed consumer messages (checked by `tsc -p tsconfig.json`, never run).
// Each `@ts-expect-error` line must fail to compile; if it ever compiles, tsc reports the
// unused directive, so these tests fail when the typing is loosened.
import {
  AsyncJsonWebsocketConsumer,
  AsyncWebsocketConsumer,
  HttpConsumer,
  JsonWebsocketConsumer,
  WebsocketConsumer,
  type Handlers,
} from '../../src/consumers/index.ts';
import type { Application } from '../../src/asgi/types.ts';

type ChatMessages =
  | { type: 'chat.message'; text: string; user: string }
  | { type: 'user.joined'; user: string }
  | { type: 'game.score.updated'; score: number };

// A consumer that declares its messages and implements a handler for each.
class Chat extends WebsocketConsumer<ChatMessages> implements Handlers<ChatMessages> {
  room = 'lobby';

  override async receive({ text }: { text?: string }): Promise<void> {
    await this.channelLayer.groupSend(this.room, { type: 'chat.message', text: text ?? '', user: 'ann' });
    await this.channelLayer.send(this.channelName, { type: 'user.joined', user: 'bob' });
    await this.channelLayer.groupSend(this.room, { type: 'game.score.updated', score: 3 });

    // @ts-expect-error a misspelt message type
    await this.channelLayer.groupSend(this.room, { type: 'chat.mesage', text: 'hi', user: 'ann' });
    // @ts-expect-error a field of the wrong type
    await this.channelLayer.groupSend(this.room, { type: 'chat.message', text: 42, user: 'ann' });
    // @ts-expect-error a missing field
    await this.channelLayer.groupSend(this.room, { type: 'user.joined' });
    // @ts-expect-error a field of another message type
    await this.channelLayer.send(this.channelName, { type: 'game.score.updated', score: 1, text: 'x' });
  }

  async chat_message(event: { type: 'chat.message'; text: string; user: string }): Promise<void> {
    const text: string = event.text;
    await this.send({ text });
  }

  async user_joined(event: Extract<ChatMessages, { type: 'user.joined' }>): Promise<void> {
    await this.send(`${event.user} joined`);
  }

  // Dots become underscores at every level.
  game_score_updated(event: Extract<ChatMessages, { type: 'game.score.updated' }>): void {
    const n: number = event.score;
    void n;
  }
}

// @ts-expect-error a declared message type without its handler (user_joined, game_score_updated)
class MissingHandler extends WebsocketConsumer<ChatMessages> implements Handlers<ChatMessages> {
  async chat_message(event: Extract<ChatMessages, { type: 'chat.message' }>): Promise<void> {
    void event;
  }
}

type Ping = { type: 'ping'; at: number };

class WrongHandler extends JsonWebsocketConsumer<Ping> implements Handlers<Ping> {
  // @ts-expect-error a handler that takes the wrong message shape
  async ping(event: { type: 'ping'; at: string }): Promise<void> {
    void event;
  }
}

class Pinger extends AsyncJsonWebsocketConsumer<Ping> implements Handlers<Ping> {
  async ping(event: Ping): Promise<void> {
    await this.sendJson({ pong: event.at });
  }
}

// Long-poll HTTP consumers can declare their messages too.
type News = { type: 'news.posted'; headline: string };
class Poll extends HttpConsumer<News> implements Handlers<News> {
  override async handle(): Promise<void> {
    await this.channelLayer.groupAdd('news', this.channelName);
    // @ts-expect-error headline is a string
    await this.channelLayer.groupSend('news', { type: 'news.posted', headline: null });
  }
  async news_posted(event: News): Promise<void> {
    await this.sendResponse(200, event.headline);
  }
}

// The Async* names are the same classes, usable as values and types.
const alias: typeof WebsocketConsumer = AsyncWebsocketConsumer;
class Legacy extends AsyncWebsocketConsumer {}
const legacy: WebsocketConsumer = new Legacy();

// asApp init options: only the class's fields, with their types. (Never called at run time.)
export function apps(): Application[] {
  const good: Application[] = [
    Chat.asApp(),
    Chat.asApp({ room: 'kitchen' }),
    Poll.asApp({ maxBodyBytes: 1024 }),
    Pinger.asApp(),
  ];
  // @ts-expect-error an unknown init option
  Chat.asApp({ rooom: 'kitchen' });
  // @ts-expect-error an init option of the wrong type
  Chat.asApp({ room: 7 });
  // @ts-expect-error methods are not init options
  Chat.asApp({ chat_message: async () => {} });
  return good;
}

export { alias, legacy, MissingHandler, WrongHandler };
