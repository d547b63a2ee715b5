// The WebSocket side of the interface server, with the real `ws` client on real sockets.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { createServer } from '../../src/server/server.ts';
import type { WebsocketScope } from '../../src/index.ts';
import { closed, echo, opened, refusal, serve, within } from './server-ws-helpers.ts';

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; binary: boolean }> {
  return within(
    new Promise((resolve) => ws.once('message', (data: Buffer, binary) => resolve({ data, binary }))),
    3000,
    'message',
  );
}

describe('WebSocket: handshake', () => {
  it('accepts with the chosen subprotocol and extra headers; builds the scope', async () => {
    let scope: WebsocketScope | null = null;
    const { url } = await serve(async (s, receive, send) => {
      scope = s as WebsocketScope;
      await receive();
      await send({ type: 'websocket.accept', subprotocol: 'chat.v2', headers: [['x-welcome', 'yes']] });
      await receive();
    });
    const ws = new WebSocket(url + '/ws/caf%C3%A9/?room=1', ['chat.v1', 'chat.v2']);
    let headers: Record<string, unknown> = {};
    ws.on('upgrade', (res) => (headers = res.headers));
    await opened(ws);
    assert.equal(ws.protocol, 'chat.v2');
    assert.equal(headers['x-welcome'], 'yes');
    const s = scope! as WebsocketScope;
    assert.equal(s.path, '/ws/café/');
    assert.equal(s.query_string.toString(), 'room=1');
    assert.deepEqual(s.subprotocols, ['chat.v1', 'chat.v2']);
    assert.equal(s.scheme, 'ws');
    ws.close();
  });

  it('a close before accept refuses the handshake with 403', async () => {
    const { url } = await serve(async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.close' });
    });
    assert.equal((await refusal(url + '/')).status, 403);
  });

  it('the denial-response extension answers with any status and body', async () => {
    const { url } = await serve(async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.http.response.start', status: 401, headers: [['content-type', 'text/plain']] });
      await send({ type: 'websocket.http.response.body', body: 'token expired', more_body: true });
      await send({ type: 'websocket.http.response.body', body: ' — log in again' });
    });
    const { status, body, headers } = await refusal(url + '/');
    assert.deepEqual(
      { status, body, type: headers['content-type'] },
      { status: 401, body: 'token expired — log in again', type: 'text/plain' },
    );
  });

  it('a subprotocol the client did not offer is an ERR_INVALID_EVENT', async () => {
    let error: (Error & { code?: string }) | null = null;
    const { url } = await serve(async (_s, receive, send) => {
      await receive();
      try {
        await send({ type: 'websocket.accept', subprotocol: 'other' });
      } catch (err) {
        error = err as Error;
        await send({ type: 'websocket.close' });
      }
    });
    assert.equal((await refusal(url + '/', ['mine'])).status, 403);
    assert.equal(error!.code, 'ERR_INVALID_EVENT');
  });

  it('drops a handshake the app does not answer within the timeout, and the app hears a disconnect', async () => {
    let heard: string | null = null;
    const { url } = await serve(
      async (_s, receive) => {
        await receive();
        heard = (await receive()).type;
      },
      { websocketHandshakeTimeoutMs: 150 },
    );
    assert.equal((await refusal(url + '/')).status, 503);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(heard, 'websocket.disconnect');
  });

  it('an app that raises before accepting refuses with 403; the server keeps serving', async () => {
    const { url } = await serve(async (scope, receive, send) => {
      if ((scope as WebsocketScope).path === '/boom') throw new Error('boom');
      return echo()(scope, receive, send);
    });
    assert.equal((await refusal(url + '/boom')).status, 403);
    const ws = new WebSocket(url + '/ok');
    await opened(ws);
    ws.close();
  });
});

