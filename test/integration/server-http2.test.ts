// HTTP/2 (the `http2` option) with node's own HTTP/2 client: h2 over TLS beside HTTP/1.1 and
// WebSocket on the same port (ALPN), cleartext h2c, streamed bodies both ways, many streams on
// one connection, a stream reset heard as http.disconnect, and a graceful close.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { type ClientHttp2Session, connect, constants, type IncomingHttpHeaders } from 'node:http2';
import WebSocket from 'ws';
import type { Application, HttpScope, ReceiveEvent } from '../../src/asgi/types.ts';
import { InvalidOptionError } from '../../src/errors.ts';
import { createServer, type CanalServer } from '../../src/server/server.ts';
import type { TransportServer } from '../../src/server/transport.ts';
import { makeCerts, type TestCerts } from './tls-certs.ts';

let certs: TestCerts;
before(() => (certs = makeCerts()));
after(() => certs.remove());

const disconnects: string[] = [];
let heard: (() => void) | null = null;

/** /scope: the scope as JSON; /echo: the body streamed back chunk by chunk; /hold: waits for the client. */
const app: Application = async (scope, receive, send) => {
  if (scope.type === 'websocket') {
    await receive();
    await send({ type: 'websocket.accept' });
    await send({ type: 'websocket.send', text: `${scope.scheme} ${scope.http_version}` });
    await receive();
    return;
  }
  if (scope.type !== 'http') return;
  if (scope.path === '/hold') {
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
    await send({ type: 'http.response.body', body: 'held', more_body: true });
    let event: ReceiveEvent;
    do event = await receive();
    while (event.type !== 'http.disconnect');
    disconnects.push(scope.path);
    heard?.();
    return;
  }
  if (scope.path === '/echo') {
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/octet-stream']] });
    for (;;) {
      const event = await receive();
      if (event.type !== 'http.request') return;
      if (event.more_body) await send({ type: 'http.response.body', body: event.body, more_body: true });
      else return send({ type: 'http.response.body', body: event.body });
    }
  }
  await receive();
  const { http_version, method, scheme, path, headers } = scope as HttpScope;
  const said = {
    http_version,
    method,
    scheme,
    path,
    headers: headers.map(([n, v]) => [String(n), String(v)]),
    tls: scope.extensions?.tls !== undefined,
  };
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/json']] });
  await send({ type: 'http.response.body', body: JSON.stringify(said) });
};

async function start(tls: boolean): Promise<{ server: CanalServer<TransportServer>; port: number }> {
  const server = createServer<TransportServer>(app, {
    port: 0,
    http2: true,
    tls: tls ? { key: certs.serverKey, cert: certs.serverCert } : undefined,
  });
  const { port } = await server.listen();
  return { server, port };
}

function session(url: string): ClientHttp2Session {
  return connect(url, { ca: certs.ca });
}

/** One request on a session: its response headers and whole body. */
function ask(
  client: ClientHttp2Session,
  headers: Record<string, string>,
  body?: Buffer | string,
): Promise<{ headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const stream = client.request(headers);
    const chunks: Buffer[] = [];
    let head: IncomingHttpHeaders = {};
    stream.on('response', (h) => (head = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ headers: head, body: Buffer.concat(chunks) }));
    stream.on('error', reject);
    stream.end(body);
  });
}

