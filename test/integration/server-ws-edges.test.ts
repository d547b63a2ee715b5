// The WebSocket side's edges on real sockets: defaults, how each end is reported to the app,
// errors logged once with the path while the server keeps serving, the access log and the
// counters, backpressure towards a slow app, and shutdown of peers that do not answer.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import WebSocket from 'ws';
import type { Application, WebsocketScope } from '../../src/index.ts';
import { setLogSink } from '../../src/logging.ts';
import { createServer } from '../../src/server/server.ts';
import {
  closed,
  echo,
  messages,
  opened,
  rawHandshake,
  refusal,
  serve,
  sleep,
  until,
  within,
} from './server-ws-helpers.ts';

/** Captures log lines while `fn` runs. */
async function capturingLogs<T>(fn: (lines: string[]) => Promise<T>): Promise<T> {
  const lines: string[] = [];
  const prev = setLogSink((line) => lines.push(line));
  try {
    return await fn(lines);
  } finally {
    setLogSink(prev);
  }
}

describe('WebSocket edges: limits and how connections end', () => {
  it('accepts a message of exactly 1 MiB by default and closes with 1009 above it', async () => {
    const { url } = await serve(echo());
    const ws = new WebSocket(url + '/');
    await opened(ws);
    const mib = Buffer.alloc(1024 * 1024, 1);
    const back = messages(ws, 1);
    ws.send(mib);
    assert.equal(((await back)[0] as Buffer).length, mib.length);
    ws.send(Buffer.alloc(1024 * 1024 + 1));
    assert.equal((await closed(ws)).code, 1009);
  });

  it('the app hears 1005 for a close frame without a code, 1006 for a vanished client', async () => {
    const rec1: { disconnect?: { code: number; reason?: string } } = {};
    const rec2: { disconnect?: { code: number; reason?: string } } = {};
    const apps: Application[] = [echo(rec1), echo(rec2)];
    let n = 0;
    const { url } = await serve((s, r, send) => apps[n++]!(s, r, send));
    const ws1 = new WebSocket(url + '/');
    await opened(ws1);
    ws1.close();
    await closed(ws1);
    await until(() => rec1.disconnect !== undefined, 2000, 'disconnect 1');
    assert.equal(rec1.disconnect!.code, 1005);

    const ws2 = new WebSocket(url + '/');
    await opened(ws2);
    (ws2 as unknown as { _socket: import('node:net').Socket })._socket.destroy();
    await until(() => rec2.disconnect !== undefined, 2000, 'disconnect 2');
    assert.equal(rec2.disconnect!.code, 1006);
  });

  it(
    'a client that leaves during the handshake: the app hears 1006 ' + 'and a late accept raises ERR_SEND_AFTER_CLOSE',
    async () => {
      let heard: unknown = null;
      let error: (Error & { code?: string }) | null = null;
      let finished!: () => void;
      const done = new Promise<void>((r) => (finished = r));
      const { port } = await serve(async (_s, receive, send) => {
        await receive();
        heard = await receive();
        await send({ type: 'websocket.accept' }).catch((e) => (error = e));
        finished();
      });
      const { sock } = rawHandshake(port, '/late');
      await sleep(100);
      sock.destroy();
      await within(done, 2000, 'app end');
      assert.deepEqual(heard, { type: 'websocket.disconnect', code: 1006, reason: '' });
      assert.equal(error!.code, 'ERR_SEND_AFTER_CLOSE');
    },
  );

  it('an app that returns after accepting closes the socket with 1000', async () => {
    const { url } = await serve(async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.accept' });
      await send({ type: 'websocket.send', text: 'bye' });
    });
    const ws = new WebSocket(url + '/');
    const got = messages(ws, 1);
    const c = closed(ws);
    assert.deepEqual(await got, ['bye']);
    assert.equal((await c).code, 1000);
  });

  it(
    'closes after websocketMaxLifetimeMs with 1000 and a reason; ' +
      'an answering idle client outlives several ping intervals',
    async () => {
      const { url } = await serve(echo(), { websocketMaxLifetimeMs: 600, pingIntervalMs: 60, pingTimeoutMs: 100 });
      const ws = new WebSocket(url + '/');
      let pings = 0;
      ws.on('ping', () => pings++);
      const opened_ = Date.now();
      await opened(ws);
      const c = await closed(ws);
      assert.deepEqual(c, { code: 1000, reason: 'maximum connection lifetime reached' });
      assert.ok(Date.now() - opened_ >= 550, 'not before its lifetime');
      assert.ok(pings >= 2, `pinged while idle (${pings})`);
    },
  );

  it('a peer that stops answering pings is cut only after pingTimeoutMs from the ping', async () => {
    const { port, server } = await serve(echo(), { pingIntervalMs: 100, pingTimeoutMs: 400 });
    const { sock, response } = rawHandshake(port);
    assert.match(await response, /^HTTP\/1.1 101/);
    const start = Date.now();
    const gone = within(new Promise<void>((r) => sock.on('close', () => r())), 3000, 'terminated');
    sock.on('data', () => {}); // reads pings, never answers
    await gone;
    const after = Date.now() - start;
    assert.ok(after >= 450, `not cut before interval + timeout (${after} ms)`);
    await until(() => server.stats().websocketsOpen === 0, 1000, 'counted closed');
  });
});

