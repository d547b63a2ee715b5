// `canal serve` listener flags: --ssl-* (HTTPS, WSS, client certificates), --uds, --fd (a
// listening socket handed over, as systemd does), and several of them at once.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { BIN, FIXTURES, runCli, startCli, stop, type Cli } from './cli-helpers.ts';
import { makeCerts, type TestCerts } from './tls-certs.ts';

const APP = `${join(FIXTURES, 'scope-app.ts')}:scopeApp`;

let certs: TestCerts;
let dir = '';
before(() => {
  certs = makeCerts();
  dir = mkdtempSync(join(tmpdir(), 'canal-cli-uds-'));
});
after(() => {
  certs.remove();
  rmSync(dir, { recursive: true, force: true });
});

// biome-ignore lint/suspicious/noExplicitAny: the app's JSON answer
function ask(options: RequestOptions & { tls?: boolean }): Promise<any> {
  const { tls, ...rest } = options;
  return new Promise((resolve, reject) => {
    const req = (tls ? httpsRequest : httpRequest)({ path: '/', agent: false, timeout: 5000, ...rest }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(JSON.parse(body)));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The list after "listening on", up to the pid. */
async function listening(cli: Cli): Promise<string> {
  return (await cli.waitFor(/canal: listening on (.+) \(pid \d+\)/))[1]!;
}

describe('canal serve listeners', { concurrency: 2 }, () => {
  it('--ssl-keyfile/--ssl-certfile serve HTTPS and WSS; --ssl-ca-certs shows client_cert_name', async () => {
    const f = certs.files;
    const cli = startCli(
      ['serve', APP, '--port', '0', '--ssl-keyfile', f.serverKey, '--ssl-certfile', f.serverCert].concat([
        '--ssl-ca-certs',
        f.caCert,
      ]),
    );
    try {
      const where = await listening(cli);
      const port = Number(where.match(/^https:\/\/127\.0\.0\.1:(\d+)$/)![1]);
      const said = await ask({
        tls: true,
        host: 'localhost',
        port,
        ca: certs.ca,
        key: certs.clientKey,
        cert: certs.clientCert,
      });
      assert.equal(said.scheme, 'https');
      assert.equal(said.tls.client_cert_name, 'CN=alice,O=Canal Tests,C=FR');
      assert.equal(said.tls.tls_version, 0x0304);
      const anonymous = await ask({ tls: true, host: 'localhost', port, ca: certs.ca });
      assert.equal(anonymous.tls.client_cert_name, null);

      const ws = new WebSocket(`wss://localhost:${port}/`, {
        ca: certs.ca,
        key: certs.clientKey,
        cert: certs.clientCert,
      });
      const first = await new Promise<string>((resolve, reject) => {
        ws.once('message', (d) => resolve(String(d)));
        ws.once('error', reject);
      });
      const wsSaid = JSON.parse(first);
      assert.equal(wsSaid.scheme, 'wss');
      assert.equal(wsSaid.tls.client_cert_name, 'CN=alice,O=Canal Tests,C=FR');
      ws.close();
    } finally {
      assert.equal(await stop(cli), 0);
    }
  });

  it('--ssl-cert-reqs 2 refuses a client without a certificate', async () => {
    const f = certs.files;
    const cli = startCli(
      ['serve', APP, '--port', '0', '--ssl-keyfile', f.serverKey, '--ssl-certfile', f.serverCert].concat([
        '--ssl-ca-certs',
        f.caCert,
        '--ssl-cert-reqs',
        '2',
      ]),
    );
    try {
      const port = Number((await listening(cli)).split(':').pop());
      await assert.rejects(ask({ tls: true, host: 'localhost', port, ca: certs.ca }));
      const said = await ask({
        tls: true,
        host: 'localhost',
        port,
        ca: certs.ca,
        key: certs.clientKey,
        cert: certs.clientCert,
      });
      assert.equal(said.tls.client_cert_name, 'CN=alice,O=Canal Tests,C=FR');
    } finally {
      assert.equal(await stop(cli), 0);
    }
  });

  it('a missing key file, a key of another certificate, a lone --ssl-certfile: one line, exit 2', async () => {
    const f = certs.files;
    const missing = join(dir, 'nope.key');
    let r = await runCli(['serve', APP, '--ssl-keyfile', missing, '--ssl-certfile', f.serverCert]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `canal: --ssl-keyfile cannot read ${JSON.stringify(missing)}: ENOENT\n`);
    r = await runCli(['serve', APP, '--ssl-keyfile', f.clientKey, '--ssl-certfile', f.serverCert]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'canal: TLS: the private key does not belong to the certificate\n');
    r = await runCli(['serve', APP, '--ssl-certfile', f.serverCert]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^canal: TLS needs both --ssl-keyfile and --ssl-certfile/);
    r = await runCli([
      'serve',
      APP,
      '--ssl-keyfile',
      f.serverKey,
      '--ssl-certfile',
      f.serverCert,
      '--ssl-cert-reqs',
      '3',
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--ssl-cert-reqs must be a whole number from 0 to 2/);
  });

  it('--uds with --uds-mode, beside --port: both served, the socket file gone after SIGTERM', async () => {
    const path = join(dir, 'canal.sock');
    const cli = startCli(['serve', APP, '--uds', path, '--uds-mode', '660', '--port', '0']);
    try {
      const where = await listening(cli);
      const m = where.match(/^http:\/\/127\.0\.0\.1:(\d+), unix:(.+)$/)!;
      assert.equal(m[2], path);
      assert.equal(statSync(path).mode & 0o777, 0o660);
      const overUnix = await ask({ socketPath: path });
      assert.deepEqual(overUnix.server, [path, null]);
      assert.equal((await ask({ host: '127.0.0.1', port: Number(m[1]) })).scheme, 'http');
      const ws = new WebSocket(`ws+unix://${path}:/chat`);
      const first = await new Promise<string>((resolve, reject) => {
        ws.once('message', (d) => resolve(String(d)));
        ws.once('error', reject);
      });
      assert.deepEqual(JSON.parse(first).server, [path, null]);
      ws.close();

      // A second server on the same socket is refused, and the first one's file stays.
      const second = await runCli(['serve', APP, '--uds', path]);
      assert.equal(second.code, 1);
      assert.match(second.stderr, /cannot listen on unix socket .*canal\.sock: a server is listening on it/);
      assert.ok(existsSync(path));
    } finally {
      assert.equal(await stop(cli), 0);
    }
    assert.equal(existsSync(path), false);
  });

  it('--fd serves a listening socket handed over by the parent (as systemd does with fd 3)', async () => {
    // python3 makes the listening socket, puts it on descriptor 3 and execs canal: what systemd
    // socket activation does (LISTEN_FDS=1 → descriptor 3).
    const script = [
      'import os, socket, sys',
      's = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)',
      'print("port", s.getsockname()[1], flush=True)',
      'if s.fileno() != 3: os.dup2(s.fileno(), 3)',
      'os.set_inheritable(3, True)',
      'os.execv(sys.argv[1], sys.argv[1:])',
    ].join('\n');
    const child = spawn('python3', ['-c', script, process.execPath, BIN, 'serve', APP, '--fd', '3'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const deadline = Date.now() + 8000;
      while (!/canal: listening on/.test(out)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no listening line\n${out}\n${err}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const port = Number(out.match(/^port (\d+)$/m)![1]);
      assert.match(out, new RegExp(`canal: listening on http://127\\.0\\.0\\.1:${port} \\(fd 3\\) \\(pid`));
      const said = await ask({ host: '127.0.0.1', port });
      assert.deepEqual(said.server, ['127.0.0.1', port]);
    } finally {
      child.kill('SIGTERM');
      assert.equal(await exited, 0, `stdout: ${out}\nstderr: ${err}`);
    }
  });

  it('--fd of a descriptor that is not a socket: a clear error, exit 1', async () => {
    const r = await runCli(['serve', APP, '--fd', '987']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^canal: cannot listen on fd 987: /);
  });
});
