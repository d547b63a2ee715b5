#!/usr/bin/env node
// Presence: joins and leaves per second on the in-memory layer and both Redis layers.
//   node bench/presence.mjs            (REDIS_URL, default redis://127.0.0.1:6379/0; COUNT, default 2000)
// For each layer: COUNT channels tracked in one group, then untracked, first one call awaited at
// a time (a round trip each on Redis), then 64 calls in flight. One member of the group, on a
// second layer instance (a second process on Redis), receives every join and leave: the clock
// stops when it has them all. Prints one JSON line per layer and workload, then a table.
import { InMemoryChannelLayer, Presence, RedisChannelLayer, RedisPubSubChannelLayer } from '../src/index.ts';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const count = Number(process.env.COUNT ?? 2000);
const prefix = `benchpresence${process.pid}`;

const layers = {
  memory: () => {
    const layer = new InMemoryChannelLayer({ capacity: 100_000 });
    return [layer, layer];
  },
  redis: () => [0, 1].map(() => new RedisChannelLayer({ hosts: [url], prefix, capacity: 100_000, blockTimeout: 1 })),
  'redis-pubsub': () => [0, 1].map(() => new RedisPubSubChannelLayer({ hosts: [url], prefix, capacity: 100_000 })),
};

/** Runs `fn(i)` for i < n with `inFlight` calls at a time. */
async function pool(n, inFlight, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

const rows = [];
for (const [name, make] of Object.entries(layers)) {
  const [layer, watcherLayer] = make();
  const presence = new Presence(layer);
  const member = await watcherLayer.newChannel();
  let heard = 0;
  let wanted = 0;
  let done = () => {};
  watcherLayer.listen(member, () => {
    if (++heard === wanted) done();
    return true;
  });
  const channels = [];
  for (let i = 0; i < count; i++) channels.push(await layer.newChannel());
  for (const inFlight of [1, 64]) {
    const group = `bench.${inFlight}`;
    await watcherLayer.groupAdd(group, member);
    for (const op of ['join', 'leave']) {
      heard = 0;
      wanted = count;
      const all = new Promise((resolve) => (done = resolve));
      const started = performance.now();
      await pool(count, inFlight, (i) =>
        op === 'join' ? presence.track(group, channels[i], { n: i }) : presence.untrack(group, channels[i]),
      );
      await all;
      const perSecond = Math.round(count / ((performance.now() - started) / 1000));
      rows.push({ layer: name, op, inFlight, perSecond });
      const workload = `${op}-c${inFlight}`;
      console.log(JSON.stringify({ layer: name, workload, unit: 'per second', value: perSecond }));
    }
  }
  await presence.close();
  await layer.flush();
  await layer.close();
  if (watcherLayer !== layer) await watcherLayer.close();
}
console.table(rows);
