#!/usr/bin/env node
// WebSocket compression (permessage-deflate) on and off: what it costs the server and saves on
// the wire. `canal serve bench/app.ts` (memory layer) pinned to CPU 0, the clients here pinned
// to CPU 1; every client offers permessage-deflate, as browsers do.
//   node bench/deflate.mjs             (SOCKETS, default 1500; RECEIVERS, default 200; MESSAGES, default 200)
// For each mode: the server's memory per idle socket (RSS and V8+external after a GC, from
// bench/soak-probe.mjs), again once every socket has echoed one 10 KB JSON message (ws keeps a
// socket's zlib streams from its first compressed message on), then a group of RECEIVERS
// sent MESSAGES messages one at a time, of ~100 bytes (chat-like) and of 10 KB (JSON): the
// server's CPU time per delivered message (/proc utime+stime) and bytes read per delivery.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SOCKETS = Number(process.env.SOCKETS ?? 1500);
const RECEIVERS = Number(process.env.RECEIVERS ?? 200);
const MESSAGES = Number(process.env.MESSAGES ?? 200);
const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

execFileSync('taskset', ['-a', '-cp', '1', String(process.pid)], { stdio: 'ignore' });

const CHAT = JSON.stringify({
  type: 'chat.message',
  room: 'lobby',
  user: 'alice',
  text: 'see you at the meeting at 3?',
});
const JSON10K = JSON.stringify({
  type: 'history',
  rows: Array.from({ length: 150 }, (_, i) => ({
    id: i,
    user: `user-${i % 7}`,
    text: 'hello there, how are you',
    ok: true,
  })),
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startServer(deflate) {
  const port = await freePort();
  const args = ['-c', '0', process.execPath, '--expose-gc', '--import', './bench/soak-probe.mjs'];
  args.push('bin/canal.mjs', 'serve', 'bench/app.ts', '--port', String(port), '--log-level', 'warn');
  args.push('--max-connections', '0', '--ping-interval', '0');
  if (deflate) args.push('--ws-per-message-deflate');
  const child = spawn('taskset', args, {
    cwd: ROOT,
    env: { ...process.env, CANAL_SOAK_PROBE_MS: '200', CANAL_SOAK_PROBE_GC: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let probe = null;
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d) => {
    for (const line of d.split('\n')) {
      if (line.startsWith('soak-probe ')) probe = JSON.parse(line.slice(11));
      else if (line) err += `${line}\n`;
    }
  });
  await new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d) => d.includes('listening on') && resolve());
    child.once('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
  });
  const pid = child.pid; // taskset execs node: the same process
  return {
    url: `ws://127.0.0.1:${port}`,
    cpuMs() {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(f[11]) + Number(f[12])) * TICK_MS; // utime + stime
    },
    async memory() {
      await sleep(1200); // two probes after the last change: the second after a GC of what it freed
      const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
      return { rss, js: probe.heapUsed + probe.external };
    },
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

function open(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: true });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function openMany(url, n) {
  const out = [];
  for (let i = 0; i < n; i += 50) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => open(url)))));
  }
  return out;
}

const closeAll = async (sockets) => {
  await Promise.all(
    sockets.map(
      (ws) => new Promise((r) => (ws.readyState === WebSocket.CLOSED ? r() : (ws.once('close', r), ws.close()))),
    ),
  );
};

const nextMessage = (ws) => new Promise((r) => ws.once('message', r));
const bytesRead = (sockets) => sockets.reduce((n, ws) => n + ws._socket.bytesRead, 0);

async function fanout(server, payload) {
  const group = `${server.url}/bench/group/g${Math.random().toString(36).slice(2)}/`;
  const receivers = await openMany(group, RECEIVERS);
  const sender = await open(group);
  await sleep(300);
  const cpu0 = server.cpuMs();
  const bytes0 = bytesRead(receivers);
  for (let i = 0; i < MESSAGES; i++) {
    const all = Promise.all(receivers.map(nextMessage));
    sender.send(payload);
    await all;
  }
  const deliveries = MESSAGES * RECEIVERS;
  const cpuUs = ((server.cpuMs() - cpu0) * 1000) / deliveries;
  const wire = (bytesRead(receivers) - bytes0) / deliveries;
  await closeAll([...receivers, sender]);
  return { cpuUs, wire };
}

const rows = [];
for (const deflate of [false, true]) {
  const server = await startServer(deflate);
  const mode = deflate ? 'on' : 'off';
  const base = await server.memory();
  const sockets = await openMany(`${server.url}/bench/echo/`, SOCKETS);
  if (deflate && sockets[0].extensions !== 'permessage-deflate') throw new Error('not negotiated');
  const idle = await server.memory();
  for (let i = 0; i < sockets.length; i += 100) {
    const some = sockets.slice(i, i + 100);
    await Promise.all(
      some.map((ws) => {
        const got = nextMessage(ws);
        ws.send(JSON10K);
        return got;
      }),
    );
  }
  const used = await server.memory();
  await closeAll(sockets);
  const per = (a, b) => ({ rss: (b.rss - a.rss) / SOCKETS, js: (b.js - a.js) / SOCKETS });
  const chat = await fanout(server, CHAT);
  const big = await fanout(server, JSON10K);
  await server.stop();
  const row = { mode, idle: per(base, idle), afterMessage: per(base, used), chat, big };
  console.log(JSON.stringify(row));
  rows.push(row);
}

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log(
  `\nserver on CPU 0, clients on CPU 1; ${SOCKETS} sockets; group of ${RECEIVERS}, ${MESSAGES} messages each`,
);
console.log(`chat payload ${CHAT.length} bytes, JSON payload ${JSON10K.length} bytes\n`);
console.log(
  '| compression | memory per idle socket (RSS / JS+external) | after one 10 KB message (RSS / JS+external) |',
);
console.log('| --- | ---: | ---: |');
for (const r of rows) {
  console.log(
    `| ${r.mode} | ${kb(r.idle.rss)} / ${kb(r.idle.js)} | ${kb(r.afterMessage.rss)} / ${kb(r.afterMessage.js)} |`,
  );
}
console.log('\n| compression | payload | server CPU per delivery | bytes on the wire per delivery |');
console.log('| --- | --- | ---: | ---: |');
for (const r of rows) {
  for (const [name, m] of [
    [`chat (${CHAT.length} B)`, r.chat],
    [`JSON (${JSON10K.length} B)`, r.big],
  ]) {
    console.log(`| ${r.mode} | ${name} | ${m.cpuUs.toFixed(1)} µs | ${Math.round(m.wire)} |`);
  }
}
