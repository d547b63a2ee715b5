// A WebSocket upgrade pipelined behind a request that is still being answered, on one
// keep-alive connection (found by the fuzz suite, CANAL_FUZZ_SEED=7). The earlier request's
// response must still reach the client, whole and before anything about the upgrade: the server
// handles the upgrade once the responses before it are done.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { createServer, type CanalServer } from '../../src/server/index.ts';
import type { Application } from '../../src/asgi/types.ts';
import { SendAfterCloseError } from '../../src/errors.ts';
import { sleep, within } from './fuzz-setup.ts';

/**
 * Reads the whole body, then answers 200 "ok" a little later (so the upgrade behind it is always
 * seen first); accepts WebSockets and waits for their end.
 */
const app: Application = async (scope, receive, send) => {
  if (scope.type === 'lifespan') return;
  if (scope.type === 'websocket') {
    await receive();
    await send({ type: 'websocket.accept' });
    while ((await receive()).type !== 'websocket.disconnect');
    return;
  }
  for (;;) {
    const e = await receive();
    if (e.type === 'http.disconnect') return;
    if (e.type === 'http.request' && !e.more_body) break;
  }
  await sleep(50);
  try {
    await send({ type: 'http.response.start', status: 200, headers: [['content-length', '2']] });
    await send({ type: 'http.response.body', body: Buffer.from('ok') });
  } catch (err) {
    // A server that handled the upgrade first would have ended the connection by now.
    if (!(err instanceof SendAfterCloseError)) throw err;
  }
};

const servers: { server: CanalServer; sockets: Set<Socket> }[] = [];
after(async () => {
  // The stuck socket of a failing case would keep close() waiting: cut every socket first.
  for (const { server, sockets } of servers) {
    for (const s of sockets) s.destroy();
    await within(server.close(), 5000, 'server close').catch(() => undefined);
  }
});

async function serve(keepAliveTimeoutMs = 5000): Promise<number> {
  const server = createServer(app, {
    port: 0,
    applicationCloseTimeoutMs: 500,
    drainTimeoutMs: 500,
    keepAliveTimeoutMs,
  });
  const sockets = new Set<Socket>();
  server.httpServer.on('connection', (s: Socket) => sockets.add(s));
  servers.push({ server, sockets });
  const { port } = await server.listen();
  return port;
}

const FIRST = 'PUT /first HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc';
const upgrade = (version: string) =>
  `GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: ${version}\r\n\r\n`;

/** Writes `parts` 5 ms apart on one connection; returns what came back after `ms`, and the socket. */
async function send(port: number, parts: string[], ms = 300): Promise<{ text: string; sock: Socket }> {
  const sock = connect(port, '127.0.0.1');
  sock.on('error', () => {});
  const got: Buffer[] = [];
  sock.on('data', (d) => got.push(d));
  await within(new Promise((r) => sock.once('connect', r)), 2000, 'connect');
  for (const p of parts) {
    sock.write(p);
    await sleep(5);
  }
  await sleep(ms);
  return { text: Buffer.concat(got).toString('latin1'), sock };
}

describe('a WebSocket upgrade pipelined behind an unanswered request', () => {
  it('refused upgrade: the earlier response still arrives, before the refusal', async () => {
    const port = await serve();
    const { text, sock } = await send(port, [FIRST.slice(0, 40), FIRST.slice(40) + upgrade('')]);
    sock.destroy();
    assert.match(text, /^HTTP\/1\.1 200 [\s\S]*\r\n\r\nokHTTP\/1\.1 400 /, JSON.stringify(text));
  });

  it('accepted upgrade: the earlier response goes before the 101, not after it', async () => {
    const port = await serve();
    const { text, sock } = await send(port, [FIRST.slice(0, 40), FIRST.slice(40) + upgrade('13')]);
    sock.destroy();
    assert.match(text, /^HTTP\/1\.1 200 [\s\S]*\r\n\r\nok/, JSON.stringify(text));
    const switched = text.indexOf('HTTP/1.1 101 ');
    if (switched !== -1) assert.ok(text.endsWith('\r\n\r\n'), `after the 101: ${JSON.stringify(text.slice(switched))}`);
  });

  it('accepted upgrade: the WebSocket outlives the keep-alive timeout of the response before it', async () => {
    const port = await serve(100);
    const { text, sock } = await send(port, [FIRST + upgrade('13')], 600);
    assert.match(text, /^HTTP\/1\.1 200 [\s\S]*\r\n\r\nokHTTP\/1\.1 101 /, JSON.stringify(text));
    assert.equal(sock.destroyed, false, 'the upgraded socket was closed');
    // A ping (masked, empty) is answered with a pong: the WebSocket is alive.
    const pong = new Promise<Buffer>((r) => sock.once('data', r));
    sock.write(Buffer.from([0x89, 0x80, 1, 2, 3, 4]));
    const frame = await within(pong, 2000, 'pong');
    assert.equal(frame[0], 0x8a);
    sock.destroy();
  });
});
