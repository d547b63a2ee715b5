// Regression: maxRequestBodyBytes was checked only on the bytes an app read. An app that
// answered without reading the body (a redirect, a 200 "ok") let a chunked body of any size
// through: a 2 MiB body against a 1 MiB limit got 200 while node read and dropped it all. The
// rest of the body is now read before such a response goes out; past the limit the answer is
// 413 and the connection closes.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { createServer, type CanalServer } from '../../src/server/server.ts';
import type { Application } from '../../src/index.ts';

const servers: CanalServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

const MiB = 1024 * 1024;
let calls = 0;
/** Answers at once, never reading the request body. */
const unread: Application = async (scope, _receive, send) => {
  if (scope.type !== 'http') return;
  calls++;
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
  await send({ type: 'http.response.body', body: 'ok' });
};

async function serve(app: Application): Promise<number> {
  const withoutLifespan: Application = async (scope, receive, send) =>
    scope.type === 'lifespan' ? undefined : app(scope, receive, send);
  const server = createServer(withoutLifespan, { port: 0, maxRequestBodyBytes: MiB, drainTimeoutMs: 200 });
  servers.push(server);
  return (await server.listen()).port;
}

/**
 * Sends a chunked POST of `size` bytes in 64 KiB chunks (stopping when the server closes), then
 * `then` if given; resolves with all the server wrote once it closes (or after 5 s).
 */
function chunkedPost(port: number, size: number, then = ''): Promise<{ reply: string; closed: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let closed = false;
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.on('data', (d) => chunks.push(d));
    const done = () => resolve({ reply: Buffer.concat(chunks).toString('latin1'), closed });
    const timer = setTimeout(() => {
      socket.destroy();
      done();
    }, 5000);
    socket.on('close', () => {
      closed = true;
      clearTimeout(timer);
      done();
    });
    socket.once('connect', async () => {
      socket.write('POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n');
      const piece = Buffer.alloc(64 * 1024, 'x');
      for (let sent = 0; sent < size && !socket.destroyed; sent += piece.length) {
        const ok = socket.write(`${piece.length.toString(16)}\r\n`) && socket.write(piece) && socket.write('\r\n');
        if (!ok) await new Promise((r) => (socket.once('drain', r), socket.once('close', r)));
      }
      if (!socket.destroyed) socket.write('0\r\n\r\n' + then);
      if (then === '' && !socket.destroyed) setTimeout(() => socket.end(), 500);
    });
  });
}

describe('a chunked body the app never reads', () => {
  it('over maxRequestBodyBytes gets 413 and the connection closes', async () => {
    const port = await serve(unread);
    const { reply, closed } = await chunkedPost(port, 2 * MiB);
    assert.match(reply, /^HTTP\/1\.1 413 /, reply.slice(0, 200));
    assert.doesNotMatch(reply, /200 OK/);
    assert.ok(closed, 'the server closed the connection');
  });

  it('within maxRequestBodyBytes gets the app response, and the connection serves the next request', async () => {
    calls = 0;
    const port = await serve(unread);
    const next = 'GET /next HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n';
    const { reply } = await chunkedPost(port, MiB / 2, next);
    const answers = reply.match(/^HTTP\/1\.1 \d{3}/gm) ?? [];
    assert.deepEqual(answers, ['HTTP/1.1 200', 'HTTP/1.1 200'], reply);
    assert.equal(calls, 2);
  });
});