describe('WebSocket: frames and closes', () => {
  it('echoes text and binary frames', async () => {
    const { url } = await serve(echo());
    const ws = new WebSocket(url + '/');
    await opened(ws);
    ws.send('héllo');
    const t = await nextMessage(ws);
    assert.equal(t.binary, false);
    assert.equal(t.data.toString(), 'héllo');
    const bytes = randomBytes(70_000);
    ws.send(bytes);
    const b = await nextMessage(ws);
    assert.equal(b.binary, true);
    assert.ok(b.data.equals(bytes));
    ws.close();
  });

  it('keeps order and completeness of many frames sent in one turn', async () => {
    const { url } = await serve(async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.accept' });
      const sends = [];
      for (let i = 0; i < 500; i++) sends.push(send({ type: 'websocket.send', text: `m${i}` }));
      await Promise.all(sends);
      await receive();
    });
    const ws = new WebSocket(url + '/');
    const got: string[] = [];
    const all = within(
      new Promise<void>((resolve) => ws.on('message', (d) => got.push(d.toString()) === 500 && resolve())),
      5000,
      '500 frames',
    );
    await opened(ws);
    await all;
    assert.deepEqual(
      got,
      Array.from({ length: 500 }, (_, i) => `m${i}`),
    );
    ws.close();
  });

  it('passes close code and reason both ways', async () => {
    const record: { disconnect?: { code: number; reason?: string } } = {};
    const { url } = await serve(echo(record));
    const ws = new WebSocket(url + '/');
    await opened(ws);
    ws.close(4001, 'client bye');
    await closed(ws);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(record.disconnect, { code: 4001, reason: 'client bye' });

    const { url: url2 } = await serve(async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.accept' });
      await send({ type: 'websocket.close', code: 4002, reason: 'server bye' });
      await receive();
    });
    const ws2 = new WebSocket(url2 + '/');
    assert.deepEqual(await closed(ws2), { code: 4002, reason: 'server bye' });
  });

  it('closes with 1009 for a message over websocketMaxMessageBytes', async () => {
    const { url } = await serve(echo(), { websocketMaxMessageBytes: 1000 });
    const ws = new WebSocket(url + '/');
    await opened(ws);
    ws.send('x'.repeat(2000));
    assert.equal((await closed(ws)).code, 1009);
  });

  it('closes with 1007 for invalid UTF-8 in a text frame', async () => {
    const record: { disconnect?: { code: number } } = {};
    const { url } = await serve(echo(record));
    const ws = new WebSocket(url + '/');
    await opened(ws);
    // a text frame whose payload is not UTF-8 (masked with a zero key, as RFC 6455 allows)
    const payload = Buffer.from([0xc3, 0x28]);
    const frame = Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
    (ws as unknown as { _socket: import('node:net').Socket })._socket.write(frame);
    assert.equal((await closed(ws)).code, 1007, 'the client hears 1007');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(record.disconnect?.code, 1007, 'the app hears 1007');
  });

  it('an app exception after accept closes with 1011', async () => {
    const { url, server } = await serve(async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.accept' });
      await receive();
      throw new Error('handler failed');
    });
    const ws = new WebSocket(url + '/');
    await opened(ws);
    ws.send('trigger');
    assert.equal((await closed(ws)).code, 1011);
    assert.equal(server.stats().appErrors, 1);
  });

  it('send after close throws ERR_SEND_AFTER_CLOSE; bad events throw ERR_INVALID_EVENT', async () => {
    const errors: string[] = [];
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const { url } = await serve(async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.accept' });
      for (const bad of [
        { type: 'websocket.send' },
        { type: 'websocket.send', text: 'a', bytes: Buffer.from('b') },
        { type: 'websocket.close', code: 999 },
      ]) {
        await send(bad as never).catch((e: Error & { code: string }) => errors.push(e.code));
      }
      await receive(); // the disconnect
      await send({ type: 'websocket.send', text: 'late' }).catch((e: Error & { code: string }) => errors.push(e.code));
      done();
    });
    const ws = new WebSocket(url + '/');
    await opened(ws);
    ws.close();
    await within(finished, 3000, 'app end');
    assert.deepEqual(errors, ['ERR_INVALID_EVENT', 'ERR_INVALID_EVENT', 'ERR_INVALID_EVENT', 'ERR_SEND_AFTER_CLOSE']);
  });
});

describe('WebSocket: keepalive, lifetime, slow clients, shutdown', () => {
  it('terminates a client that does not answer pings; keeps one that does', async () => {
    const { url, port } = await serve(echo(), { pingIntervalMs: 100, pingTimeoutMs: 400 });
    const good = new WebSocket(url + '/');
    await opened(good);
    // a raw client that completes the handshake and then never answers anything
    const key = randomBytes(16).toString('base64');
    const mute = connect(port, '127.0.0.1', () =>
      mute.write(
        `GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    const muteClosed = within(new Promise<void>((r) => mute.on('close', () => r())), 3000, 'mute client dropped');
    mute.on('data', () => {});
    await muteClosed;
    assert.equal(good.readyState, WebSocket.OPEN, 'the answering client is still open');
    good.close();
  });

  it('closes a connection after websocketMaxLifetimeMs', async () => {
    const { url } = await serve(echo(), { websocketMaxLifetimeMs: 200, pingIntervalMs: 0 });
    const ws = new WebSocket(url + '/');
    await opened(ws);
    assert.equal((await closed(ws)).code, 1000);
  });

  it('closes a client that does not read with 1008 and counts it', async () => {
    const record: { disconnect?: { code: number } } = {};
    let blast!: () => void;
    const start = new Promise<void>((r) => (blast = r));
    const { port, server } = await serve(
      async (_s, receive, send) => {
        await receive();
        await send({ type: 'websocket.accept' });
        await start;
        const chunk = 'z'.repeat(64 * 1024);
        try {
          for (let i = 0; i < 400; i++) {
            await send({ type: 'websocket.send', text: chunk });
            await new Promise((r) => setImmediate(r));
          }
        } catch {
          // the socket is gone
        }
        const e = await receive();
        if (e.type === 'websocket.disconnect') record.disconnect = { code: e.code };
      },
      { maxBufferedBytes: 256 * 1024 },
    );
    const key = randomBytes(16).toString('base64');
    const sock = connect(port, '127.0.0.1', () =>
      sock.write(
        `GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    sock.once('data', () => {
      sock.pause(); // never read again
      blast();
    });
    const deadline = Date.now() + 10000;
    while (server.stats().slowClientsClosed === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    sock.destroy();
    assert.equal(server.stats().slowClientsClosed, 1, 'the client was dropped and counted');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(record.disconnect?.code, 1008);
  });

  it('close() closes WebSockets with 1012 (service restart)', async () => {
    const server = createServer(
      async (scope, receive, send) => (scope.type === 'lifespan' ? undefined : echo()(scope, receive, send)),
      { port: 0 },
    );
    const { port } = await server.listen();
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    await opened(ws);
    const c = closed(ws);
    await server.close();
    assert.equal((await c).code, 1012);
  });
});
