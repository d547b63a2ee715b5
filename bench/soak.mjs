#!/usr/bin/env node
// Soak: one `canal serve bench/app.ts` under WebSocket connect/disconnect churn with group joins
// and leaves, for a long time, watching whether its memory settles. Sockets that stay (holders,
// spread over the groups) receive every group message; churners connect to a group (or echo),
// send one frame, wait for it to come back through the channel layer, and leave, cleanly or by
// cutting the TCP connection. The server's RSS (from /proc/<pid>/status), its heap (from a
// preloaded probe, bench/soak-probe.mjs) and its open file descriptors are sampled throughout.
//
// After a warm-up, the samples are cut in thirds: the RSS growth from the first third to the
// last (medians) must stay under --max-growth, and with --gc (a collection before each heap
// sample) so must the live heap's. Also checked: no client error, the descriptors the churn
// opened are all closed again, the holders still hear their groups, and the server stops
// cleanly on SIGTERM. Exit 1 if not. Loopback only; new connections are bounded by --rate.
//
//   node bench/soak.mjs                          # 30 minutes
//   node bench/soak.mjs --minutes 10             # the run in bench/README.md
//   node bench/soak.mjs --minutes 2 --json       # one JSON line (test/faults/soak-short.test.ts)
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: o } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    rate: { type: 'string', default: '100' }, // new connections per second, at most
    churners: { type: 'string', default: '40' }, // concurrent connect/send/leave loops
    holders: { type: 'string', default: '100' },
    groups: { type: 'string', default: '20' },
    'sample-seconds': { type: 'string' },
    'warmup-seconds': { type: 'string' },
    'max-growth': { type: 'string', default: '0.2' },
    layer: { type: 'string', default: 'memory' },
    gc: { type: 'boolean', default: false }, // collect garbage before each heap sample (live heap)
    'node-flags': { type: 'string', default: '' }, // for the server's node, e.g. V8 heap sizes
    json: { type: 'boolean', default: false },
  },
});
const seconds = Number(o.minutes) * 60;
const rate = Number(o.rate);
const churners = Number(o.churners);
const holders = Number(o.holders);
const groups = Number(o.groups);
const sampleSeconds = Number(o['sample-seconds'] ?? Math.max(1, Math.min(10, seconds / 60)));
// V8 grows its heap for a few minutes under a steady load before it settles (the RSS with it).
const warmupSeconds = Number(o['warmup-seconds'] ?? Math.max(sampleSeconds * 3, Math.min(300, seconds * 0.3)));
const maxGrowth = Number(o['max-growth']);
const numbers = { seconds, rate, churners, holders, groups, sampleSeconds, warmupSeconds, maxGrowth };
for (const [k, v] of Object.entries(numbers)) {
  if (!(v >= 0) || !Number.isFinite(v)) {
    console.error(`soak: ${k} must be a number ≥ 0, not ${v}`);
    process.exit(2);
  }
}
if (rate === 0 || sampleSeconds === 0) {
  console.error('soak: --rate and --sample-seconds must be above 0');
  process.exit(2);
}
if (warmupSeconds + 3 * sampleSeconds > seconds) {
  console.error(`soak: a run of ${seconds} s leaves no samples after a warm-up of ${warmupSeconds} s`);
  process.exit(2);
}
const say = o.json ? () => {} : (line) => console.log(line);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

let running = true;
const errors = [];
const fail = (what) => {
  errors.push(what);
  if (!o.json && errors.length <= 10) console.error(`soak: ${what}`);
};

// ---- the server ------------------------------------------------------------------------------