describe('WebSocket edges: errors, logs and counters', () => {
  it('an app error after accept: 1011, logged once with the path, counted; the server keeps serving', async () => {
    await capturingLogs(async (lines) => {
      const { url, server } = await serve(async (scope, receive, send) => {
        if ((scope as WebsocketScope).path !== '/fails/here') return echo()(scope, receive, send);
        await receive();
        await send({ type: 'websocket.accept' });
        await receive();
        throw new Error('handler exploded');
      });
      const bad = new WebSocket(url + '/fails/here');
      await opened(bad);
      bad.send('go');
      assert.deepEqual(await closed(bad), { code: 1011, reason: 'internal error' });
      const errors = lines.filter((l) => l.includes(' ERROR '));
      assert.equal(errors.length, 1, 'logged once');
      assert.match(errors[0]!, /\/fails\/here/);
      assert.match(errors[0]!, /handler exploded/);
      assert.equal(server.stats().appErrors, 1);

      const good = new WebSocket(url + '/fine');
      await opened(good);
      const back = messages(good, 1);
      good.send('still here');
      assert.deepEqual(await back, ['still here']);
      good.close();
    });
  });

  it('refuses bad handshakes with 400: a path that is not UTF-8, a missing key; the server lives on', async () => {
    const { port, url } = await serve(echo());
    const a = rawHandshake(port, '/bad%FFpath');
    assert.match(await a.response, /^HTTP\/1.1 400/);
    a.sock.destroy();
    const b = rawHandshake(port, '/', 'Sec-WebSocket-Key: x\r\n');
    assert.match(await b.response, /^HTTP\/1.1 400/);
    b.sock.destroy();
    const ws = new WebSocket(url + '/');
    await opened(ws);
    ws.close();
  });

  it('accept without a subprotocol sends no Sec-WebSocket-Protocol; stats count open and total sockets', async () => {
    const { url, server } = await serve(echo());
    const ws1 = new WebSocket(url + '/');
    let headers: Record<string, unknown> = {};
    ws1.on('upgrade', (res) => (headers = res.headers));
    await opened(ws1);
    assert.equal(headers['sec-websocket-protocol'], undefined);
    const ws2 = new WebSocket(url + '/');
    await opened(ws2);
    assert.equal(server.stats().websocketsOpen, 2);
    ws1.close();
    ws2.close();
    await until(() => server.stats().websocketsOpen === 0, 2000, 'both closed');
    assert.equal(server.stats().websocketsTotal, 2);
  });

  it('writes WSCONNECT, WSREJECT and WSDISCONNECT access-log lines', async () => {
    const out = new PassThrough();
    let log = '';
    out.on('data', (d) => (log += d));
    const { url } = await serve(
      async (scope, receive, send) => {
        if ((scope as WebsocketScope).path === '/no') {
          await receive();
          return send({ type: 'websocket.close' });
        }
        return echo()(scope, receive, send);
      },
      { accessLog: out },
    );
    assert.equal((await refusal(url + '/no')).status, 403);
    const ws = new WebSocket(url + '/yes?x=1');
    await opened(ws);
    ws.close(4000);
    await closed(ws);
    await until(() => log.includes('WSDISCONNECT'), 2000, 'disconnect line');
    assert.match(log, /^WSREJECT \/no 127\.0\.0\.1:\d+ 403$/m);
    assert.match(log, /^WSCONNECT \/yes 127\.0\.0\.1:\d+$/m);
    assert.match(log, /^WSDISCONNECT \/yes 127\.0\.0\.1:\d+ 4000$/m);
  });

  it(
    'checks close and denial events: reason over 123 bytes, ' + 'reserved codes, body before start, body after the end',
    async () => {
      const codes: string[] = [];
      let finished!: () => void;
      const done = new Promise<void>((r) => (finished = r));
      const note = (e: Error & { code?: string }) => codes.push(e.code ?? e.message);
      const { url } = await serve(async (_s, receive, send) => {
        await receive();
        await send({ type: 'websocket.http.response.body', body: 'x' }).catch(note);
        await send({ type: 'websocket.close', code: 1005 }).catch(note);
        await send({ type: 'websocket.close', reason: 'é'.repeat(62) }).catch(note);
        await send({
          type: 'websocket.http.response.start',
          status: 429,
          headers: [
            ['retry-after', '5'],
            ['content-length', '4'],
          ],
        });
        await send({ type: 'websocket.accept' }).catch(note);
        await send({ type: 'websocket.http.response.body', body: 'slow' });
        await send({ type: 'websocket.http.response.body', body: 'more' }).catch(note);
        finished();
      });
      const r = await refusal(url + '/');
      await within(done, 2000, 'app end');
      assert.equal(r.status, 429);
      assert.equal(r.headers['retry-after'], '5');
      assert.equal(r.body, 'slow');
      assert.deepEqual(codes, [
        'ERR_INVALID_EVENT',
        'ERR_INVALID_EVENT',
        'ERR_INVALID_EVENT',
        'ERR_INVALID_EVENT',
        'ERR_SEND_AFTER_CLOSE',
      ]);
    },
  );
});

