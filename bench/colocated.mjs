#!/usr/bin/env node
// Two servers measured at the same moment: both pinned to CPU 0, one load generator for each
// pinned to CPU 1, started together. Sharing one core, each server gets half of it while both
// are busy, so the ratio of their throughputs is the inverse ratio of their cost per request,
// taken under the same conditions: a slow phase of the machine slows both. On a noisy VM this
// settles a difference of a few percent that sequential runs (compare.mjs, ±15–50% a round)
// cannot. It complements run.mjs, whose figures (one server on a core of its own) are the ones
// the goals are stated in.
//
//   node bench/colocated.mjs raw-ws canal                      # HTTP hello, 6 rounds
//   node bench/colocated.mjs --workload echo-w16 canal canal-direct
//   node bench/colocated.mjs --workload fanout canal canal-direct      # 1000 group members
//   node bench/colocated.mjs canal 'before=node /tmp/canal-before/bin/canal.mjs serve /tmp/canal-before/bench/app.ts'
//
// A server is a name from run.mjs (raw-ws, canal, canal-direct) or NAME=COMMAND, run with
// sh -c and PORT set (another checkout of Canal, to measure a change). Each round starts both
// servers fresh, warms both up, measures both for --duration seconds, and alternates which
// load generator starts first. Prints each round and the median of the rounds' ratios B / A.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { prepareServers } from './servers.mjs';

const WORKLOADS = {
  http: ['http', '--conns', '64'],
  'echo-w1': ['echo', '--conns', '100', '--window', '1'],
  'echo-w16': ['echo', '--conns', '100', '--window', '16'],
  fanout: ['fanout', '--receivers', '1000', '--window', '4'],
  connect: ['connect', '--conns', '32'],
};

const { values: o, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    workload: { type: 'string', default: 'http' },
    rounds: { type: 'string', default: '6' },
    duration: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    'server-cpu': { type: 'string', default: '0' },
    'loadgen-cpu': { type: 'string', default: '1' },
  },
});
if (positionals.length !== 2 || !WORKLOADS[o.workload]) {
  console.error(
    `usage: node bench/colocated.mjs [--workload ${Object.keys(WORKLOADS).join('|')}] [--rounds N] [--duration S] A B`,
  );
  process.exit(1);
}

const { loadgen, servers } = prepareServers();
const known = new Map(servers.filter(([n]) => !n.includes('@')).map(([n, c]) => [n, c]));
function server(spec) {
  const eq = spec.indexOf('=');
  if (eq > 0) return { name: spec.slice(0, eq), command: spec.slice(eq + 1) };
  const command = known.get(spec);
  if (!command) {
    console.error(
      `colocated: unknown server ${JSON.stringify(spec)}; use one of ${[...known.keys()].join(', ')} or NAME=COMMAND`,
    );
    process.exit(1);
  }
  return { name: spec, command };
}
const pair = positionals.map(server);

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Starts a server in a process group of its own, pinned to the server CPU. */
async function start({ name, command }) {
  const port = await freePort();
  const child = spawn('taskset', ['-c', o['server-cpu'], 'sh', '-c', command], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PORT: String(port), LAYER: process.env.LAYER ?? 'memory' },
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited before it was ready: ${stderr.slice(-500)}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/bench/hello`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error(`${name} did not answer on port ${port} within 30 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', resolve);
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        resolve();
      }
    });
  return { port, stop };
}

/** One load generator run; resolves with its throughput. */
function drive(port, seconds, warmup) {
  const args = [
    join(loadgen, 'loadgen.mjs'),
    ...WORKLOADS[o.workload],
    '--url',
    `ws://127.0.0.1:${port}`,
    '--duration',
    String(seconds),
    '--warmup',
    String(warmup),
    '--json',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', o['loadgen-cpu'], process.execPath, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`loadgen exited with ${code}: ${err.slice(-500)}`));
      try {
        const r = JSON.parse(out.trim().split('\n').pop());
        if (r.errors) return reject(new Error(`loadgen saw ${r.errors} errors (first: ${r.first_error})`));
        resolve(r.throughput);
      } catch (e) {
        reject(new Error(`loadgen printed no result: ${e.message}: ${out.slice(-300)}`));
      }
    });
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const rounds = Number(o.rounds);
const ratios = [];
console.log(
  `colocated ${o.workload}: ${pair[0].name} (A) and ${pair[1].name} (B) on CPU ${o['server-cpu']}, ` +
    `load generators on CPU ${o['loadgen-cpu']}, ${rounds} rounds of ${o.duration} s`,
);
console.log(`| round | ${pair[0].name} | ${pair[1].name} | B / A |\n| ---: | ---: | ---: | ---: |`);
for (let r = 1; r <= rounds; r++) {
  const [a, b] = [await start(pair[0]), await start(pair[1])];
  try {
    // Alternate which load generator is started first, so neither side always leads.
    const first = r % 2 ? [a, b] : [b, a];
    const runs = first.map((s) => drive(s.port, Number(o.duration), Number(o.warmup)));
    const [x, y] = await Promise.all(runs);
    const [ta, tb] = r % 2 ? [x, y] : [y, x];
    ratios.push(tb / ta);
    const whole = (n) => Math.round(n).toLocaleString('en');
    console.log(`| ${r} | ${whole(ta)} | ${whole(tb)} | ${(tb / ta).toFixed(3)} |`);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}
const lo = Math.min(...ratios);
const hi = Math.max(...ratios);
console.log(
  `\nB / A: median ${median(ratios).toFixed(3)} over ${rounds} rounds (from ${lo.toFixed(3)} to ${hi.toFixed(3)})`,
);
