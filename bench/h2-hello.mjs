#!/usr/bin/env node
// HTTP hello over HTTP/2 against HTTP/1.1, with h2load (Debian: apt-get install nghttp2-client)
// as the load generator of both, so the ratio compares the protocols and not two clients:
//   h2    cleartext h2c (`canal serve --http2`), one connection carrying --streams streams at once
//   h1    HTTP/1.1, --conns keep-alive connections, one request at a time each
// The server is pinned to --server-cpu, h2load to --client-cpu. Each round starts a fresh server
// per protocol, warms it up, measures --duration seconds; the protocols alternate which goes
// first. Prints each round's requests/s and the median ratio h2 / h1.
//
//   node bench/h2-hello.mjs --rounds 4
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: o } = parseArgs({
  options: {
    rounds: { type: 'string', default: '4' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    streams: { type: 'string', default: '100' },
    conns: { type: 'string', default: '64' },
    'server-cpu': { type: 'string', default: '0' },
    'client-cpu': { type: 'string', default: '1' },
  },
});

if (spawnSync('h2load', ['--version']).error) {
  console.error('h2-hello: h2load is not installed (apt-get install nghttp2-client)');
  process.exit(2);
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startServer(h2) {
  const port = await freePort();
  const args = ['-c', o['server-cpu'], process.execPath, join(ROOT, 'bin/canal.mjs'), 'serve'];
  args.push(join(ROOT, 'bench/app.ts'), '--port', String(port), '--log-level', 'warn');
  if (h2) args.push('--http2');
  const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('listening on')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code})`)));
  });
  return { child, port };
}

function h2load(h2, port, seconds) {
  const url = `http://127.0.0.1:${port}/bench/hello`;
  const load = h2 ? ['-c', '1', '-m', o.streams] : ['--h1', '-c', o.conns, '-m', '1'];
  const r = spawnSync('taskset', ['-c', o['client-cpu'], 'h2load', ...load, '-D', String(seconds), url], {
    encoding: 'utf8',
  });
  const m = r.stdout.match(/finished in [^,]+, ([\d.]+) req\/s/);
  const ok = r.stdout.match(/requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed/);
  if (!m || !ok) throw new Error(`h2load said:\n${r.stdout}${r.stderr}`);
  if (Number(ok[2]) > 0) throw new Error(`${ok[2]} requests failed:\n${r.stdout}`);
  return Number(m[1]);
}

async function measure(h2) {
  const { child, port } = await startServer(h2);
  try {
    h2load(h2, port, Number(o.warmup));
    return h2load(h2, port, Number(o.duration));
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

const ratios = [];
for (let round = 1; round <= Number(o.rounds); round++) {
  const first = round % 2 === 1;
  const a = await measure(first);
  const b = await measure(!first);
  const [h2, h1] = first ? [a, b] : [b, a];
  ratios.push(h2 / h1);
  console.log(`round ${round}: h2 ${Math.round(h2)} req/s, h1 ${Math.round(h1)} req/s, h2/h1 ${(h2 / h1).toFixed(3)}`);
}
ratios.sort((x, y) => x - y);
const mid = ratios.length >> 1;
const median = ratios.length % 2 ? ratios[mid] : (ratios[mid - 1] + ratios[mid]) / 2;
console.log(
  `median h2/h1 ${median.toFixed(3)} (h2c: 1 connection × ${o.streams} streams; HTTP/1.1: ${o.conns} connections)`,
);
