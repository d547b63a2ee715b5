#!/usr/bin/env node
// `npm test`: type-checks everything (the type tests in test/types included), lints
// (scripts/lint.mjs), then runs every test/**/*.test.ts file under node:test.
// `npm test -- <files…>` runs just those files, unchecked.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...findTests(full));
    else if (name.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(`npm test: Node ${process.versions.node} is not supported; use Node 22.18 or newer (22, 24, 26)`);
  process.exit(1);
}

const args = process.argv.slice(2);
let files = args.filter((a) => !a.startsWith('--'));
const flags = args.filter((a) => a.startsWith('--'));
if (files.length === 0) {
  const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--noEmit'], {
    stdio: 'inherit',
  });
  if (tsc.status !== 0) {
    console.error('type check failed (tsc -p tsconfig.json)');
    process.exit(tsc.status ?? 1);
  }
  const lint = spawnSync(process.execPath, ['scripts/lint.mjs'], { stdio: 'inherit' });
  if (lint.status !== 0) {
    console.error('lint failed (npm run lint)');
    process.exit(lint.status ?? 1);
  }
  files = findTests('test');
}
const result = spawnSync(
  process.execPath,
  [
    '--import',
    './src/loader/register.ts',
    '--test',
    '--test-concurrency=2',
    '--test-timeout=120000',
    ...flags,
    ...files,
  ],
  { stdio: 'inherit', env: { ...process.env, CANAL_LOG_LEVEL: process.env.CANAL_LOG_LEVEL ?? 'error' } },
);
process.exit(result.status ?? 1);
