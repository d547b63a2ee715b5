// What the core Redis layer's receive loop spends on one group message for 1000 channels of
// its process (≈76 KB, the list of names included, as channels_redis stores it): decoding it
// whole and looking its 1000 names up, against splitting it with the list kept from the
// group's previous message (src/layers/redis/channel-list-cache.ts). No sockets, no Redis.
//
//   node --import tsx bench/micro/group-receive.ts
import { randomUUID } from 'node:crypto';
import { ChannelListCache } from '../../src/layers/redis/channel-list-cache.js';
import { decodeMessage, encodeMessage } from '../../src/layers/redis/codec.js';

const CODEC = { crypter: null, ttlSeconds: 70 };
const pid = randomUUID().replace(/-/g, '');
const names = Array.from({ length: 1000 }, () => `specific.${pid}!${randomUUID().replace(/-/g, '')}`);
const readers = new Map(names.map((n) => [n, (m: object) => m !== null]));
const messages = Array.from({ length: 64 }, (_, i) => encodeMessage({ type: 'group.message', text: `frame ${i}`, bytes: null, __asgi_channel__: names }, CODEC));
let delivered = 0;

function deliver(message: object, channels: readonly string[]): void {
  for (const c of channels) if (readers.get(c)?.(message)) delivered++;
}

function whole(member: Buffer): void {
  const m = decodeMessage(member, CODEC) as Record<string, unknown>;
  const channels = m.__asgi_channel__ as string[];
  delete m.__asgi_channel__;
  deliver(m, channels);
}

const cache = new ChannelListCache();
function kept(member: Buffer): void {
  const split = cache.take(member);
  if (split) return deliver(split.message, split.channels);
  const m = decodeMessage(member, CODEC) as Record<string, unknown>;
  const channels = m.__asgi_channel__ as string[];
  delete m.__asgi_channel__;
  cache.learn(member, m as { type: string }, channels);
  deliver(m, channels);
}

const results: Record<string, number[]> = { 'decoded whole': [], 'list kept': [] };
for (let round = 0; round < 5; round++) {
  for (const [name, run] of [
    ['decoded whole', whole],
    ['list kept', kept],
  ] as const) {
    const start = performance.now();
    let n = 0;
    while (performance.now() - start < 400) {
      for (const member of messages) run(member);
      n += messages.length;
    }
    results[name]!.push(((performance.now() - start) * 1000) / n);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
for (const [name, xs] of Object.entries(results)) console.log(`${name.padEnd(14)} ${median(xs).toFixed(1).padStart(7)} µs per message (1000 members, ${messages[0]!.length} bytes)`);
if (delivered === 0) throw new Error('nothing delivered');
