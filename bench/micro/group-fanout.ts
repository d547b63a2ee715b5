// Cost of the consumer side of a group fan-out, without sockets: 1000 instances of bench/app.ts's
// Group consumer joined to one group of the in-memory layer, each with a send that only counts;
// every round of group sends waits until each member has sent its frame. Prints deliveries per
// second (one delivery: the layer hands the message to a member, its handler runs, it sends),
// median of the rounds. A quick check between full benchmark runs (bench/run.mjs), which stay
// the measure.
//
//   node bench/micro/group-fanout.ts [rounds] [ms per round] [members]
import type { ReceiveEvent, SendEvent } from '../../src/asgi/types.ts';
import { websocketScope } from '../../src/testing/scope-builder.ts';
import { SETTLED } from '../../src/asgi/settled.ts';
import { getChannelLayer } from '../../src/layers/registry.ts';
import app from '../app.ts';

const rounds = Number(process.argv[2] ?? 9);
const ms = Number(process.argv[3] ?? 1000);
const members = Number(process.argv[4] ?? 1000);

const scope = websocketScope('/bench/group/fan/');

const state = { frames: 0, accepted: 0, want: 0, wake: null as (() => void) | null };
const CONNECT: ReceiveEvent = { type: 'websocket.connect' };
const never = new Promise<ReceiveEvent>(() => {});
const send = (event: SendEvent) => {
  if (event.type === 'websocket.send') {
    if (++state.frames === state.want && state.wake !== null) state.wake();
  } else if (event.type === 'websocket.accept') state.accepted++;
  return SETTLED;
};

for (let i = 0; i < members; i++) {
  let given = false;
  const receive = () => {
    if (given) return never;
    given = true;
    return Promise.resolve(CONNECT);
  };
  void app(Object.assign({}, scope), receive, send);
}
while (state.accepted < members) await new Promise((r) => setTimeout(r, 1));

const layer = getChannelLayer();
const message = { type: 'group.message', text: 'x'.repeat(64), bytes: null };

/** One group send, resolved when every member has sent its frame. */
function once(): Promise<void> {
  state.want = state.frames + members;
  const done = new Promise<void>((r) => (state.wake = r));
  void layer.groupSend('fan', message);
  return done;
}

async function rate(): Promise<number> {
  const end = performance.now() + ms;
  let n = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 20; i++) await once();
    n += 20 * members;
  }
  return (n / ms) * 1000;
}

await rate(); // warm-up
const results: number[] = [];
for (let r = 0; r < rounds; r++) results.push(await rate());
results.sort((a, b) => a - b);
console.log(
  `group fan-out to ${members} consumers: ` +
    `${Math.round(results[results.length >> 1]!).toLocaleString('en')} deliveries/s (median of ${rounds})`,
);
process.exit(0);
