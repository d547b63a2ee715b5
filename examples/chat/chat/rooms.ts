// What a room message is on the wire, and the rules a client's message must meet.
import type { ChatMessage } from '../db/store.ts';

/** A room label: 1-50 of letters, digits, '-' and '_' (the anchor's Room.label slug). */
export const LABEL = /^[-a-zA-Z0-9_]{1,50}$/;
export const MAX_HANDLE = 50;
export const MAX_MESSAGE = 2000;

/** The channel-layer group of a room's sockets, long-polls and event streams. */
export function roomGroup(label: string): string {
  return `chat-${label}`;
}

/**
 * The group where a room's pages are tracked (presence). A label holds no '.', so no room's
 * own group (`chat-<label>`) is ever named so.
 */
export function presenceGroup(label: string): string {
  return `chat.here.${label}`;
}

/**
 * A stored message as the layer carries it, and as long-poll, SSE and the history API answer it.
 * The WebSocket sends it without the id, as the tutorial does.
 */
export type WireMessage = {
  id: number;
  handle: string;
  message: string;
  /** ISO 8601, UTC. */
  timestamp: string;
};

export type ChatEvent = { type: 'chat.message' } & WireMessage;

export function toWire(m: ChatMessage): WireMessage {
  return { id: m.id, handle: m.handle, message: m.message, timestamp: m.timestamp.toISOString() };
}

export function chatEvent(m: ChatMessage): ChatEvent {
  return { type: 'chat.message', ...toWire(m) };
}

const length = (s: string) => [...s].length;
// A handle is one line; a message may hold line breaks and tabs. Other control characters are
// refused: U+0000 cannot be stored in PostgreSQL text, the rest only garble a page or a log.
const HANDLE_CONTROLS = /[\u0000-\u001f\u007f]/;
const MESSAGE_CONTROLS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** `{handle, message}` checked and trimmed, or the error to show the sender. */
export function checkIncoming(content: unknown): { handle: string; message: string } | { error: string } {
  if (content === null || typeof content !== 'object' || Array.isArray(content))
    return { error: 'expected {"handle": string, "message": string}' };
  const { handle, message } = content as Record<string, unknown>;
  if (typeof handle !== 'string' || typeof message !== 'string')
    return { error: 'expected {"handle": string, "message": string}' };
  const h = handle.trim();
  const m = message.trim();
  if (h === '') return { error: 'handle must not be empty' };
  if (m === '') return { error: 'message must not be empty' };
  if (length(h) > MAX_HANDLE) return { error: `handle is longer than ${MAX_HANDLE} characters` };
  if (length(m) > MAX_MESSAGE) return { error: `message is longer than ${MAX_MESSAGE} characters` };
  if (HANDLE_CONTROLS.test(h)) return { error: 'handle must not hold control characters (U+0000 and the like)' };
  if (MESSAGE_CONTROLS.test(m)) {
    return { error: 'message must not hold control characters (U+0000 and the like); line breaks and tabs are fine' };
  }
  return { handle: h, message: m };
}

/** A handle alone (a room page's name in the presence list), checked and trimmed, or the error. */
export function checkHandle(handle: unknown): string | { error: string } {
  if (typeof handle !== 'string') return { error: 'expected {"type": "presence.handle", "handle": string}' };
  const checked = checkIncoming({ handle, message: '.' });
  return 'error' in checked ? checked : checked.handle;
}

/**
 * A message id from a query or a header (`?after=`, `Last-Event-ID`): digits that make a safe
 * integer, else null (the caller answers 400). 400 digits are not an id, however well formed.
 */
export function parseMessageId(raw: string): number | null {
  if (!/^\d+$/.test(raw)) return null;
  const id = Number(raw);
  return Number.isSafeInteger(id) ? id : null;
}

/** Takes a consumer out of its room's group, once: `group` is cleared, so a second call does nothing. */
export async function leaveRoom(consumer: {
  group: string;
  channelLayer: { groupDiscard(group: string, channel: string): Promise<void> };
  channelName: string;
}): Promise<void> {
  const group = consumer.group;
  if (!group) return;
  consumer.group = '';
  await consumer.channelLayer.groupDiscard(group, consumer.channelName);
}
