// The shard choice of channels_redis, so Python and Node processes pick the same Redis host
// for a channel or group: CRC-32 (IEEE 802.3, the one Python's binascii.crc32 computes) of the
// UTF-8 name, low 12 bits (0–4095), divided evenly over the ring.
import { crc32 } from 'node:zlib';

/** Index in [0, ringSize) for a channel or group name. */
export function consistentHash(value: string, ringSize: number): number {
  if (ringSize === 1) return 0;
  const big = crc32(value) & 0xfff;
  return Math.floor(big / (4096 / ringSize));
}
