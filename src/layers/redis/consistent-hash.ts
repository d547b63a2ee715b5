// The shard choice of channels_redis, so Python and Node processes pick the same Redis host
// for a channel or group: CRC-32 of the UTF-8 name, low 12 bits (0–4095), divided evenly over
// the ring. Node 20 has no zlib.crc32 (it arrived in Node 22.2), so the table-driven CRC-32
// (IEEE 802.3, the one binascii.crc32 computes) is written here.

const TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

export function crc32(data: Uint8Array): number {
  let crc = -1;
  for (let i = 0; i < data.length; i++) crc = TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

/** Index in [0, ringSize) for a channel or group name. */
export function consistentHash(value: string, ringSize: number): number {
  if (ringSize === 1) return 0;
  const big = crc32(Buffer.from(value, 'utf8')) & 0xfff;
  return Math.floor(big / (4096 / ringSize));
}
