// Message bytes as channels_redis writes them: 12 random bytes (so equal messages stay
// distinct members of a sorted set), then msgpack (`use_bin_type=True` on the Python side),
// optionally wrapped in a Fernet token. docs/redis-layers.md has the type mapping table.
import { randomBytes } from 'node:crypto';
import { Packr } from 'msgpackr';
import { InvalidMessageError } from '../../errors.js';
import type { LayerMessage } from '../types.js';
import type { MultiFernet } from './fernet.js';

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

/** channels_redis' `serialize`: random 12-byte prefix + msgpack (encrypted when keys are set). */
export function encodeMessage(message: object, codec: CodecOptions): Buffer {
  let body = packMessage(message);
  if (codec.crypter) body = codec.crypter.encrypt(body);
  return Buffer.concat([randomBytes(12), body]);
}

/** channels_redis' `deserialize`. */
export function decodeMessage(bytes: Buffer, codec: CodecOptions): LayerMessage {
  let body = bytes.subarray(12);
  if (codec.crypter) body = codec.crypter.decrypt(body, codec.ttlSeconds);
  const message = unpackMessage(body);
  if (message === null || typeof message !== 'object' || Array.isArray(message)) {
    throw new InvalidMessageError(`a message read from Redis is not a map (got ${Array.isArray(message) ? 'array' : typeof message})`);
  }
  return message as LayerMessage;
}
