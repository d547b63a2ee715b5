// Listeners of the programmatic server: `tls` (HTTPS, WSS, client certificates, the ASGI tls
// scope extension), unix sockets, and several listeners served by one server.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { createServer, type CanalServer } from '../../src/server/server.ts';
import { httpTransport } from '../../src/server/transport.ts';
import { InvalidOptionError, type ServerOptions, type TlsExtension } from '../../src/index.ts';
import { scopeApp } from '../fixtures/scope-app.ts';
import { makeCerts, type TestCerts } from './tls-certs.ts';
import { closed, opened, within } from './server-ws-helpers.ts';

interface Said {
  scheme: string;
  server: [string, number | null] | null;
  client: [string, number] | null;
  tls: TlsExtension | null;
}

let certs: TestCerts;
let dir = '';
before(() => {
  certs = makeCerts();
  dir = mkdtempSync(join(tmpdir(), 'canal-uds-'));
});
after(() => {
  certs.remove();
  rmSync(dir, { recursive: true, force: true });
});

const servers: CanalServer[] = [];
after(() => Promise.all(servers.map((s) => s.close())));

async function start(options: ServerOptions): Promise<CanalServer> {
  const server = createServer(scopeApp, { applicationCloseTimeoutMs: 1000, drainTimeoutMs: 500, ...options });
  servers.push(server);
  await server.listen();
  return server;
}

function ask(options: RequestOptions & { tls?: boolean }): Promise<Said> {
  const { tls, ...rest } = options;
  return within(
    new Promise<Said>((resolve, reject) => {
      const req = (tls ? httpsRequest : httpRequest)({ path: '/', agent: false, ...rest }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(JSON.parse(body) as Said));
      });
      req.on('error', reject);
      req.end();
    }),
    3000,
    'response',
  );
}

function wsSays(ws: WebSocket): Promise<Said> {
  return within(
    new Promise<Said>((resolve, reject) => {
      ws.once('message', (data) => resolve(JSON.parse(String(data)) as Said));
      ws.once('error', reject);
    }),
    3000,
    'websocket message',
  );
}

const pem = (b: Buffer) => new X509Certificate(b).toString();

describe('tls option', () => {
  it('serves HTTPS with the tls scope extension: server certificate, version, cipher suite', async () => {
    const server = await start({ port: 0, tls: { key: certs.serverKey, cert: certs.serverCert } });
    const { port } = server.address()!;
    const said = await ask({ tls: true, host: 'localhost', port, ca: certs.ca });
    assert.equal(said.scheme, 'https');
    const tls = said.tls!;
    assert.equal(tls.server_cert, pem(certs.serverCert));
    assert.deepEqual(tls.client_cert_chain, []);
    assert.equal(tls.client_cert_name, null);
    assert.equal(tls.client_cert_error, null);
    assert.equal(tls.tls_version, 0x0304);
    assert.ok([0x1301, 0x1302, 0x1303].includes(tls.cipher_suite!), `TLS 1.3 suite, not ${tls.cipher_suite}`);

    const v12 = (await ask({ tls: true, host: 'localhost', port, ca: certs.ca, maxVersion: 'TLSv1.2' })).tls!;
    assert.equal(v12.tls_version, 0x0303);
    // An ECDSA key: one of the ECDHE-ECDSA suites OpenSSL offers by default.
    assert.ok([0xc02b, 0xc02c, 0xcca9].includes(v12.cipher_suite!), `ECDHE-ECDSA suite, not ${v12.cipher_suite}`);
  });

  it('plain HTTP scopes have no tls extension', async () => {
    const server = await start({ port: 0 });
    const said = await ask({ host: '127.0.0.1', port: server.address()!.port });
    assert.equal(said.scheme, 'http');
    assert.equal(said.tls, null);
  });

  it('with a CA, asks for a client certificate: its name and chain reach the scope; none is fine too', async () => {
    const server = await start({ port: 0, tls: { key: certs.serverKey, cert: certs.serverCert, ca: certs.ca } });
    const { port } = server.address()!;
    const client = { key: certs.clientKey, cert: certs.clientCert };
    const said = await ask({ tls: true, host: 'localhost', port, ca: certs.ca, ...client });
    assert.equal(said.tls!.client_cert_name, 'CN=alice,O=Canal Tests,C=FR');
    assert.equal(said.tls!.client_cert_chain[0], pem(certs.clientCert));
    assert.equal(said.tls!.client_cert_error, null);

    const none = await ask({ tls: true, host: 'localhost', port, ca: certs.ca });
    assert.equal(none.tls!.client_cert_name, null);
    assert.deepEqual(none.tls!.client_cert_chain, []);

    // A certificate that no CA of the server signed is refused.
    const other = makeCerts();
    try {
      await assert.rejects(
        ask({ tls: true, host: 'localhost', port, ca: certs.ca, key: other.clientKey, cert: other.clientCert }),
      );
    } finally {
      other.remove();
    }

    const ws = new WebSocket(`wss://localhost:${port}/ws`, { ca: certs.ca, ...client });
    const first = wsSays(ws);
    await opened(ws);
    const wsSaid = await first;
    assert.equal(wsSaid.scheme, 'wss');
    assert.equal(wsSaid.tls!.client_cert_name, 'CN=alice,O=Canal Tests,C=FR');
    const bye = closed(ws);
    ws.close();
    await bye;
  });

  it("clientCert 'required' refuses a client without a certificate", async () => {
    const tls = { key: certs.serverKey, cert: certs.serverCert, ca: certs.ca, clientCert: 'required' as const };
    const server = await start({ port: 0, tls });
    const { port } = server.address()!;
    await assert.rejects(ask({ tls: true, host: 'localhost', port, ca: certs.ca }));
    const said = await ask({
      tls: true,
      host: 'localhost',
      port,
      ca: certs.ca,
      key: certs.clientKey,
      cert: certs.clientCert,
    });
    assert.equal(said.tls!.client_cert_name, 'CN=alice,O=Canal Tests,C=FR');
  });

  it('refuses a key that does not belong to the certificate, and tls beside transport', () => {
    assert.throws(
      () => createServer(scopeApp, { tls: { key: certs.clientKey, cert: certs.serverCert } }),
      (err: Error) =>
        err instanceof InvalidOptionError && /private key does not belong to the certificate/.test(err.message),
    );
    assert.throws(
      () => createServer(scopeApp, { tls: { key: certs.serverKey, cert: certs.serverCert }, transport: httpTransport }),
      /'tls' and 'transport' do not go together/,
    );
    assert.throws(() => createServer(scopeApp, { tls: { key: certs.serverKey } as never }), /'tls.cert' must be PEM/);
  });
});

