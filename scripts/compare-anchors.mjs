#!/usr/bin/env node
// Comparisons with the reference apps that live outside the repository, in ../shared/ beside
// it: the Django reference app's own smoke checks, run against Canal (compare/*.test.ts).
// Fails, naming the folder, when it is absent.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const shared = join(root, '..', 'shared');
const django = join(shared, 'anchors', 'django');
if (!existsSync(django)) {
  console.error(
    `compare-anchors: the reference apps are missing: no folder ${django} ` +
      `(the shared folder must sit beside the project, as ../shared)`,
  );
  process.exit(1);
}
const files = readdirSync(join(root, 'compare'))
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => join('compare', f));
const r = spawnSync(
  process.execPath,
  ['--import', './src/loader/register.ts', '--test', '--test-timeout=180000', ...files],
  {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, CANAL_LOG_LEVEL: process.env.CANAL_LOG_LEVEL ?? 'error' },
  },
);
process.exit(r.status ?? 1);