describe('HTTP/2', { timeout: 30_000 }, () => {
  it('h2 over TLS: http_version 2, no pseudo-headers, host from :authority, tls extension', async () => {
    const { server, port } = await start(true);
    const client = session(`https://localhost:${port}`);
    try {
      const { headers, body } = await ask(client, { ':path': '/scope?x=1', 'x-custom': 'yes' });
      assert.equal(headers[':status'], 200);
      const said = JSON.parse(String(body));
      assert.equal(said.http_version, '2');
      assert.equal(said.method, 'GET');
      assert.equal(said.scheme, 'https');
      assert.equal(said.path, '/scope');
      assert.equal(said.tls, true);
      assert.deepEqual(said.headers[0], ['host', `localhost:${port}`]);
      assert.ok(said.headers.some(([n, v]: string[]) => n === 'x-custom' && v === 'yes'));
      assert.ok(!said.headers.some(([n]: string[]) => n.startsWith(':')), JSON.stringify(said.headers));
      assert.equal(client.alpnProtocol, 'h2');
    } finally {
      client.close();
      await server.close();
    }
  });

  it('the same port answers HTTP/1.1 by ALPN, and a WebSocket (wss) on it', async () => {
    const { server, port } = await start(true);
    try {
      const said = await new Promise<{ http_version: string; scheme: string }>((resolve, reject) => {
        const req = httpsRequest({ host: 'localhost', port, path: '/scope', ca: certs.ca, agent: false }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve(JSON.parse(text)));
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(said.http_version, '1.1');
      assert.equal(said.scheme, 'https');
      const ws = new WebSocket(`wss://localhost:${port}/ws`, { ca: certs.ca });
      const first = await new Promise<string>((resolve, reject) => {
        ws.once('message', (d) => resolve(String(d)));
        ws.once('error', reject);
      });
      assert.equal(first, 'wss 1.1');
      ws.close();
      await new Promise((r) => ws.once('close', r));
    } finally {
      await server.close();
    }
  });

  it('h2c: cleartext HTTP/2 with prior knowledge', async () => {
    const { server, port } = await start(false);
    const client = session(`http://127.0.0.1:${port}`);
    try {
      const said = JSON.parse(String((await ask(client, { ':method': 'POST', ':path': '/scope' }, 'x')).body));
      assert.equal(said.http_version, '2');
      assert.equal(said.method, 'POST');
      assert.equal(said.scheme, 'http');
      assert.equal(said.tls, false);
      assert.deepEqual(said.headers[0], ['host', `127.0.0.1:${port}`]);
    } finally {
      client.close();
      await server.close();
    }
  });

  it('a 1 MiB body streamed in is streamed back whole', async () => {
    const { server, port } = await start(true);
    const client = session(`https://localhost:${port}`);
    try {
      const sent = Buffer.alloc(1024 * 1024);
      for (let i = 0; i < sent.length; i++) sent[i] = (i * 7) & 0xff;
      const stream = client.request({ ':method': 'POST', ':path': '/echo' });
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      const ended = new Promise((r) => stream.on('end', r));
      // Written in 64 KiB pieces, as a client streaming an upload does.
      for (let at = 0; at < sent.length; at += 65536) {
        if (!stream.write(sent.subarray(at, at + 65536))) await new Promise((r) => stream.once('drain', r));
      }
      stream.end();
      await ended;
      const got = Buffer.concat(chunks);
      assert.equal(got.length, sent.length);
      assert.ok(got.equals(sent));
      assert.ok(chunks.length > 1, 'the answer came in several pieces');
    } finally {
      client.close();
      await server.close();
    }
  });

  it('100 concurrent streams on one connection', async () => {
    const { server, port } = await start(false);
    const client = session(`http://127.0.0.1:${port}`);
    try {
      const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => ask(client, { ':path': `/scope/${i}` })));
      for (const [i, a] of answers.entries()) assert.equal(JSON.parse(String(a.body)).path, `/scope/${i}`);
      assert.equal(server.stats().httpRequests, 100);
    } finally {
      client.close();
      await server.close();
    }
  });

  it('a stream reset by the client is http.disconnect for its app; the connection goes on', async () => {
    const { server, port } = await start(true);
    const client = session(`https://localhost:${port}`);
    try {
      disconnects.length = 0;
      const stream = client.request({ ':path': '/hold' });
      stream.end();
      await new Promise((r) => stream.once('data', r));
      const gone = new Promise<void>((r) => (heard = r));
      stream.close(constants.NGHTTP2_CANCEL);
      await gone;
      assert.deepEqual(disconnects, ['/hold']);
      const still = JSON.parse(String((await ask(client, { ':path': '/scope' })).body));
      assert.equal(still.http_version, '2');
    } finally {
      heard = null;
      client.close();
      await server.close();
    }
  });

  it('close() lets a stream in flight finish, then ends the connection', async () => {
    const server = createServer(
      async (scope, receive, send) => {
        if (scope.type !== 'http') return;
        await receive();
        await new Promise((r) => setTimeout(r, 200));
        await send({ type: 'http.response.start', status: 200 });
        await send({ type: 'http.response.body', body: 'late' });
      },
      { port: 0, http2: true },
    );
    const { port } = await server.listen();
    const client = session(`http://127.0.0.1:${port}`);
    const answer = ask(client, { ':path': '/' });
    await new Promise((r) => setTimeout(r, 50));
    const closed = server.close();
    assert.equal(String((await answer).body), 'late');
    await closed;
    await new Promise((r) => (client.closed ? r(null) : client.once('close', r)));
  });

  it('checks the option: a boolean, not with transport', () => {
    assert.throws(
      () => createServer(app, { http2: 'yes' as unknown as boolean }),
      (e: Error) => e instanceof InvalidOptionError && /'http2' must be true or false, not yes/.test(e.message),
    );
    assert.throws(
      () => createServer(app, { http2: true, transport: () => null as unknown as TransportServer }),
      (e: Error) => e instanceof InvalidOptionError && /'http2' and 'transport' do not go together/.test(e.message),
    );
  });
});
