#!/usr/bin/env node
// Runs the layer benchmark for Canal and channels_redis side by side, each pinned to CPU 0
// (Redis takes what it needs), ROUNDS rounds interleaved; prints medians and the ratio.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const rounds = Number(process.env.ROUNDS ?? 3);
const results = {};
for (let r = 0; r < rounds; r++) {
  for (const [impl, cmd] of [
    ['canal', [process.execPath, join(here, 'canal.ts')]],
    ['channels_redis', ['/usr/bin/python3', join(here, 'channels_redis_bench.py')]],
  ]) {
    const out = spawnSync('taskset', ['-c', '0', ...cmd], { encoding: 'utf8', env: process.env, timeout: 600_000 });
    if (out.status !== 0) {
      console.error(
        `${impl} failed (${out.signal ? `killed by ${out.signal} after 600 s` : `exit ${out.status}`}): ${out.stderr}`,
      );
      process.exit(1);
    }
    for (const line of out.stdout.trim().split('\n')) {
      const j = JSON.parse(line);
      ((results[j.workload] ??= { unit: j.unit })[impl] ??= []).push(j.value);
    }
    console.error(
      `round ${r + 1} ${impl}: ${out.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .map((j) => `${j.workload} ${j.value}`)
        .join(', ')}`,
    );
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  `\n| workload | unit | canal | channels_redis | canal / channels_redis |\n| --- | --- | ---: | ---: | ---: |`,
);
for (const [w, r] of Object.entries(results)) {
  const c = median(r.canal);
  const p = median(r.channels_redis);
  console.log(`| ${w} | ${r.unit} | ${c.toLocaleString('en')} | ${p.toLocaleString('en')} | ${(c / p).toFixed(2)} |`);
}
