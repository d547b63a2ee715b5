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
import { join } from 'node:path';
import { prepareServers, WORK } from './servers.mjs';

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

const { loadgen, servers } = prepareServers({ pubsub: withPubsub, django: withDjango });

const chosen = servers.filter(([name]) => !only || only.includes(name.split('@')[0]));
const args = [join(loadgen, 'compare.mjs')];
for (const [name, cmd] of chosen) args.push('--server', `${name}=${cmd}`);
if (!argv.includes('--layers')) args.push('--layers', 'memory');
if (!argv.includes('--out')) args.push('--out', join(WORK, `results-${Date.now()}.json`));
args.push(...argv);

console.error(`bench: node ${args.map((a) => (a.includes(' ') ? `'${a}'` : a)).join(' ')}`);
const r = spawnSync(process.execPath, args, { cwd: loadgen, stdio: 'inherit' });
process.exit(r.status ?? 1);