describe('WebSocket edges: a slow app, concurrent receives, shutdown', () => {
  it('an app that reads slowly still gets every message, in order (the socket is paused, not dropped)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const got: string[] = [];
    let finished!: () => void;
    const done = new Promise<void>((r) => (finished = r));
    const { url } = await serve(async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.accept' });
      await gate;
      for (;;) {
        const e = await receive();
        if (e.type !== 'websocket.receive') break;
        got.push(e.text!);
        if (got.length % 50 === 0) await sleep(1);
      }
      finished();
    });
    const ws = new WebSocket(url + '/');
    await opened(ws);
    const want = Array.from({ length: 2000 }, (_, i) => `m${i}`);
    for (const m of want) ws.send(m);
    await sleep(100);
    release();
    await until(() => got.length === want.length, 5000, 'all messages read');
    assert.deepEqual(got, want);
    ws.close();
    await within(done, 2000, 'app end');
  });

  it('receive() called twice before an event arrives: served in call order', async () => {
    const order: string[] = [];
    const { url } = await serve(async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.accept' });
      const first = receive().then((e) => order.push(`first:${e.type === 'websocket.receive' ? e.text : e.type}`));
      const second = receive().then((e) => order.push(`second:${e.type === 'websocket.receive' ? e.text : e.type}`));
      await Promise.all([first, second]);
      await send({ type: 'websocket.send', text: order.join(',') });
      await receive();
    });
    const ws = new WebSocket(url + '/');
    await opened(ws);
    const back = messages(ws, 1);
    ws.send('a');
    ws.send('b');
    assert.deepEqual(await back, ['first:a,second:b']);
    ws.close();
  });

  it('close() answers a pending handshake with 503 and cuts a peer that ignores the close frame', async () => {
    const server = createServer(
      async (scope, receive, send) => {
        if (scope.type === 'lifespan') return;
        await receive();
        if ((scope as WebsocketScope).path === '/pending') return void (await receive());
        await send({ type: 'websocket.accept' });
        await receive();
      },
      { port: 0, drainTimeoutMs: 300, applicationCloseTimeoutMs: 500 },
    );
    const { port } = await server.listen();
    const pending = rawHandshake(port, '/pending');
    const mute = rawHandshake(port, '/mute');
    assert.match(await mute.response, /^HTTP\/1.1 101/);
    const muteClosed = within(new Promise<void>((r) => mute.sock.on('close', () => r())), 3000, 'mute peer cut');
    mute.sock.on('data', () => {}); // reads the close frame, never answers it
    await sleep(50);
    const start = Date.now();
    await within(server.close(), 3000, 'close()');
    assert.match(await pending.response, /^HTTP\/1.1 503/);
    await muteClosed;
    assert.ok(Date.now() - start < 2000, 'shutdown did not wait for the close handshake timeout');
  });
});
