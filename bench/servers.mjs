// What the side-by-side runners share: the shared folders copied to bench/.work/ (ignored by
// git) and installed there with `npm ci`, so ../shared is never written to, and the servers
// they can start, by name.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SHARED = resolve(ROOT, '..', 'shared');
export const WORK = join(ROOT, 'bench', '.work');

/** Copies one shared folder into bench/.work and installs it when its lock file changed. */
function prepare(name, from) {
  const dest = join(WORK, name);
  const lock = join(from, 'package-lock.json');
  const stamp = join(dest, '.installed');
  const want = existsSync(lock) ? readFileSync(lock, 'utf8') : '';
  cpSync(from, dest, {
    recursive: true,
    filter: (src) => !src.includes('node_modules') && !src.endsWith('db.sqlite3'),
  });
  if (want && (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== want)) {
    console.error(`bench: npm ci in ${dest}`);
    const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dest, stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
    writeFileSync(stamp, want);
  }
  return dest;
}

/**
 * Prepares the load generator and the anchors; returns the load generator's folder and the
 * known servers as [name(@proto), start command] pairs, in run.mjs's default order.
 */
export function prepareServers({ pubsub = false, django = false } = {}) {
  if (!existsSync(join(SHARED, 'bench', 'compare.mjs'))) {
    console.error(`bench: ${join(SHARED, 'bench')} not found; the shared folder must sit beside the project`);
    process.exit(1);
  }
  mkdirSync(WORK, { recursive: true });
  const loadgen = prepare('loadgen', join(SHARED, 'bench'));
  const anchors = {};
  for (const a of ['raw-ws', 'socketio', 'django'])
    anchors[a] = prepare(join('anchors', a), join(SHARED, 'anchors', a));
  const canal = `node ${join(ROOT, 'bin', 'canal.mjs')} serve`;
  const servers = [
    ['raw-ws', `${anchors['raw-ws']}/start.sh`],
    ['canal', `${canal} ${join(ROOT, 'bench', 'app.ts')}`],
    ['canal-direct', `${canal} ${join(ROOT, 'bench', 'direct.ts')}`],
    ['socketio@socketio', `${anchors.socketio}/start.sh`],
  ];
  if (pubsub)
    servers.splice(2, 0, ['canal-pubsub', `env LAYER=redis-pubsub ${canal} ${join(ROOT, 'bench', 'app.ts')}`]);
  if (django) servers.push(['django', `${anchors.django}/start.sh`]);
  return { loadgen, servers };
}
