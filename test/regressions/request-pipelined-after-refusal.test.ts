// A request pipelined behind one refused with 400 and `Connection: close` (HTTP/1.1 without
// Host, which node:http used to refuse itself), found by the fuzz suite (default seed, HTTP case 51, on Node 22).
// RFC 9112 §9.6: once a server has answered with `close` it must not process further requests
// on that connection, so the app must not run one whose answer can never be sent. And whatever
// happens to it, nothing may stay in flight once the client has gone: on Node 22 it did, and
// close() then never finished. The server now checks Host itself and processes nothing after
// its own `close` answer.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { createServer, type CanalServer } from '../../src/server/index.ts';
import type { Application } from '../../src/asgi/types.ts';
import { SendAfterCloseError } from '../../src/errors.ts';
import { sleep, within } from '../faults/fuzz-setup.ts';

const servers: { server: CanalServer; sockets: Set<Socket> }[] = [];
after(async () => {
  // The stuck connection of a failing case would keep close() waiting: cut every socket first.
  for (const { server, sockets } of servers) {
    for (const s of sockets) s.destroy();
    await within(server.close(), 5000, 'server close').catch(() => undefined);
  }
});

/** Serves an app that records the requests it is given and answers each with 200 "ok". */
async function serve(seen: string[]): Promise<{ port: number; server: CanalServer }> {
  const app: Application = async (scope, receive, send) => {
    if (scope.type !== 'http') return;
    seen.push(`${scope.method} ${scope.path}`);
    for (;;) {
      const e = await receive();
      if (e.type === 'http.disconnect') return;
      if (e.type === 'http.request' && !e.more_body) break;
    }
    try {
      await send({ type: 'http.response.start', status: 200, headers: [['content-length', '2']] });
      await send({ type: 'http.response.body', body: Buffer.from('ok') });
    } catch (err) {
      if (!(err instanceof SendAfterCloseError)) throw err;
    }
  };
  const server = createServer(app, { port: 0, applicationCloseTimeoutMs: 500, drainTimeoutMs: 500 });
  const sockets = new Set<Socket>();
  server.httpServer.on('connection', (s: Socket) => sockets.add(s));
  servers.push({ server, sockets });
  const { port } = await server.listen();
  return { port, server };
}

const REFUSED = 'GET /no-host HTTP/1.1\r\n\r\n';
const PIPELINED = 'POST /transfer HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789';

/** Sends both requests in one write; returns what came back before the client leaves. */
async function exchange(port: number): Promise<string> {
  const sock = connect(port, '127.0.0.1');
  sock.on('error', () => {});
  const got: Buffer[] = [];
  sock.on('data', (d) => got.push(d));
  await within(new Promise((r) => sock.once('connect', r)), 2000, 'connect');
  sock.write(REFUSED + PIPELINED);
  await sleep(300);
  sock.destroy();
  return Buffer.concat(got).toString('latin1');
}

describe('a request pipelined behind one node:http refuses with 400 and Connection: close', () => {
  it('is not handed to the app', async () => {
    const seen: string[] = [];
    const { port } = await serve(seen);
    const answer = await exchange(port);
    assert.match(answer, /^HTTP\/1\.1 400 /);
    await sleep(100);
    assert.deepEqual(seen, [], 'the app was given a request on a connection the server closes');
  });

  it('leaves nothing in flight once the client has gone, and close() finishes', async () => {
    const { port, server } = await serve([]);
    await exchange(port);
    const deadline = Date.now() + 2000;
    while (server.stats().httpInFlight > 0 && Date.now() < deadline) await sleep(20);
    assert.equal(server.stats().httpInFlight, 0, 'a request is still in flight 2 s after its client left');
    await within(server.close(), 3000, 'server close');
  });
});
