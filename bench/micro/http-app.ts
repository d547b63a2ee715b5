// Cost of the app side of one HTTP request, without sockets: the bench apps (bench/app.ts with
// routers and an HttpConsumer, bench/direct.ts on the bare interface) called with a scope, a
// receive that gives the request and then http.disconnect, and a send that only counts. Prints
// requests per second of each, interleaved, median of the rounds. A quick check of the consumer
// path between full benchmark runs (bench/run.mjs), which stay the measure.
//
//   node bench/micro/http-app.ts [rounds] [ms per round]
import type { Application, HttpScope, ReceiveEvent, SendEvent } from '../../src/asgi/types.ts';
import { SETTLED } from '../../src/asgi/settled.ts';
import app from '../app.ts';
import direct from '../direct.ts';

const scope: HttpScope = {
  type: 'http',
  asgi: { version: '3.0', spec_version: '2.4' },
  http_version: '1.1',
  method: 'GET',
  scheme: 'http',
  path: '/bench/hello',
  raw_path: Buffer.from('/bench/hello'),
  query_string: Buffer.alloc(0),
  root_path: '',
  headers: [[Buffer.from('host'), Buffer.from('127.0.0.1:8000')]],
  client: ['127.0.0.1', 50000],
  server: ['127.0.0.1', 8000],
  extensions: {},
};
const REQUEST: ReceiveEvent = { type: 'http.request', body: Buffer.alloc(0), more_body: false };
const DISCONNECT: ReceiveEvent = { type: 'http.disconnect' };
// What the interface server's send returns when the event is handled at once.
const DONE = SETTLED;

// One receive and one send for every request (no closures made per request: each
// function made at run time also costs a __name call, which would weigh on this harness only).
const state = { given: 0, sent: 0 };
const receive = () => Promise.resolve(state.given++ === 0 ? REQUEST : DISCONNECT);
const send = (event: SendEvent) => {
  state.sent++;
  void event;
  return DONE;
};

async function one(application: Application): Promise<void> {
  state.given = 0;
  state.sent = 0;
  await application(Object.assign({}, scope), receive, send);
  if (state.sent !== 2) throw new Error(`expected 2 sends, got ${state.sent}`);
}

async function rate(application: Application, ms: number): Promise<number> {
  const end = performance.now() + ms;
  let n = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) await one(application);
    n += 1000;
  }
  return (n / ms) * 1000;
}

const rounds = Number(process.argv[2] ?? 15);
const ms = Number(process.argv[3] ?? 200);
const results: Record<string, number[]> = { direct: [], consumer: [] };
await rate(direct, 300);
await rate(app, 300);
for (let r = 0; r < rounds; r++) {
  results.direct!.push(await rate(direct, ms));
  results.consumer!.push(await rate(app, ms));
}
// The best round of each: on a shared machine the slow rounds measure the neighbours.
const best = (xs: number[]) => Math.max(...xs);
const d = best(results.direct!);
const c = best(results.consumer!);
console.log(`direct   ${Math.round(d).toLocaleString()} req/s`);
console.log(`consumer ${Math.round(c).toLocaleString()} req/s (${(c / d).toFixed(2)} of direct)`);