const port = await freePort();
const server = spawn(
  process.execPath,
  [
    ...(o.gc ? ['--expose-gc'] : []),
    ...o['node-flags'].split(' ').filter(Boolean),
    '--import',
    pathToFileURL(join(ROOT, 'bench', 'soak-probe.mjs')).href,
    join(ROOT, 'bin', 'canal.mjs'),
    'serve',
    join(ROOT, 'bench', 'app.ts'),
    '--port',
    String(port),
  ],
  {
    env: {
      ...process.env,
      LAYER: o.layer,
      CANAL_SOAK_PROBE_MS: String(sampleSeconds * 1000),
      CANAL_SOAK_PROBE_GC: o.gc ? '1' : '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  },
);
let heap = null;
let exited = null;
const serverOutput = [];
server.on('exit', (code, signal) => {
  exited = { code, signal };
  if (running) fail(`the server exited during the run (${JSON.stringify(exited)})`);
});
server.stdout.on('data', (d) => {
  for (const line of String(d).split('\n')) {
    if (!line.trim() || line.includes('listening')) continue;
    serverOutput.push(line);
    if (!o.json) console.log(`server: ${line}`);
  }
});
let errBuf = '';
server.stderr.on('data', (d) => {
  errBuf += d;
  let nl;
  while ((nl = errBuf.indexOf('\n')) !== -1) {
    const line = errBuf.slice(0, nl);
    errBuf = errBuf.slice(nl + 1);
    if (line.startsWith('soak-probe ')) heap = JSON.parse(line.slice(11));
    else if (line.trim()) {
      serverOutput.push(line);
      if (!o.json) process.stderr.write(`server: ${line}\n`);
    }
  }
});
await new Promise((resolve, reject) => {
  server.stdout.on('data', (d) => String(d).includes('listening') && resolve());
  server.on('exit', (code) => reject(new Error(`soak: the server exited (${code}) before listening`)));
});
const pid = server.pid;

/** The server's resident set; NaN once it has gone. */
function rssBytes() {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}
function fds() {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

// ---- the clients -----------------------------------------------------------------------------

const url = (path) => `ws://127.0.0.1:${port}${path}`;
const groupName = (i) => `soak${i % groups}`;
const counts = { connections: 0, echoes: 0, groupRoundTrips: 0, held: 0, heldMessages: 0, cut: 0 };

function open(path) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url(path));
    const t = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no handshake on ${path} within 5 s`));
    }, 5000);
    ws.once('open', () => {
      clearTimeout(t);
      resolve(ws);
    });
    ws.once('error', (err) => {
      clearTimeout(t);
      reject(err);
    });
  });
}

/** Resolves when `ws` receives `text` (other messages are skipped); rejects after 5 s. */
function arrival(ws, text) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      ws.off('message', on);
      reject(new Error(`${JSON.stringify(text)} did not come back within 5 s`));
    }, 5000);
    const on = (d) => {
      if (String(d) !== text) return;
      clearTimeout(t);
      ws.off('message', on);
      resolve();
    };
    ws.on('message', on);
  });
}

const held = [];
for (let i = 0; i < holders; i++) {
  const ws = await open(`/bench/group/${groupName(i)}/`);
  ws.on('message', () => counts.heldMessages++);
  ws.on('close', (code) => running && fail(`a holder was closed (${code})`));
  ws.on('error', (err) => fail(`holder: ${err.message}`));
  held.push(ws);
}
counts.held = held.length;

let serial = 0;
// The rate bound: a churner waits for its slot on a shared schedule of `rate` starts a second.
let nextStart = performance.now();
async function slot() {
  const now = performance.now();
  nextStart = Math.max(nextStart + 1000 / rate, now);
  if (nextStart > now) await sleep(nextStart - now);
}

async function churn() {
  while (running) {
    await slot();
    if (!running) break;
    const id = ++serial;
    const toGroup = id % 10 < 7;
    const path = toGroup ? `/bench/group/${groupName(id)}/` : '/bench/echo/';
    let ws;
    try {
      ws = await open(path);
      ws.on('error', (err) => fail(`${path}: ${err.message}`));
      counts.connections++;
      const text = `c${id}`;
      const back = arrival(ws, text);
      ws.send(text);
      await back;
      if (toGroup) counts.groupRoundTrips++;
      else counts.echoes++;
      if (id % 3 === 0) await sleep(id % 200); // stay a while, hearing the group
      if (id % 8 === 0) {
        counts.cut++;
        ws.terminate(); // the TCP connection cut, no close frame: the server sees 1006
      } else {
        await new Promise((resolve) => {
          const t = setTimeout(() => {
            fail(`no close answer on ${path} within 5 s`);
            resolve();
          }, 5000);
          ws.once('close', () => {
            clearTimeout(t);
            resolve();
          });
          ws.close(1000);
        });
      }
    } catch (err) {
      fail(`${path}: ${err.message}`);
      ws?.terminate();
    }
  }
}

// ---- the run ---------------------------------------------------------------------------------

const mb = (b) => Math.round((b / 1048576) * 10) / 10;
const samples = [];
const t0 = performance.now();
function sample() {
  const s = {
    t: Math.round((performance.now() - t0) / 100) / 10,
    rssMB: mb(rssBytes()),
    heapUsedMB: heap ? mb(heap.heapUsed) : null,
    heapTotalMB: heap ? mb(heap.heapTotal) : null,
    externalMB: heap ? mb(heap.external) : null,
    fds: fds(),
    connections: counts.connections,
  };
  samples.push(s);
  const col = (v, w = 6) => String(v).padStart(w);
  say(
    `${col(s.t, 7)} s  rss ${col(s.rssMB)} MB  heap used ${col(s.heapUsedMB)} of ${col(s.heapTotalMB)} MB` +
      `  external ${col(s.externalMB, 5)} MB  fds ${col(s.fds, 4)}  connections ${s.connections}`,
  );
}

await sleep(500);
const fdsBefore = fds();
say(
  `soak: ${seconds} s, up to ${rate} new connections/s from ${churners} churners, ` +
    `${holders} holders in ${groups} groups, layer ${o.layer}, server pid ${pid}`,
);
sample();
const sampler = setInterval(sample, sampleSeconds * 1000);
const loops = Array.from({ length: churners }, churn);
await sleep(seconds * 1000);
running = false;
clearInterval(sampler);
await Promise.all(loops);
sample();

// Every churned socket is closed on the server too: back to the descriptors before the churn.
let fdsAfter = fds();
for (let i = 0; i < 50 && fdsAfter > fdsBefore; i++) {
  await sleep(100);
  fdsAfter = fds();
}
// The holders still hear their groups: one message to each group reaches every holder.
const heard = held.map((ws, i) =>
  arrival(ws, `final ${groupName(i)}`).then(
    () => true,
    () => false,
  ),
);
const senders = [];
try {
  for (let g = 0; g < Math.min(groups, holders); g++) senders.push(await open(`/bench/group/${groupName(g)}/`));
  for (const [g, ws] of senders.entries()) ws.send(`final ${groupName(g)}`);
} catch (err) {
  fail(`the final group messages: ${err.message}`);
}
const reached = (await Promise.all(heard)).filter(Boolean).length;
for (const ws of [...senders, ...held]) ws.terminate();

server.kill('SIGTERM');
const stopStart = performance.now();
while (!exited && performance.now() - stopStart < 15000) await sleep(50);
if (!exited) server.kill('SIGKILL');

// ---- the verdict -----------------------------------------------------------------------------

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};
const steady = samples.filter((s) => s.t >= warmupSeconds && s.t <= seconds);
const third = Math.max(1, Math.floor(steady.length / 3));
const first = steady.slice(0, third);
const last = steady.slice(-third);
const rssFirst = median(first.map((s) => s.rssMB));
const rssLast = median(last.map((s) => s.rssMB));
const growth = rssLast / rssFirst - 1;
const heapFirst = median(first.map((s) => s.heapUsedMB ?? NaN));
const heapLast = median(last.map((s) => s.heapUsedMB ?? NaN));
const heapGrowth = heapLast / heapFirst - 1;
const middle = steady[Math.floor(steady.length / 2)];
/** A measure at the start, after the warm-up, in the middle and at the end of the run. */
const curve = (key) => ({
  start: samples[0][key],
  afterWarmup: steady[0]?.[key],
  middle: middle?.[key],
  end: steady.at(-1)?.[key],
});
const errorLines = serverOutput.filter((line) => / ERROR \[/.test(line)).length;
const checks = {
  rssGrowth: growth < maxGrowth,
  // Only after a collection is the heap what is alive; without --gc it swings with the collector.
  ...(o.gc ? { liveHeapGrowth: heapGrowth < maxGrowth } : {}),
  noClientErrors: errors.length === 0,
  descriptorsClosed: fdsAfter <= fdsBefore,
  holdersStillServed: reached === held.length,
  cleanStop: exited?.code === 0,
};
const result = {
  seconds,
  rate,
  churners,
  holders,
  groups,
  layer: o.layer,
  warmupSeconds,
  sampleSeconds,
  rssMB: curve('rssMB'),
  heapUsedMB: curve('heapUsedMB'),
  rssFirstThirdMB: rssFirst,
  rssLastThirdMB: rssLast,
  rssGrowth: Math.round(growth * 1000) / 1000,
  heapGrowth: Math.round(heapGrowth * 1000) / 1000,
  heapAfterGc: o.gc,
  maxGrowth,
  fdsBefore,
  fdsAfter,
  counts,
  holdersReached: reached,
  errors: errors.slice(0, 20),
  errorCount: errors.length,
  serverErrorLines: errorLines,
  serverOutput: serverOutput.slice(0, 20),
  exit: exited,
  checks,
  pass: Object.values(checks).every(Boolean),
  samples,
};
if (o.json) console.log(JSON.stringify(result));
else {
  say('');
  const { start, afterWarmup, middle: mid, end } = result.rssMB;
  say(`RSS: start ${start} MB, after warm-up ${afterWarmup} MB, middle ${mid} MB, end ${end} MB`);
  const pct = (x) => `${(x * 100).toFixed(1)}%`;
  say(`RSS growth, first to last third after ${warmupSeconds} s of warm-up (medians): ${rssFirst} → ${rssLast} MB`);
  say(`  = ${pct(growth)} (bound ${pct(maxGrowth)})`);
  const live = o.gc ? 'live heap (after a collection)' : 'heap used (as sampled, not collected)';
  say(`${live}: first third ${heapFirst} MB, last third ${heapLast} MB = ${(heapGrowth * 100).toFixed(1)}%`);
  const { connections, groupRoundTrips, echoes, cut, heldMessages } = counts;
  say(`connections ${connections} (group round trips ${groupRoundTrips}, echoes ${echoes}, cut ${cut})`);
  say(`messages heard by the holders ${heldMessages}; holders reached at the end: ${reached}/${held.length}`);
  say(`descriptors: ${fdsBefore} before the churn, ${fdsAfter} after`);
  say(`client errors: ${errors.length}; server error lines: ${errorLines}; server exit: ${JSON.stringify(exited)}`);
  say(`checks: ${JSON.stringify(checks)} → ${result.pass ? 'PASS' : 'FAIL'}`);
}
process.exit(result.pass ? 0 : 1);
