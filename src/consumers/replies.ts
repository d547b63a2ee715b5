// The server half of canaljs/client's request(): a request carries a `_ref` field, and its
// reply carries the same `_ref` back. `withReplies(JsonWebsocketConsumer)` adds reply() and
// replyError() to a JSON consumer class.
import type { TypedMessage } from '../layers/types.ts';
import { reserveApiNames } from './handlers.ts';
import type { JsonWebsocketConsumer } from './json-websocket-consumer.ts';

/** The field that pairs a request with its reply (the client's REF). */
export const REPLY_REF = '_ref';
/** The field of a reply that makes the client's request() reject with its text. */
export const REPLY_ERROR = '_error';

// biome-ignore lint/suspicious/noExplicitAny: a mixin's base takes any constructor arguments, as TypeScript requires
type JsonConsumerClass = abstract new (...args: any[]) => JsonWebsocketConsumer<any, any>;

/** The `_ref` of a decoded request, if it has one. */
function refOf(request: unknown): unknown {
  return request !== null && typeof request === 'object' ? (request as Record<string, unknown>)[REPLY_REF] : undefined;
}

/** What withReplies() adds to a consumer. */
export interface Replying {
  reply<R extends TypedMessage>(request: object, body: R): Promise<void>;
  replyError(request: object, message: string): Promise<void>;
}

/**
 * `class Orders extends withReplies(JsonWebsocketConsumer<OrderMessages>)`: the class with
 * `reply(request, body)` and `replyError(request, message)`.
 */
// biome-ignore lint/suspicious/noExplicitAny: a mixin's class takes any constructor arguments, as TypeScript requires
export function withReplies<B extends JsonConsumerClass>(Base: B): B & (abstract new (...args: any[]) => Replying) {
  abstract class WithReplies extends Base {
    /**
     * Answers `request` with `body` and the request's `_ref`; the client's request() resolves
     * with it. A request sent without `_ref` (the client's send()) gets `body` as it is.
     */
    async reply<R extends TypedMessage>(request: object, body: R): Promise<void> {
      const ref = refOf(request);
      await this.sendJson(ref === undefined ? body : { ...body, [REPLY_REF]: ref });
    }

    /** Answers `request` with an error: the client's request() rejects with `message`. */
    async replyError(request: object, message: string): Promise<void> {
      const ref = refOf(request);
      if (ref === undefined) await this.sendJson({ type: 'error', [REPLY_ERROR]: message });
      else await this.sendJson({ type: 'error', [REPLY_REF]: ref, [REPLY_ERROR]: message });
    }
  }
  reserveApiNames(WithReplies.prototype);
  return WithReplies;
}
