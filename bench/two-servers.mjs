#!/usr/bin/env node
// Fan-out across two `canal serve` processes through Redis, at a fixed rate: N receivers split
// over both servers, one sender on the first; every frame carries its send time, so the
// latency from send to each receive is measured on both sides. Latency percentiles in ms.
//
//   node bench/two-servers.mjs [--layer redis|redis-pubsub] [--receivers 1000] [--rate 40] [--seconds 5]
//
// Its helpers (freePort, startServer, openSocket) are exported for bench/faults.mjs.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export const freePort = () =>
  new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });

/**
 * Starts `canal serve bench/app.ts` on a free port with LAYER=`layer`, pinned to `cpu` (taskset)
 * unless it is null; `nodeArgs` go to its node, `env` is added to this process's. With `onLine`,
 * every line of its stdout and stderr is handed to it (else stderr is this process's).
 * Resolves with { port, child } once it listens.
 */
export async function startServer({ layer, cpu = null, env = {}, nodeArgs = [], onLine = null }) {
  const port = await freePort();
  const args = [...nodeArgs, join(ROOT, 'bin', 'canal.mjs'), 'serve', join(ROOT, 'bench', 'app.ts')];
  args.push('--port', String(port));
  const [command, argv] =
    cpu === null ? [process.execPath, args] : ['taskset', ['-c', String(cpu), process.execPath, ...args]];
  const child = spawn(command, argv, {
    env: { ...process.env, LAYER: layer, ...env },
    stdio: ['ignore', 'pipe', onLine ? 'pipe' : 'inherit'],
  });
  if (onLine) {
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
  }
  await new Promise((res, rej) => {
    child.stdout.on('data', (d) => String(d).includes('listening') && res());
    child.on('exit', (c) => rej(new Error(`server exited ${c}`)));
  });
  return { port, child };
}

/** Opens a WebSocket; resolves once it is open, rejects on an error (a refused handshake included). */
export const openSocket = (url) =>
  new Promise((res, rej) => {
    const ws = new WebSocket(url);
    ws.on('open', () => res(ws));
    ws.on('error', rej);
  });

async function main() {
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

  const servers = [
    await startServer({ layer: values.layer, cpu: 0 }),
    await startServer({ layer: values.layer, cpu: 0 }),
  ];
  const group = `two${process.pid}`;
  const latencies = [];
  let received = 0;
  const open = (port) => openSocket(`ws://127.0.0.1:${port}/bench/group/${group}/`);
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
  for (const [i, ws] of sockets.entries()) ws.on('message', (d) => String(d).startsWith('p') && probeSeen.add(i));
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
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
