// The channel layer as a consumer sees it: `send` and `groupSend` check a message against the
// consumer's own message types, so a misspelt type or a missing field does not compile. A
// message of another type (a job for a worker, a reply) names its type at the call:
// `this.channelLayer.send<ThumbnailMake>('thumbnails', { type: 'thumbnail.make', id })`.
import type { ChannelLayer, LayerMessage, TypedMessage } from '../layers/types.ts';

export interface ConsumerLayer<M extends TypedMessage = LayerMessage>
  extends Omit<ChannelLayer<M & LayerMessage>, 'send' | 'groupSend'> {
  /** Queues `message` on `channel`: one of the consumer's types, or of the type named as `send<T>`. */
  send<T extends TypedMessage = M>(channel: string, message: NoInfer<T>): Promise<void>;
  /** Sends to every member of `group`: one of the consumer's types, or of the type named as `groupSend<T>`. */
  groupSend<T extends TypedMessage = M>(group: string, message: NoInfer<T>): Promise<void>;
}
