// Message bytes as channels_redis writes them: 12 random bytes (so equal messages stay
// distinct members of a sorted set), then msgpack (`use_bin_type=True` on the Python side),
// optionally wrapped in a Fernet token. docs/redis-layers.md has the type mapping table.
import { randomBytes } from 'node:crypto';
import { Packr } from 'msgpackr';
import { InvalidMessageError } from '../../errors.ts';
import type { LayerMessage } from '../types.ts';
import type { MultiFernet } from './fernet.ts';

const packr = new Packr({
  useRecords: false, // plain msgpack maps, never msgpackr's record extension
  mapsAsObjects: true,
  variableMapSize: true, // smallest map header, as Python's msgpack writes
  // 64-bit integers: number within ±2^53, BigInt beyond ('auto' is newer than the typings)
  int64AsType: 'auto' as 'bigint',
  moreTypes: false,
  bundleStrings: false,
});

const INT32_MIN = -0x80000000;
const UINT32_MAX = 0xffffffff;

function isWideInteger(value: number): boolean {
  return Number.isInteger(value) && (value > UINT32_MAX || value < INT32_MIN);
}

/** True when some integer needs 64 bits; msgpackr would write it as a float. */
function hasWideInteger(value: unknown): boolean {
  if (typeof value === 'number') return isWideInteger(value);
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (hasWideInteger(item)) return true;
    return false;
  }
  for (const key in value) if (hasWideInteger((value as Record<string, unknown>)[key])) return true;
  return false;
}

/** A copy in which integers beyond 32 bits are BigInts, so they are written as int64/uint64. */
function widenIntegers(value: unknown): unknown {
  if (typeof value === 'number') return isWideInteger(value) && Number.isSafeInteger(value) ? BigInt(value) : value;
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) return value.map(widenIntegers);
  const out: Record<string, unknown> = {};
  for (const key in value) out[key] = widenIntegers((value as Record<string, unknown>)[key]);
  return out;
}

export function packMessage(message: object): Buffer {
  return packr.pack(hasWideInteger(message) ? widenIntegers(message) : message);
}

export function unpackMessage(bytes: Buffer): unknown {
  return packr.unpack(bytes);
}

export interface CodecOptions {
  crypter: MultiFernet | null;
  /** Fernet tokens older than this many seconds are refused (channels_redis: expiry + 10). */
  ttlSeconds: number;
}

// The 12 random bytes of each message are cut from a pool: one call for the random source
// every 256 messages instead of one per message. Every message still gets bytes of its own.
/** The random bytes before every message body. */
export const PREFIX_BYTES = 12;
let pool = Buffer.alloc(0);
let poolOffset = 0;

function randomPrefix(): Buffer {
  if (poolOffset + PREFIX_BYTES > pool.length) {
    pool = randomBytes(PREFIX_BYTES * 256);
    poolOffset = 0;
  }
  const prefix = pool.subarray(poolOffset, poolOffset + PREFIX_BYTES);
  poolOffset += PREFIX_BYTES;
  return prefix;
}

/** channels_redis' `serialize`: random 12-byte prefix + msgpack (encrypted when keys are set). */
export function encodeMessage(message: object, codec: CodecOptions): Buffer {
  let body = packMessage(message);
  if (codec.crypter) body = codec.crypter.encrypt(body);
  return Buffer.concat([randomPrefix(), body]);
}

/** The packed key "__asgi_channel__", as it stands before a message's channel or channels. */
export const CHANNEL_KEY = packr.pack('__asgi_channel__');

function mapHeader(entries: number): Buffer {
  if (entries < 16) return Buffer.from([0x80 | entries]);
  if (entries < 0x10000) return Buffer.from([0xde, entries >> 8, entries & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = 0xdf;
  b.writeUInt32BE(entries, 1);
  return b;
}

/**
 * An unencrypted group message in two parts for the one-round-trip group send: `head` (the
 * random prefix and the map header counting one entry more) and `rest` (the message's entries,
 * then the packed key "__asgi_channel__"). head + rest + the packed list of channels are the
 * bytes `encodeMessage({ ...message, __asgi_channel__: channels })` writes, less the prefix.
 * `extraEntries`: entries more that the caller writes between the two parts and the key.
 */
export function groupMessageParts(message: object, extraEntries = 0): { head: Buffer; rest: Buffer } {
  const { count, entries } = mapEntries(message);
  return {
    head: Buffer.concat([randomPrefix(), mapHeader(count + 1 + extraEntries)]),
    rest: Buffer.concat([entries, CHANNEL_KEY]),
  };
}

/**
 * A message packed as `packMessage` does, in two parts: the map header, counting `extraEntries`
 * more, and the message's entries. The caller writes the extra entries after them.
 */
export function packedMapParts(message: object, extraEntries: number): { header: Buffer; entries: Buffer } {
  const { count, entries } = mapEntries(message);
  return { header: mapHeader(count + extraEntries), entries };
}

/** The number of entries of a packed message and their bytes, after the map header. */
function mapEntries(message: object): { count: number; entries: Buffer } {
  const packed = packMessage(message);
  const first = packed[0]!;
  let count: number;
  let skip: number;
  if (first >= 0x80 && first <= 0x8f) {
    count = first & 0x0f;
    skip = 1;
  } else if (first === 0xde) {
    count = packed.readUInt16BE(1);
    skip = 3;
  } else if (first === 0xdf) {
    count = packed.readUInt32BE(1);
    skip = 5;
  } else {
    throw new InvalidMessageError(`a layer message must pack as a msgpack map (first byte 0x${first.toString(16)})`);
  }
  return { count, entries: packed.subarray(skip) };
}

/** channels_redis' `deserialize`. */
export function decodeMessage(bytes: Buffer, codec: CodecOptions): LayerMessage {
  let body = bytes.subarray(12);
  if (codec.crypter) body = codec.crypter.decrypt(body, codec.ttlSeconds);
  const message = unpackMessage(body);
  if (message === null || typeof message !== 'object' || Array.isArray(message)) {
    throw new InvalidMessageError(
      `a message read from Redis is not a map (got ${Array.isArray(message) ? 'array' : typeof message})`,
    );
  }
  return message as LayerMessage;
}
