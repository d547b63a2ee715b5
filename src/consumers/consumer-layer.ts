// The channel layer as a consumer sees it: `send` and `groupSend` check a message against the
// consumer's own message types, so a misspelt type or a missing field does not compile. A
// message of another type (a job for a worker, a reply) names its type at the call:
// `this.channelLayer.send<ThumbnailMake>('thumbnails', { type: 'thumbnail.make', id })`.
import type { ChannelLayer, LayerMessage } from '../layers/types.ts';

export interface ConsumerLayer<M extends LayerMessage = LayerMessage>
  extends Omit<ChannelLayer<M>, 'send' | 'groupSend'> {
  /** Queues `message` on `channel`: one of the consumer's types, or of the type named as `send<T>`. */
  send<T extends LayerMessage = M>(channel: string, message: NoInfer<T>): Promise<void>;
  /** Sends to every member of `group`: one of the consumer's types, or of the type named as `groupSend<T>`. */
  groupSend<T extends LayerMessage = M>(group: string, message: NoInfer<T>): Promise<void>;
}
