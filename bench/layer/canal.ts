// Channel-layer throughput of Canal's Redis layer; bench/layer/channels_redis_bench.py does
// the same with Python's channels_redis. Both print one JSON line per workload.
//   pairs:      C concurrent loops, each send + receive on its own process-local channel
//   group-N:    N members spread over two layer instances (two "processes" with their own
//               process ids, keys and receive loops); one sender; deliveries per second
import { RedisChannelLayer } from '../../src/layers/redis/redis-layer.ts';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const seconds = Number(process.env.SECONDS ?? 3);
const prefix = `bench${process.pid}`;

async function pairs(concurrency: number): Promise<number> {
  const layer = new RedisChannelLayer({ hosts: [url], prefix, capacity: 10_000 });
  const channels = await Promise.all(Array.from({ length: concurrency }, () => layer.newChannel()));
  let done = 0;
  const end = Date.now() + seconds * 1000;
  const started = Date.now();
  await Promise.all(
    channels.map(async (c) => {
      while (Date.now() < end) {
        await layer.send(c, { type: 'bench.pair', n: done });
        await layer.receive(c);
        done++;
      }
    }),
  );
  const rate = done / ((Date.now() - started) / 1000);
  await layer.flush();
  await layer.close();
  return rate;
}

async function group(members: number): Promise<number> {
  const a = new RedisChannelLayer({ hosts: [url], prefix, capacity: 10_000 });
  const b = new RedisChannelLayer({ hosts: [url], prefix, capacity: 10_000 });
  const group = `g${members}`;
  const all: [RedisChannelLayer, string][] = [];
  for (let i = 0; i < members; i++) {
    const layer = i % 2 ? b : a;
    const c = await layer.newChannel();
    await layer.groupAdd(group, c);
    all.push([layer, c]);
  }
  let delivered = 0;
  let stop = false;
  const readers = all.map(async ([layer, c]) => {
    while (!stop) {
      try {
        await layer.receive(c);
      } catch {
        return; // the layer was closed at the end
      }
      delivered++;
    }
  });
  const started = Date.now();
  const end = started + seconds * 1000;
  let sent = 0;
  while (Date.now() < end) {
    await a.groupSend(group, { type: 'bench.group', n: sent++ });
    while (delivered < (sent - 2) * members && Date.now() < end + 2000) await new Promise((r) => setImmediate(r));
  }
  const rate = delivered / ((Date.now() - started) / 1000);
  stop = true;
  await a.flush();
  await a.close();
  await b.close();
  void readers;
  return rate;
}

const results = [
  { workload: 'pairs-c50', unit: 'send+receive/s', value: await pairs(50) },
  { workload: 'group-100', unit: 'deliveries/s', value: await group(100) },
  { workload: 'group-1000', unit: 'deliveries/s', value: await group(1000) },
];
for (const r of results) console.log(JSON.stringify({ impl: 'canal', ...r, value: Math.round(r.value) }));
process.exit(0);
