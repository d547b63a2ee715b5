// The member lists of recent group messages, kept by their bytes. A group message read from a
// process's key carries, as its last entry, the names of this process's member channels
// (`__asgi_channel__`, as channels_redis writes it), and a group's next message usually names
// the same ones: for a large group the list is most of the message, and decoding it and looking
// its names up is most of the cost of receiving it. When a message ends with the bytes of a list
// seen before, the list already decoded is used again (its names' hashes computed once), and
// only the rest of the message is decoded.
//
// A list is kept only once the message it came from decodes both ways to the same result:
// whole, and as its other entries followed by the list. On a hit, the other entries are
// decoded from a copy whose map header counts one entry less, and msgpack refuses bytes left
// over: a match that is not the real last entry cannot decode as one.
// Unencrypted messages only (an encrypted body is decrypted whole anyway).
import { isDeepStrictEqual } from 'node:util';
import type { LayerMessage } from '../types.ts';
import { CHANNEL_KEY, PREFIX_BYTES, unpackMessage } from './codec.ts';

const MAX_ENTRIES = 8;
/** Shorter lists are decoded every time: keeping them saves little. */
const MIN_LIST_LENGTH = 8;
/** Lists longer than this are decoded every time rather than kept. */
const MAX_LIST_BYTES = 1024 * 1024;

interface Entry {
  /** The key and the packed list, as they end the message. */
  tail: Buffer;
  channels: readonly string[];
}

export interface SplitMessage {
  message: LayerMessage;
  channels: readonly string[];
}

/** The map's entries less its last one, decoded; null when `prefix` is not such a map. */
function decodeWithoutLast(prefix: Buffer): LayerMessage | null {
  if (prefix.length === 0) return null;
  const copy = Buffer.from(prefix);
  const first = copy[0]!;
  if (first >= 0x81 && first <= 0x8f) copy[0] = first - 1;
  else if (first === 0xde && copy.length >= 3 && copy.readUInt16BE(1) > 0)
    copy.writeUInt16BE(copy.readUInt16BE(1) - 1, 1);
  else if (first === 0xdf && copy.length >= 5 && copy.readUInt32BE(1) > 0)
    copy.writeUInt32BE(copy.readUInt32BE(1) - 1, 1);
  else return null;
  let message: unknown;
  try {
    message = unpackMessage(copy); // throws on bytes left over
  } catch {
    return null;
  }
  if (
    message === null ||
    typeof message !== 'object' ||
    Array.isArray(message) ||
    Object.hasOwn(message, '__asgi_channel__')
  )
    return null;
  return message as LayerMessage;
}

export class ChannelListCache {
  private readonly entries: Entry[] = [];

  /** The message and its channels when `member` ends with a kept list; null otherwise. */
  take(member: Buffer): SplitMessage | null {
    const body = member.subarray(PREFIX_BYTES);
    for (let i = 0; i < this.entries.length; i++) {
      const entry = this.entries[i]!;
      const at = body.length - entry.tail.length;
      if (at <= 0 || body.compare(entry.tail, 0, entry.tail.length, at) !== 0) continue;
      const message = decodeWithoutLast(body.subarray(0, at));
      if (message === null) continue;
      if (i > 0) {
        this.entries.splice(i, 1);
        this.entries.unshift(entry);
      }
      return { message, channels: entry.channels };
    }
    return null;
  }

  /**
   * Keeps the list of a message just decoded whole (`message` without its `__asgi_channel__`,
   * `channels` the list, of at least MIN_LIST_LENGTH) when its other entries, decoded alone,
   * are the message: msgpack reads a map's entries one after another, so those entries end
   * where the key "__asgi_channel__" was found, and what follows the key is the list the whole
   * message gave. The list is kept as `own` returns it (the same names, in the strings the
   * process holds them in: see LocalChannels.ownNames in ../local-channels.ts). Returns the kept list, or null.
   */
  learn(
    member: Buffer,
    message: LayerMessage,
    channels: readonly string[],
    own: (names: readonly string[]) => readonly string[] = (n) => n.slice(),
  ): readonly string[] | null {
    if (channels.length < MIN_LIST_LENGTH) return null;
    const body = member.subarray(PREFIX_BYTES);
    const at = body.lastIndexOf(CHANNEL_KEY);
    if (at <= 0 || body.length - at > MAX_LIST_BYTES) return null;
    const rest = decodeWithoutLast(body.subarray(0, at));
    if (rest === null || !isDeepStrictEqual(rest, message)) return null;
    const kept = Object.freeze(own(channels));
    this.entries.unshift({ tail: Buffer.from(body.subarray(at)), channels: kept });
    if (this.entries.length > MAX_ENTRIES) this.entries.pop();
    return kept;
  }
}
