#!/usr/bin/env node
// Side-by-side benchmark: Canal against the anchors in ../shared/anchors, driven by the neutral
// load generator in ../shared/bench (compare.mjs: server on CPU 0, load generator on CPU 1,
// a fresh server per run, rounds interleaved, medians and ratios to the first server).
//
//   node bench/run.mjs                         # raw-ws, canal, canal-direct, socketio; memory layer
//   node bench/run.mjs --django                # add Django Channels on Daphne
//   node bench/run.mjs --rounds 5 --workloads echo-w16,fanout
//   node bench/run.mjs --servers raw-ws,canal  # a subset
//   node bench/run.mjs --layers redis --pubsub # Redis mode, with Canal's pub/sub layer as well
//
// The shared folders are copied to bench/.work/ (ignored by git) and installed there with
// `npm ci`, so ../shared is never written to. Other options go to compare.mjs unchanged.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SHARED = resolve(ROOT, '..', 'shared');
const WORK = join(ROOT, 'bench', '.work');

if (!existsSync(join(SHARED, 'bench', 'compare.mjs'))) {
  console.error(`bench: ${join(SHARED, 'bench')} not found; the shared folder must sit beside the project`);
  process.exit(1);
}

const argv = process.argv.slice(2);
function takeFlag(name) {
  const i = argv.indexOf(name);
  if (i < 0) return false;
  argv.splice(i, 1);
  return true;
}
function takeValue(name) {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  argv.splice(i, 2);
  return v;
}
const withDjango = takeFlag('--django');
const withPubsub = takeFlag('--pubsub');
const only = takeValue('--servers')?.split(',');

/** Copies one shared folder into bench/.work and installs it when its lock file changed. */
function prepare(name, from) {
  const dest = join(WORK, name);
  const lock = join(from, 'package-lock.json');
  const stamp = join(dest, '.installed');
  const want = existsSync(lock) ? readFileSync(lock, 'utf8') : '';
  cpSync(from, dest, { recursive: true, filter: (src) => !src.includes('node_modules') && !src.endsWith('db.sqlite3') });
  if (want && (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== want)) {
    console.error(`bench: npm ci in ${dest}`);
    const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dest, stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
    writeFileSync(stamp, want);
  }
  return dest;
}

mkdirSync(WORK, { recursive: true });
const loadgen = prepare('loadgen', join(SHARED, 'bench'));
const anchors = {};
for (const a of ['raw-ws', 'socketio', 'django']) anchors[a] = prepare(join('anchors', a), join(SHARED, 'anchors', a));

const canal = `node ${join(ROOT, 'bin', 'canal.mjs')} serve`;
const servers = [
  ['raw-ws', `${anchors['raw-ws']}/start.sh`],
  ['canal', `${canal} ${join(ROOT, 'bench', 'app.ts')}`],
  ['canal-direct', `${canal} ${join(ROOT, 'bench', 'direct.ts')}`],
  ['socketio@socketio', `${anchors.socketio}/start.sh`],
];
if (withPubsub) servers.splice(2, 0, ['canal-pubsub', `env LAYER=redis-pubsub ${canal} ${join(ROOT, 'bench', 'app.ts')}`]);
if (withDjango) servers.push(['django', `${anchors.django}/start.sh`]);

const chosen = servers.filter(([name]) => !only || only.includes(name.split('@')[0]));
const args = [join(loadgen, 'compare.mjs')];
for (const [name, cmd] of chosen) args.push('--server', `${name}=${cmd}`);
if (!argv.includes('--layers')) args.push('--layers', 'memory');
if (!argv.includes('--out')) args.push('--out', join(WORK, `results-${Date.now()}.json`));
args.push(...argv);

console.error(`bench: node ${args.map((a) => (a.includes(' ') ? `'${a}'` : a)).join(' ')}`);
const r = spawnSync(process.execPath, args, { cwd: loadgen, stdio: 'inherit' });
process.exit(r.status ?? 1);
