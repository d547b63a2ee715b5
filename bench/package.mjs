#!/usr/bin/env node
// What a user installs and waits for: the packed and installed size of a Canal tarball, and,
// in a fresh project with that tarball installed, the wall time of `canal send` (JavaScript
// and TypeScript configs, Redis layer), the time from start to the listening line of
// `canal serve` (JavaScript and TypeScript apps), and the server's idle RSS.
//
//   node bench/package.mjs [tarball …]     (default: npm pack of this checkout)
//
// Each tarball is measured in a project of its own; medians of --runs runs (default 15).
// Redis on 127.0.0.1:6379 (REDIS_URL to change).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const RUNS = runsAt >= 0 ? Number(args.splice(runsAt, 2)[1]) : 15;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';

function pack() {
  const dir = mkdtempSync(join(tmpdir(), 'canal-bench-pack-'));
  execFileSync('npm', ['pack', '--pack-destination', dir, '--silent'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return join(
    dir,
    readdirSync(dir).find((f) => f.endsWith('.tgz')),
  );
}

function du(path) {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((sum, name) => sum + du(join(path, name)), 0);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function timeCommand(dir, argv, env = {}) {
  const t0 = process.hrtime.bigint();
  execFileSync(join(dir, 'node_modules', '.bin', 'canal'), argv, {
    cwd: dir,
    env: { ...process.env, ...env },
    stdio: 'ignore',
  });
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Milliseconds from spawn to the listening line, and the RSS (KiB) once idle. */
function startServer(dir, app) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(join(dir, 'node_modules', '.bin', 'canal'), ['serve', app, '--port', '0'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    const early = (code) => reject(new Error(`canal serve ${app} exited (${code}) before listening: ${out}`));
    child.stdout.setEncoding('utf8').on('data', function onData(d) {
      out += d;
      if (!/listening on/.test(out)) return;
      child.stdout.off('data', onData);
      child.off('exit', early);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      setTimeout(() => {
        const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]);
        child.kill('SIGTERM');
        child.once('exit', () => resolve({ ms, rss }));
      }, 500);
    });
    child.once('exit', early);
  });
}

const APP_JS = `export default async (scope, receive, send) => {
  if (scope.type !== 'http') return;
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
  await send({ type: 'http.response.body', body: Buffer.from('hello') });
};
`;
const APP_TS = APP_JS.replace(
  'async (scope, receive, send)',
  'async (scope: { type: string }, receive: unknown, send: (e: object) => Promise<void>)',
);
const CONFIG = `{ channelLayers: { default: { backend: 'redis', options: { hosts: ['${REDIS_URL}'] } } } }`;

async function measure(tarball) {
  const dir = mkdtempSync(join(tmpdir(), 'canal-bench-user-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'bench-user', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball], {
    cwd: dir,
    stdio: 'inherit',
  });
  writeFileSync(join(dir, 'app.js'), APP_JS);
  writeFileSync(join(dir, 'app.ts'), APP_TS);
  const js = join(dir, 'js');
  const ts = join(dir, 'ts');
  execFileSync('mkdir', ['-p', js, ts]);
  writeFileSync(join(js, 'canal.config.js'), `export default ${CONFIG};\n`);
  writeFileSync(join(ts, 'canal.config.ts'), `const config: object = ${CONFIG};\nexport default config;\n`);
  const send = (cfg) =>
    median(
      Array.from({ length: RUNS }, () => timeCommand(dir, ['send', '--config', cfg, 'bench.package', '{"type": "x"}'])),
    );
  const starts = async (app) => {
    const r = [];
    for (let i = 0; i < RUNS; i++) r.push(await startServer(dir, app));
    return { ms: median(r.map((x) => x.ms)), rss: median(r.map((x) => x.rss)) };
  };
  const js_ = await starts('app.js');
  const ts_ = await starts('app.ts');
  return {
    tarball: basename(tarball),
    packedKiB: Math.round(statSync(tarball).size / 1024),
    canalInstalledKiB:
      Math.round(du(join(dir, 'node_modules', 'canaljs')) / 1024) ||
      Math.round(du(join(dir, 'node_modules', 'canal')) / 1024),
    installedKiB: Math.round(du(join(dir, 'node_modules')) / 1024),
    packages: readdirSync(join(dir, 'node_modules')).filter((n) => !n.startsWith('.')).length,
    sendJsMs: Math.round(send(join(js, 'canal.config.js'))),
    sendTsMs: Math.round(send(join(ts, 'canal.config.ts'))),
    listenJsMs: Math.round(js_.ms),
    listenTsMs: Math.round(ts_.ms),
    idleRssJsKiB: js_.rss,
    idleRssTsKiB: ts_.rss,
  };
}

const tarballs = args.length ? args : [pack()];
const rows = [];
for (const t of tarballs) rows.push(await measure(t));
console.table(rows);
console.log(JSON.stringify(rows));
