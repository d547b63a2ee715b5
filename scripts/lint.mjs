#!/usr/bin/env node
// `npm run lint` (and part of `npm test`): Biome's format and lint check over the repository
// (biome.json), then no line over 120 characters in any TypeScript or JavaScript file that git
// tracks, comments and strings included, which the formatter cannot wrap.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MAX = 120;

const biome = createRequire(import.meta.url).resolve('@biomejs/biome/bin/biome');
const check = spawnSync(process.execPath, [biome, 'check', '--max-diagnostics=50', '.'], {
  cwd: ROOT,
  stdio: 'inherit',
});
if (check.status !== 0) {
  console.error('lint: `npx biome check .` failed; `npx biome check --write .` fixes what it can');
  process.exit(check.status ?? 1);
}

const files = execFileSync('git', ['ls-files', '-z', '*.ts', '*.mjs', '*.js', '*.cjs'], { cwd: ROOT, encoding: 'utf8' })
  .split('\0')
  .filter((f) => f && !f.includes('/vendor/'));
const long = [];
for (const file of files) {
  let text;
  try {
    text = readFileSync(join(ROOT, file), 'utf8');
  } catch {
    continue; // deleted in the work tree, not yet in the index
  }
  text.split('\n').forEach((line, i) => {
    if (line.length > MAX) long.push(`${file}:${i + 1}: ${line.length} characters`);
  });
}
if (long.length > 0) {
  console.error(`lint: ${long.length} line(s) over ${MAX} characters; wrap them:\n${long.join('\n')}`);
  process.exit(1);
}
