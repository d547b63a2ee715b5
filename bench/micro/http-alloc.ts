// Bytes allocated by the app side of one HTTP request (bench/app.ts through routers and an
// HttpConsumer, bench/direct.ts on the bare interface), with the functions that allocate the
// most. V8's sampling heap profiler, counting objects the GC has already collected too, so
// the figure is what a request costs the young generation, not what stays alive.
//
//   node bench/micro/http-alloc.ts [requests]
//   node --no-turbo-inlining bench/micro/http-alloc.ts   # per function, not per inlined caller
import { Session } from 'node:inspector/promises';
import type { Application, HttpScope, ReceiveEvent, SendEvent } from '../../src/asgi/types.ts';
import { SETTLED } from '../../src/asgi/settled.ts';
import app from '../app.ts';
import direct from '../direct.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children: ProfileNode[];
}
interface SamplingProfile {
  head: ProfileNode;
  samples: { size: number; nodeId: number }[];
}

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
const state = { given: 0 };
const receive = () => Promise.resolve(state.given++ === 0 ? REQUEST : DISCONNECT);
const send = (event: SendEvent) => {
  void event;
  return DONE;
};

async function requests(application: Application, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    state.given = 0;
    await application(Object.assign({}, scope), receive, send);
  }
}

const n = Number(process.argv[2] ?? 100_000);
const session = new Session();
session.connect();
// The typings overload post() per method; the two used here are called through one plain signature.
const post = session.post.bind(session) as (method: string, params?: object) => Promise<unknown>;
for (const [name, application] of [
  ['direct', direct],
  ['consumer', app],
] as const) {
  await requests(application, 20_000); // warm
  await post('HeapProfiler.startSampling', {
    samplingInterval: 128,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  await requests(application, n);
  const { profile } = (await post('HeapProfiler.stopSampling')) as { profile: SamplingProfile };
  const nodes = new Map<number, ProfileNode>();
  const walk = (node: ProfileNode): void => {
    nodes.set(node.id, node);
    node.children.forEach(walk);
  };
  walk(profile.head);
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const s of profile.samples) {
    const f = nodes.get(s.nodeId)!.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(src|bench)\//, '$1/')}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + s.size);
    total += s.size;
  }
  console.log(`${name}: ${Math.round(total / n)} bytes per request (the harness's scope copy included)`);
  for (const [key, bytes] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 8)) {
    console.log(`  ${String(Math.round(bytes / n)).padStart(5)}  ${key}`);
  }
}
session.disconnect();
