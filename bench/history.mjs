// Group history: what it costs a fan-out, and how fast a client catches up.
//   fan-out:  1000 member channels of one process (listen(), counting), group sends through the
//             layer's groupSend (history off) and through GroupHistory.groupSend (history on),
//             rounds interleaved; each round sends until ROUND_MS has passed, at most WINDOW
//             messages ahead of the fully delivered ones; deliveries/s, median of the rounds
//   recovery: 1000 messages sent while a client was away, then HistoryFeed.join with its last
//             position until the 1000th is delivered (no socket); median time of the rounds
// On the memory layer and the core Redis layer (Redis at REDIS_URL, keys under a prefix of the
// run's own, removed at the end). Pinned to CPU 0 (taskset) unless HISTORY_BENCH_PINNED is set.
//
//   node bench/history.mjs [rounds=5] [round ms=1000]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

if (!process.env.HISTORY_BENCH_PINNED) {
  const pinned = spawnSync(
    'taskset',
    ['-c', '0', process.execPath, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    {
      stdio: 'inherit',
      env: { ...process.env, HISTORY_BENCH_PINNED: '1' },
    },
  );
  if (!pinned.error) process.exit(pinned.status ?? 1);
  console.error(`taskset failed (${pinned.error.message}); running unpinned`);
}

const { InMemoryChannelLayer, RedisChannelLayer, GroupHistory, HistoryFeed } = await import('../src/index.ts');

const rounds = Number(process.argv[2] ?? 5);
const roundMs = Number(process.argv[3] ?? 1000);
const MEMBERS = 1000;
const MISSED = 1000;
const WINDOW = Number(process.env.WINDOW ?? 4);
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const prefix = `benchhist${process.pid}`;
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function fanout(layer, name) {
  const history = new GroupHistory(layer, { maxMessages: 1000, maxAgeMs: 60_000 });
  const group = `fan`;
  const state = { delivered: 0, want: 0, wake: null };
  const stops = [];
  for (let i = 0; i < MEMBERS; i++) {
    const channel = await layer.newChannel();
    stops.push(
      layer.listen(channel, () => {
        if (++state.delivered >= state.want && state.wake) {
          const wake = state.wake;
          state.wake = null;
          wake();
        }
        return true;
      }),
    );
    await layer.groupAdd(group, channel);
  }
  const message = { type: 'group.message', text: 'x'.repeat(64) };
  const sendOff = () => layer.groupSend(group, message);
  const sendOn = () => history.groupSend(group, message);
  const waitFor = (count) =>
    state.delivered >= count
      ? Promise.resolve()
      : new Promise((resolve) => {
          state.want = count;
          state.wake = resolve;
        });

  async function round(send) {
    const start = performance.now();
    const end = start + roundMs;
    const base = state.delivered;
    let sent = 0;
    while (performance.now() < end) {
      await waitFor(base + (sent - WINDOW + 1) * MEMBERS);
      send();
      sent++;
    }
    await waitFor(base + sent * MEMBERS);
    return ((sent * MEMBERS) / (performance.now() - start)) * 1000;
  }
  await round(sendOff); // warm-up
  await round(sendOn);
  const off = [];
  const on = [];
  for (let r = 0; r < rounds; r++) {
    off.push(await round(sendOff));
    on.push(await round(sendOn));
  }
  for (const stop of stops) stop();
  const m = { off: median(off), on: median(on) };
  console.log(
    `${name}: fan-out to ${MEMBERS}: history off ${Math.round(m.off).toLocaleString('en')}, ` +
      `on ${Math.round(m.on).toLocaleString('en')} deliveries/s (median of ${rounds}); ` +
      `on/off ${(m.on / m.off).toFixed(3)}`,
  );
}

async function recovery(layer, name) {
  const history = new GroupHistory(layer, { maxMessages: 2 * MISSED, maxAgeMs: 60_000 });
  const times = [];
  for (let r = 0; r <= rounds; r++) {
    const group = `rec${r}`;
    const from = await history.position(group);
    const sends = [];
    for (let i = 0; i < MISSED; i++) sends.push(history.groupSend(group, { type: 'chat.message', text: `m${i}` }));
    await Promise.all(sends);
    await history.position(group); // every command sent before it has been carried out
    const channel = await layer.newChannel();
    let got = 0;
    const start = performance.now();
    const feed = new HistoryFeed(history, group, {
      deliver: () => {
        got++;
      },
    });
    await feed.join(channel, from);
    const ms = performance.now() - start;
    if (got !== MISSED) throw new Error(`recovered ${got} of ${MISSED}`);
    await feed.leave(channel);
    if (r > 0) times.push(ms); // the first is the warm-up
  }
  console.log(`${name}: recovering ${MISSED} missed messages: ${median(times).toFixed(2)} ms (median of ${rounds})`);
}

const memory = new InMemoryChannelLayer({ capacity: 10_000 });
await fanout(memory, 'memory');
await recovery(memory, 'memory');
await memory.close();

const redis = new RedisChannelLayer({ hosts: [url], prefix, capacity: 10_000 });
try {
  await fanout(redis, 'redis');
  await recovery(redis, 'redis');
} finally {
  await redis.flush();
  await redis.close();
}
process.exit(0);