describe('listen option', () => {
  it('serves a unix socket: scope server is [path, null], mode applied, HTTP and WebSocket', async () => {
    const path = join(dir, 'a.sock');
    const server = await start({ listen: [{ path, mode: 0o660 }] });
    assert.deepEqual(server.addresses(), [{ path }]);
    assert.equal(statSync(path).mode & 0o777, 0o660);
    const said = await ask({ socketPath: path });
    assert.deepEqual(
      { scheme: said.scheme, server: said.server, client: said.client },
      {
        scheme: 'http',
        server: [path, null],
        client: null,
      },
    );
    const ws = new WebSocket(`ws+unix://${path}:/ws`);
    const first = wsSays(ws);
    await opened(ws);
    assert.deepEqual((await first).server, [path, null]);
    await server.close();
    assert.equal(existsSync(path), false, 'the socket file is removed on close');
  });

  it('removes a stale socket file, refuses a live one and a file that is not a socket', async () => {
    const stale = join(dir, 'stale.sock');
    // What a killed server leaves: a socket file that nothing listens on.
    execFileSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', stale]);
    assert.ok(statSync(stale).isSocket());
    const server = await start({ listen: [{ path: stale }] });
    assert.equal((await ask({ socketPath: stale })).scheme, 'http');

    await assert.rejects(
      createServer(scopeApp, { listen: [{ path: stale }] }).listen(),
      /cannot listen on unix socket .*stale\.sock: a server is listening on it/,
    );
    const file = join(dir, 'plain-file');
    writeFileSync(file, 'x');
    await assert.rejects(createServer(scopeApp, { listen: [{ path: file }] }).listen(), /a file that is not a socket/);
    await server.close();
  });

  it('serves TCP, a unix socket and TLS on both from one server, and closes them all', async () => {
    const path = join(dir, 'both.sock');
    const server = await start({
      listen: [{ host: '127.0.0.1', port: 0 }, { path }],
      tls: { key: certs.serverKey, cert: certs.serverCert },
    });
    const [tcp, unix] = server.addresses() as [{ host: string; port: number }, { path: string }];
    assert.equal(unix.path, path);
    const overTcp = await ask({ tls: true, host: 'localhost', port: tcp.port, ca: certs.ca });
    assert.equal(overTcp.scheme, 'https');
    assert.equal(overTcp.server![0], '127.0.0.1');
    const overUnix = await ask({ tls: true, socketPath: path, ca: certs.ca, servername: 'localhost' });
    assert.deepEqual([overUnix.scheme, overUnix.server], ['https', [path, null]]);
    assert.equal(overUnix.tls!.tls_version, 0x0304);
    const ws = new WebSocket(`wss://localhost:${tcp.port}/`, { ca: certs.ca });
    await opened(ws);
    const bye = closed(ws);
    await server.close();
    assert.equal((await bye).code, 1012);
    assert.equal(existsSync(path), false);
    assert.equal(
      server.httpServers.every((s) => !s.listening),
      true,
    );
  });

  it('checks the list, and does not take it beside host or port', () => {
    assert.throws(() => createServer(scopeApp, { listen: [] }), /non-empty list/);
    assert.throws(
      () => createServer(scopeApp, { listen: [{ path: '/x', port: 1 } as never] }),
      /'listen\[0\]' must be/,
    );
    assert.throws(() => createServer(scopeApp, { listen: [{ path: '/x', mode: 0o1777 }] }), /mode must be/);
    assert.throws(() => createServer(scopeApp, { listen: [{ host: 'x', port: 70000 }] }), /port must be 0–65535/);
    assert.throws(() => createServer(scopeApp, { port: 0, listen: [{ fd: 3 }] }), /'listen' and 'host'\/'port'/);
  });

  it('a descriptor that is not a listening socket is named in the error', async () => {
    await assert.rejects(createServer(scopeApp, { listen: [{ fd: 987 }] }).listen(), /cannot listen on fd 987/);
  });
});
