// Type tests for canaljs/client (checked by `tsc -p tsconfig.json`, never run): one union of
// messages types the consumer and the client alike.
import { connect, type MessageOf } from '../../src/client/index.ts';
import { JsonWebsocketConsumer, withReplies, type Handlers } from '../../src/consumers/index.ts';

type Chat = { type: 'chat.message'; text: string; user: string } | { type: 'user.joined'; user: string };
type Sum = { type: 'sum'; n: number };

// The server side: a consumer of the same messages, with replies.
export class ChatConsumer extends withReplies(JsonWebsocketConsumer<Chat>) implements Handlers<Chat> {
  override async receiveJson(content: Chat): Promise<void> {
    await this.reply(content, { type: 'sum', n: 1 });
    await this.replyError(content, 'no');
  }
  async chat_message(event: Extract<Chat, { type: 'chat.message' }>) {
    await this.sendJson(event);
  }
  async user_joined(event: Extract<Chat, { type: 'user.joined' }>) {
    await this.sendJson(event);
  }
}
ChatConsumer.asApp();

export async function typedClient(): Promise<void> {
  const client = connect<Chat>('ws://localhost/ws/');
  client.on('chat.message', (m) => {
    const text: string = m.text;
    void text;
    // @ts-expect-error user.joined has no text
    void m.nope;
  });
  client.on('user.joined', (m) => void m.user);
  // @ts-expect-error a misspelt message type
  client.on('chat.mesage', () => {});
  client.send({ type: 'chat.message', text: 'hi', user: 'ann' });
  // @ts-expect-error a field of the wrong type
  client.send({ type: 'chat.message', text: 1, user: 'ann' });
  // @ts-expect-error a type the client does not declare
  client.send({ type: 'chat.mesage', text: 'hi', user: 'ann' });
  // Another message type, named at the call.
  client.send<Sum>({ type: 'sum', n: 2 });
  const sum = await client.request<Sum>({ type: 'user.joined', user: 'ann' }, { timeoutMs: 100 });
  const n: number = sum.n;
  void n;
  client.onEvent('overflow', (dropped) => void dropped.type);
  client.onEvent('close', ({ code, willRetry }) => void [code, willRetry]);
  // @ts-expect-error no such client event
  client.onEvent('opened', () => {});
}

export function untypedClient(): void {
  const client = connect('ws://localhost/ws/');
  client.on('anything', (m) => void m.whatever);
  client.send({ type: 'x', any: 1 });
  // @ts-expect-error a message needs its type
  client.send({ text: 'hi' });
  const m: MessageOf<Chat, 'user.joined'> = { type: 'user.joined', user: 'x' };
  void m;
}
