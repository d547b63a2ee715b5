// The transport seam: node:https plugged in through the `transport` option serves HTTP and
// WebSocket over TLS with the same server wiring as node:http (scheme, upgrade, shutdown).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request, createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { createServer, type CanalServer } from '../../src/server/server.ts';
import type { TransportOptions } from '../../src/server/transport.ts';
import type { Application } from '../../src/index.ts';
import { closed, messages, opened, within } from './server-ws-helpers.ts';

let dir = '';
let tls: { key: Buffer; cert: Buffer };
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'canal-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-days',
      '1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  tls = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Answers HTTP with its scheme, echoes WebSocket frames with the scheme first. */
const app: Application = async (scope, receive, send) => {
  if (scope.type === 'http') {
    await receive();
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
    await send({ type: 'http.response.body', body: `${scope.scheme} ${scope.path}` });
  } else if (scope.type === 'websocket') {
    await receive();
    await send({ type: 'websocket.accept' });
    await send({ type: 'websocket.send', text: scope.scheme });
    for (;;) {
      const event = await receive();
      if (event.type !== 'websocket.receive') return;
      await send({ type: 'websocket.send', text: event.text, bytes: event.bytes });
    }
  }
};

describe('transport: node:https through the seam', () => {
  let server: CanalServer<HttpsServer>;
  let port = 0;
  let given: TransportOptions | null = null;
  before(async () => {
    server = createServer(app, {
      port: 0,
      drainTimeoutMs: 500,
      applicationCloseTimeoutMs: 1000,
      transport: (options) => {
        given = options;
        return createHttpsServer({ ...options, ...tls });
      },
    });
    ({ port } = await server.listen());
  });
  after(() => server.close());

  it('the transport is given the node:http options the server sets', () => {
    assert.equal(given!.maxHeaderSize, 16 * 1024);
    assert.equal(given!.headersTimeout, 60_000);
    assert.equal(given!.requestTimeout, 0);
    assert.equal(given!.requireHostHeader, false);
  });

  it('answers an HTTP request over TLS', async () => {
    const { status, body } = await within(
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/hello/', rejectUnauthorized: false }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.on('error', reject);
        req.end();
      }),
      3000,
      'https response',
    );
    assert.deepEqual({ status, body }, { status: 200, body: 'https /hello/' });
    assert.equal(server.stats().httpRequests, 1);
  });

  it('echoes WebSocket frames over wss, and closes them with 1012 on shutdown', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${port}/ws/`, { rejectUnauthorized: false });
    const got = messages(ws, 2);
    await opened(ws);
    ws.send('over tls');
    assert.deepEqual(await got, ['wss', 'over tls']);
    const bye = closed(ws);
    await server.close();
    assert.equal((await bye).code, 1012);
  });
});
