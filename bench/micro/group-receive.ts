// What the core Redis layer's receive loop spends on one group message for 1000 channels of
// its process (≈76 KB, the list of names included, as channels_redis stores it): decoding it
// whole and handing it to its 1000 readers, against splitting it with the list kept from the
// group's previous message (src/layers/redis/channel-list-cache.ts), the kept list holding the
// decoded strings or the readers' own (LocalChannels.ownNames, what the layer keeps). No
// sockets, no Redis.
//
//   node bench/micro/group-receive.ts
import { randomUUID } from 'node:crypto';
import { ChannelListCache } from '../../src/layers/redis/channel-list-cache.ts';
import { decodeMessage, encodeMessage } from '../../src/layers/redis/codec.ts';
import { LocalChannels } from '../../src/layers/local-channels.ts';

const CODEC = { crypter: null, ttlSeconds: 70 };
const pid = randomUUID().replace(/-/g, '');
const names = Array.from({ length: 1000 }, () => `specific.${pid}!${randomUUID().replace(/-/g, '')}`);
const local = new LocalChannels<{ type: string }>(
  () => 100,
  () => {},
  60_000,
);
let delivered = 0;
for (const n of names) local.listen(n, (m) => m !== null && ++delivered > 0);
const messages = Array.from({ length: 64 }, (_, i) =>
  encodeMessage({ type: 'group.message', text: `frame ${i}`, bytes: null, __asgi_channel__: names }, CODEC),
);
function deliver(message: object, channels: readonly string[]): void {
  local.pushDroppingOldest(message as { type: string }, channels, Date.now());
}

function whole(member: Buffer): void {
  const m = decodeMessage(member, CODEC) as Record<string, unknown>;
  const channels = m.__asgi_channel__ as string[];
  delete m.__asgi_channel__;
  deliver(m, channels);
}

function keeping(own?: (names: readonly string[]) => readonly string[]): (member: Buffer) => void {
  const cache = new ChannelListCache();
  return (member) => {
    const split = cache.take(member);
    if (split) return deliver(split.message, split.channels);
    const m = decodeMessage(member, CODEC) as Record<string, unknown>;
    const channels = m.__asgi_channel__ as string[];
    delete m.__asgi_channel__;
    deliver(m, cache.learn(member, m as { type: string }, channels, own) ?? channels);
  };
}
const kept = keeping();
const keptOwn = keeping((names) => local.ownNames(names));

const results: Record<string, number[]> = { 'decoded whole': [], 'list kept': [], 'own names': [] };
for (let round = 0; round < 5; round++) {
  for (const [name, run] of [
    ['decoded whole', whole],
    ['list kept', kept],
    ['own names', keptOwn],
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
for (const [name, xs] of Object.entries(results))
  console.log(
    `${name.padEnd(14)} ${median(xs).toFixed(1).padStart(7)} µs per message ` +
      `(1000 members, ${messages[0]!.length} bytes)`,
  );
if (delivered === 0) throw new Error('nothing delivered');
