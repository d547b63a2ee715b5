// HistoryFeed: one connection's view of a group with history. It joins the group, sends what
// the client missed since its last offset, then the live messages, in offset order, each once:
//   1. join the group first: live messages from then on reach the consumer's channel and wait;
//   2. read the history after the client's offset and deliver it;
//   3. live messages are then taken in turn: an offset already delivered is skipped, the next
//      one is delivered, and one further ahead (a message dropped on the way, or one sent by
//      another process that reached the group first) is preceded by the missing ones, read
//      from the history, where every message is before it is sent to the group.
// Operations run one at a time, in call order, so a live message that comes while the history
// is read waits for it, whether or not the caller is a consumer handler.
import type { LayerMessage } from '../layers/types.ts';
import type { GroupHistory } from './group-history.ts';
import type { GapReason, HistoryPosition, StampedMessage } from './types.ts';

export interface HistoryFeedOptions<M extends LayerMessage> {
  /** Sends one message to the client; called in offset order, once per offset. */
  deliver(message: StampedMessage<M>): unknown;
  /**
   * Messages the client missed are no longer kept ('trimmed'), or the history was lost
   * ('epoch'): it must reload its state. Delivery goes on after `position`, the group's
   * position when the gap was found. Default: nothing is done and delivery goes on.
   */
  onGap?(gap: { reason: GapReason; position: HistoryPosition }): unknown;
}

export class HistoryFeed<M extends LayerMessage = LayerMessage> {
  readonly group: string;
  private readonly history: GroupHistory<M>;
  private readonly options: HistoryFeedOptions<M>;
  /** The last offset delivered; null until the first message (a client with no position). */
  private last: HistoryPosition | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(history: GroupHistory<M>, group: string, options: HistoryFeedOptions<M>) {
    this.history = history;
    this.group = group;
    this.options = options;
  }

  /** The position of the last message delivered, to be kept by the client (null before one). */
  get position(): HistoryPosition | null {
    return this.last === null ? null : { ...this.last };
  }

  private run(step: () => Promise<void>): Promise<void> {
    const next = this.chain.then(step);
    this.chain = next.catch(() => {});
    return next;
  }

  /**
   * Adds `channel` to the group, then delivers every message after `from` (the client's last
   * position; null for a client that starts with the live messages). Call it once the socket
   * is accepted, from connect().
   */
  join(channel: string, from: HistoryPosition | null): Promise<void> {
    return this.run(async () => {
      await this.history.layer.groupAdd(this.group, channel);
      if (from !== null) {
        this.last = { offset: from.offset, epoch: from.epoch };
        await this.catchUp();
      }
    });
  }

  /** Takes one live message of the group (call it from the message type's handler). */
  receive(message: StampedMessage<M>): Promise<void> {
    return this.run(async () => {
      const last = this.last;
      if (last === null) {
        this.last = { offset: message.offset, epoch: message.epoch };
        await this.options.deliver(message);
        return;
      }
      if (message.epoch !== last.epoch) {
        // The history began again: what the client had is of no use; the new run is read from its start.
        await this.options.onGap?.({ reason: 'epoch', position: { offset: message.offset, epoch: message.epoch } });
        this.last = { offset: 0, epoch: message.epoch };
        await this.catchUp();
        return;
      }
      if (message.offset <= last.offset) return;
      if (message.offset === last.offset + 1) {
        last.offset = message.offset;
        await this.options.deliver(message);
        return;
      }
      await this.catchUp();
    });
  }

  /** Takes `channel` out of the group. */
  leave(channel: string): Promise<void> {
    return this.run(() => this.history.layer.groupDiscard(this.group, channel));
  }

  /** Delivers what the history holds after `last`, or reports the gap and moves to the group's position. */
  private async catchUp(): Promise<void> {
    const last = this.last!;
    const result = await this.history.since(this.group, last);
    if (result.gap) {
      this.last = { ...result.position };
      await this.options.onGap?.({ reason: result.reason, position: { ...result.position } });
      return;
    }
    for (const message of result.messages) {
      if (message.offset <= last.offset) continue;
      last.offset = message.offset;
      await this.options.deliver(message);
    }
  }
}
