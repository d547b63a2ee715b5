// The Redis layer over TLS (rediss://, a redis-server with a certificate made here) and through
// Sentinel (a real redis-server --sentinel watching a master), both started by the test.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisChannelLayer } from '../../src/layers/redis/redis-layer.ts';
import { freePort, within } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'canal-redis-tls-'));
const procs: ChildProcess[] = [];
after(() => {
  for (const p of procs) p.kill('SIGKILL');
});

function start(args: string[]): ChildProcess {
  const p = spawn('redis-server', args, { stdio: 'ignore', cwd: dir });
  procs.push(p);
  return p;
}

async function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + 8000;
  for (;;) {
    const r = spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' });
    if (r.stdout.includes('PONG')) return;
    if (Date.now() > deadline) throw new Error(`redis on port ${port} did not answer`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed (apt-get install openssl): ${r.stderr}`);
}

describe('Redis layer over TLS', () => {
  let port = 0;
  before(async () => {
    openssl([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=canal-test-ca',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
    ]);
    openssl([
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=127.0.0.1',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
    ]);
    writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    openssl([
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      'san.ext',
      '-out',
      'server.crt',
    ]);
    port = await freePort();
    start([
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--tls-cert-file',
      'server.crt',
      '--tls-key-file',
      'server.key',
      '--tls-ca-cert-file',
      'ca.crt',
      '--tls-auth-clients',
      'no',
      '--save',
      '',
      '--appendonly',
      'no',
    ]);
    const deadline = Date.now() + 8000;
    for (;;) {
      const r = spawnSync('redis-cli', ['--tls', '--cacert', join(dir, 'ca.crt'), '-p', String(port), 'ping'], {
        encoding: 'utf8',
      });
      if (r.stdout.includes('PONG')) break;
      if (Date.now() > deadline) throw new Error(`TLS redis-server on ${port} did not start: ${r.stderr}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  });

  it('sends, receives and group-sends over rediss:// with the CA given', async () => {
    const layer = new RedisChannelLayer({
      hosts: [{ address: `rediss://127.0.0.1:${port}`, tls: { ca: readFileSync(join(dir, 'ca.crt')) } }],
    });
    try {
      const c = await layer.newChannel();
      await layer.groupAdd('secure', c);
      await layer.groupSend('secure', { type: 'tls.check', ok: true });
      assert.equal((await within(layer.receive(c), 5000, 'tls receive')).ok, true);
    } finally {
      await layer.close();
    }
  });

  it('refuses a server whose certificate it cannot verify, with a clear error', async () => {
    const layer = new RedisChannelLayer({ hosts: [`rediss://127.0.0.1:${port}`], commandTimeoutMs: 800 });
    try {
      await assert.rejects(layer.send('x', { type: 't' }), { code: 'ERR_LAYER_UNAVAILABLE' });
    } finally {
      await layer.close();
    }
  });
});

describe('Redis layer through Sentinel', () => {
  let sentinelPort = 0;
  before(async () => {
    const masterPort = await freePort();
    start(['--port', String(masterPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
    await waitForPort(masterPort);
    sentinelPort = await freePort();
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(
      conf,
      `port ${sentinelPort}\nbind 127.0.0.1\n` +
        `sentinel monitor canalmaster 127.0.0.1 ${masterPort} 1\nsentinel down-after-milliseconds canalmaster 5000\n`,
    );
    start([conf, '--sentinel']);
    await waitForPort(sentinelPort);
  });

  it('finds the master through the sentinel and works', async () => {
    const layer = new RedisChannelLayer({
      hosts: [{ sentinels: [['127.0.0.1', sentinelPort]], master_name: 'canalmaster' }],
    });
    try {
      await layer.send('sentinel.work', { type: 'job', n: 1 });
      assert.equal((await within(layer.receive('sentinel.work'), 5000, 'sentinel receive')).n, 1);
    } finally {
      await layer.close();
    }
  });
});
