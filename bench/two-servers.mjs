#!/usr/bin/env node
// Fan-out across two `canal serve` processes through Redis, at a fixed rate: N receivers split
// over both servers, one sender on the first; every frame carries its send time, so the
// latency from send to each receive is measured on both sides. Latency percentiles in ms.
//
//   node bench/two-servers.mjs [--layer redis|redis-pubsub] [--receivers 1000] [--rate 40] [--seconds 5]
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    layer: { type: 'string', default: 'redis' },
    receivers: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '40' },
    seconds: { type: 'string', default: '5' },
  },
});
const receivers = Number(values.receivers);
const rate = Number(values.rate);
const seconds = Number(values.seconds);

const freePort = () =>
  new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });

async function startServer(cpu) {
  const port = await freePort();
  const child = spawn(
    'taskset',
    [
      '-c',
      String(cpu),
      process.execPath,
      join(ROOT, 'bin', 'canal.mjs'),
      'serve',
      join(ROOT, 'bench', 'app.ts'),
      '--port',
      String(port),
    ],
    {
      env: { ...process.env, LAYER: values.layer },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise((res, rej) => {
    child.stdout.on('data', (d) => String(d).includes('listening') && res());
    child.on('exit', (c) => rej(new Error(`server exited ${c}`)));
  });
  return { port, child };
}

const servers = [await startServer(0), await startServer(0)];
const group = `two${process.pid}`;
const latencies = [];
let received = 0;
const open = (port) =>
  new Promise((res, rej) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/bench/group/${group}/`);
    ws.on('open', () => res(ws));
    ws.on('error', rej);
  });
const sockets = [];
for (let i = 0; i < receivers; i++) {
  const ws = await open(servers[i % 2].port);
  ws.on('message', (d) => {
    const t = Number(String(d).split(' ')[1]);
    if (t) {
      latencies.push(Number(process.hrtime.bigint() / 1000n) - t);
      received++;
    }
  });
  sockets.push(ws);
}
const sender = await open(servers[0].port);
// settle: wait until a probe reaches everyone
let probes = 0;
const probeSeen = new Set();
for (const [i, ws] of sockets.entries()) {
  ws.on('message', (d) => {
    if (String(d).startsWith('p')) probeSeen.add(i);
  });
}
while (probeSeen.size < receivers && probes < 100) {
  sender.send(`p${probes++}`);
  await new Promise((r) => setTimeout(r, 100));
}
latencies.length = 0;
received = 0;
const frames = rate * seconds;
for (let i = 0; i < frames; i++) {
  sender.send(`d ${Number(process.hrtime.bigint() / 1000n)} ${'x'.repeat(16)}`);
  await new Promise((r) => setTimeout(r, 1000 / rate));
}
await new Promise((r) => setTimeout(r, 1000));
latencies.sort((a, b) => a - b);
const pct = (p) =>
  (latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] / 1000).toFixed(3);
console.log(
  JSON.stringify({
    layer: values.layer,
    receivers,
    rate,
    frames,
    expected: frames * receivers,
    received,
    p50_ms: pct(50),
    p90_ms: pct(90),
    p99_ms: pct(99),
    max_ms: pct(100),
  }),
);
for (const ws of [...sockets, sender]) ws.terminate();
for (const s of servers) s.child.kill('SIGTERM');
setTimeout(() => process.exit(0), 500);
