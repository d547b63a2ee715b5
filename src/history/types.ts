// Group history: the contract between GroupHistory and where it keeps messages (docs/history.md).
import type { LayerMessage } from '../layers/types.ts';

/** Where a reader stands in a group's history: the last offset it has, in one epoch. */
export interface HistoryPosition {
  /** Offsets of a group count 1, 2, 3 … within an epoch, one per message sent with history; 0 before the first. */
  offset: number;
  /** Names one unbroken run of offsets; a new one means the history was lost and counting began again. */
  epoch: string;
}

/** A message as members receive it and `since()` returns it: with its place in the history. */
export type StampedMessage<M extends LayerMessage = LayerMessage> = M & { offset: number; epoch: string };

/** Why `since()` cannot give every message after a position. */
export type GapReason =
  /** Messages after the position were dropped by the count or age bound. */
  | 'trimmed'
  /** The position belongs to another epoch: the history was lost (Redis restarted, keys removed). */
  | 'epoch';

export type SinceResult<M extends LayerMessage = LayerMessage> =
  | { gap: false; messages: StampedMessage<M>[]; position: HistoryPosition }
  | { gap: true; reason: GapReason; position: HistoryPosition };

export interface HistoryLimits {
  maxMessages: number;
  /** 0: no age bound. */
  maxAgeMs: number;
  /** How long a store that can forget a group (Redis) keeps one that has had no message, ms. */
  idleMs: number;
}

/** Where a group's history is kept: in this process, or in Redis beside the layer's keys. */
export interface HistoryStore {
  /** Appends one message; resolves with the offset it was given. */
  append(group: string, message: LayerMessage, limits: HistoryLimits): Promise<HistoryPosition>;
  /** Every kept message after `from`, in order, or a gap. */
  since(group: string, from: HistoryPosition, limits: HistoryLimits): Promise<SinceResult>;
  /** The group's last offset and its epoch (an epoch is made for a group without history). */
  position(group: string, limits: HistoryLimits): Promise<HistoryPosition>;
}
