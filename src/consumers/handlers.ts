// Handler names from event types (`chat.message` → `chat_message`), the names that are never
// handlers, and the helper type that checks a consumer has a handler for each message it declares.
import type { TypedMessage } from '../layers/types.ts';

type Underscored<S extends string> = S extends `${infer A}.${infer B}` ? `${A}_${Underscored<B>}` : S;

/**
 * `class Chat extends WebsocketConsumer<ChatMessage> implements Handlers<ChatMessage>` makes
 * the compiler check a `chat_message(event)` method exists for `{ type: 'chat.message' }`,
 * and that it takes that message.
 */
export type Handlers<M extends TypedMessage> = {
  [T in M['type'] as Underscored<T>]: (event: Extract<M, { type: T }>) => unknown;
};

const names = new Map<string, string>();

export function handlerName(type: string): string {
  let name = names.get(type);
  if (name === undefined) {
    name = type.replace(/\./g, '_');
    // Bounded: types normally come from a small fixed set; a flood of distinct ones is not cached.
    if (names.size < 10_000) names.set(type, name);
  }
  return name;
}

// The consumers' own API (send, close, accept, run, …) and Object's methods. A message whose
// type is `close` must not call close(); protocol handlers all hold an underscore, so only
// names without one are reserved.
const reserved = new Set<string>(Object.getOwnPropertyNames(Object.prototype));

// type → handler name, for types whose name may be dispatched (one lookup on the hot path).
const dispatchable = new Map<string, string>();

/** Marks the camelCase methods of a built-in consumer class as not dispatchable. */
export function reserveApiNames(proto: object): void {
  for (const name of Object.getOwnPropertyNames(proto)) if (!name.includes('_')) reserved.add(name);
  dispatchable.clear();
}

/** The handler name for `type`, or null when it is refused (starts with `_`, or reserved). */
export function dispatchableName(type: string): string | null {
  const cached = dispatchable.get(type);
  if (cached !== undefined) return cached;
  const name = handlerName(type);
  if (name.charCodeAt(0) === 95 /* _ */ || reserved.has(name)) return null;
  if (dispatchable.size < 10_000) dispatchable.set(type, name);
  return name;
}
