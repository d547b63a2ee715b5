// Handler names from event types (`chat.message` → `chat_message`) and the helper type that
// checks a consumer has a handler of the right shape for each message it declares.
import type { LayerMessage } from '../layers/types.js';

type Underscored<S extends string> = S extends `${infer A}.${infer B}` ? `${A}_${Underscored<B>}` : S;

/**
 * `class Chat extends WebsocketConsumer<ChatMessage> implements Handlers<ChatMessage>` makes
 * the compiler check a `chat_message(event)` method exists for `{ type: 'chat.message' }`.
 */
export type Handlers<M extends LayerMessage> = {
  [T in M['type'] as Underscored<T>]: (event: Extract<M, { type: T }>) => unknown;
};

const names = new Map<string, string>();

export function handlerName(type: string): string {
  let name = names.get(type);
  if (name === undefined) {
    name = type.replace(/\./g, '_');
    if (names.size < 10_000) names.set(type, name);
  }
  return name;
}
