// A layer read with a deadline, for tests that check what a consumer sent on the layer: a
// message that never comes fails the test instead of hanging it.
import { TimeoutError } from '../errors.ts';
import type { ChannelLayer, LayerMessage } from '../layers/types.ts';

/**
 * The next message of `channel`, or TimeoutError after `timeoutMs`. A layer receive cannot be
 * cancelled: after a timeout the abandoned read still takes the next message of that channel,
 * so read another channel (or a fresh layer) afterwards.
 */
export function receiveFromLayer<M extends LayerMessage = LayerMessage>(
  layer: ChannelLayer<M>,
  channel: string,
  timeoutMs = 1000,
): Promise<M> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    const message = `nothing arrived on channel ${channel} within ${timeoutMs} ms`;
    timer = setTimeout(() => reject(new TimeoutError(message)), timeoutMs);
  });
  return Promise.race([layer.receive(channel), late]).finally(() => clearTimeout(timer));
}
