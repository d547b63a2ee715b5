// Channel-layer throughput of Canal's Redis layer; bench/layer/channels_redis_bench.py does
// the same with Python's channels_redis. Both print one JSON line per workload.
//   pairs-c50:  50 concurrent loops, each send + receive on its own process-local channel
//   group-N:    N members spread over two layer instances (two "processes" with their own
//               process ids, keys and receive loops); one sender; deliveries per second
// Both sides do the same work and wait the same way, so that the figures compare the layers:
// - the same messages ({type, n}, n a counter) and the same number of receivers and loops;
// - one warm-up round before the clock starts (connections made, receive loops running), not counted;
// - the clock starts after the warm-up and stops when the last expected delivery has arrived: pairs
//   when every loop has received its last reply, group-N when every member has every message sent;
// - a group sender keeps at most WINDOW messages ahead of the fully delivered ones and waits on a
//   promise (asyncio.Event in Python) that the receivers settle: no spinning, no polling;
// - a workload not done GRACE seconds after its SECONDS fails the run (a lost message, a hang);
// - after the clock stops, group readers end on a bench.stop message (not by closing or cancelling).
import { RedisChannelLayer } from '../../src/layers/redis/redis-layer.ts';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const seconds = Number(process.env.SECONDS ?? 3);
const prefix = `bench${process.pid}`;
const WINDOW = 2;
const GRACE = 30;

async function pairs(concurrency: number): Promise<number> {
  const layer = new RedisChannelLayer({ hosts: [url], prefix, capacity: 10_000 });
  const channels: string[] = [];
  for (let i = 0; i < concurrency; i++) channels.push(await layer.newChannel());
  await Promise.all(
    channels.map(async (c) => {
      await layer.send(c, { type: 'bench.pair', n: 0 });
      await layer.receive(c);
    }),
  );
  let done = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    channels.map(async (c) => {
      while (performance.now() < end) {
        await layer.send(c, { type: 'bench.pair', n: done });
        await layer.receive(c);
        done++;
      }
    }),
  );
  const rate = done / ((performance.now() - started) / 1000);
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
  let target = 0;
  let reached: (() => void) | null = null;
  const readers = all.map(async ([layer, c]) => {
    while ((await layer.receive(c)).type !== 'bench.stop') {
      delivered++;
      if (reached && delivered >= target) {
        const wake = reached;
        reached = null;
        wake();
      }
    }
  });
  // The readers settle the promise once `delivered` reaches the target.
  const until = async (n: number) => {
    target = n;
    if (delivered < n) await new Promise<void>((resolve) => (reached = resolve));
  };
  await a.groupSend(group, { type: 'bench.group', n: 0 });
  await until(members);
  delivered = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  let sent = 0;
  while (performance.now() < end) {
    await a.groupSend(group, { type: 'bench.group', n: sent });
    sent++;
    await until((sent - WINDOW) * members);
  }
  await until(sent * members);
  const rate = delivered / ((performance.now() - started) / 1000);
  await a.groupSend(group, { type: 'bench.stop' }); // readers end on a message, as in the Python script
  await Promise.all(readers);
  await a.flush();
  await a.close();
  await b.close();
  return rate;
}

async function measure(workload: string, run: () => Promise<number>): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${workload}: not done ${GRACE} s after its ${seconds} s (a lost message, a hang)`)),
      (seconds + GRACE) * 1000,
    );
  });
  try {
    return await Promise.race([run(), late]);
  } finally {
    clearTimeout(timer);
  }
}

const results = [
  { workload: 'pairs-c50', unit: 'send+receive/s', value: await measure('pairs-c50', () => pairs(50)) },
  { workload: 'group-100', unit: 'deliveries/s', value: await measure('group-100', () => group(100)) },
  { workload: 'group-1000', unit: 'deliveries/s', value: await measure('group-1000', () => group(1000)) },
];
for (const r of results) console.log(JSON.stringify({ impl: 'canal', ...r, value: Math.round(r.value) }));
process.exit(0);
