// Bytes one HTTP hello request allocates in a running server, node:http included: the server
// runs in this process (on the CPU it is pinned to), wrk drives it from CPU 1, and V8's
// sampling heap profiler counts every allocation made during a measured run, collected
// objects too. Prints bytes per request and the functions that allocate the most.
//
//   taskset -c 0 node bench/micro/server-alloc.ts [canal|direct|node] [seconds]
//   taskset -c 0 node --no-turbo-inlining bench/micro/server-alloc.ts canal   # per function
//
// canal: bench/app.ts (routers and consumers) on Canal's interface server; direct:
// bench/direct.ts on it; node: a bare node:http handler answering as the raw-ws anchor does.
import { spawn } from 'node:child_process';
import { createServer as createNodeServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Session } from 'node:inspector/promises';
import { createServer } from '../../src/server/server.ts';
import app from '../app.ts';
import direct from '../direct.ts';

interface ProfileNode {
  callFrame: { functionName: string; url: string };
  selfSize: number;
  children: ProfileNode[];
}

const which = process.argv[2] ?? 'canal';
const seconds = Number(process.argv[3] ?? 3);
if (!['canal', 'direct', 'node'].includes(which)) {
  console.error('usage: server-alloc.ts [canal|direct|node] [seconds]');
  process.exit(1);
}

const HELLO = Buffer.from('hello world');
let port: number;
let close: () => Promise<void>;
if (which === 'node') {
  const s = createNodeServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': HELLO.length });
    res.end(HELLO);
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  port = (s.address() as AddressInfo).port;
  close = async () => {
    s.closeAllConnections();
    s.close();
  };
} else {
  const s = createServer(which === 'direct' ? direct : app, { port: 0, host: '127.0.0.1' });
  port = (await s.listen()).port;
  close = () => s.close();
}

/** Runs wrk from CPU 1 for `s` seconds; resolves with the number of requests it made. */
function wrk(s: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', [
      '-c',
      '1',
      'wrk',
      '-t1',
      '-c64',
      `-d${s}s`,
      `http://127.0.0.1:${port}/bench/hello`,
    ]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.on('error', (err) => reject(new Error(`wrk could not start (apt-get install wrk): ${err.message}`)));
    child.on('exit', (code) => {
      const n = /(\d+) requests in/.exec(out);
      if (code !== 0 || !n) reject(new Error(`wrk failed (exit ${code}): ${out}`));
      else resolve(Number(n[1]));
    });
  });
}

await wrk(2); // warm
const session = new Session();
session.connect();
const post = session.post.bind(session) as (method: string, params?: object) => Promise<unknown>;
await post('HeapProfiler.startSampling', {
  samplingInterval: 128,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
const requests = await wrk(seconds);
const { profile } = (await post('HeapProfiler.stopSampling')) as { profile: { head: ProfileNode } };

const byFunction = new Map<string, number>();
let total = 0;
const walk = (node: ProfileNode): void => {
  const { functionName, url } = node.callFrame;
  const where = url.includes('/src/') ? url.slice(url.indexOf('/src/') + 5) : url.slice(url.lastIndexOf('/') + 1);
  const key = `${functionName || '(anonymous)'} ${where}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + node.selfSize);
  total += node.selfSize;
  node.children.forEach(walk);
};
walk(profile.head);
console.log(`${which}: ${Math.round(total / requests)} bytes per request (${requests} requests)`);
for (const [key, bytes] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
  console.log(`${String(Math.round(bytes / requests)).padStart(7)}  ${key}`);
}
session.disconnect();
await close();
