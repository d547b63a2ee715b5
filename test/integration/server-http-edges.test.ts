// The HTTP side of the interface server at its edges: backpressure on uploads, chunked bodies
// both ways, limits hit mid-stream, malformed input, app failures after the response started,
// abandoned apps, lifespan without support, shutdown cutting a long-poll, access log to a file.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import WebSocket from 'ws';
import { createServer, type CanalServer } from '../../src/server/server.ts';
import { getLogLevel, setLogLevel, setLogSink } from '../../src/logging.ts';
import type { Application, HttpScope, ReceiveEvent, ServerOptions, WebsocketScope } from '../../src/index.ts';

const servers: CanalServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function serve(
  app: Application,
  options: ServerOptions = {},
): Promise<{ url: string; port: number; server: CanalServer }> {
  const server = createServer(app, { port: 0, drainTimeoutMs: 2000, ...options });
  servers.push(server);
  const { port } = await server.listen();
  return { url: `http://127.0.0.1:${port}`, port, server };
}

/** An app that ignores the lifespan scope (returns at once: no lifespan support). */
const httpOnly =
  (app: Application): Application =>
  async (scope, receive, send) => {
    if (scope.type === 'lifespan') return;
    await app(scope, receive, send);
  };

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer!: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)),
    ),
  ]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function open(port: number): Promise<{ socket: Socket; read: () => string; ended: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1');
    const ended = new Promise<string>((r) => socket.on('close', () => r(Buffer.concat(chunks).toString('latin1'))));
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, read: () => Buffer.concat(chunks).toString('latin1'), ended }));
    socket.once('error', reject);
  });
}

/** Captures log lines (debug and up) while `fn` runs. */
async function capturingLogs<T>(fn: (lines: string[]) => Promise<T>): Promise<T> {
  const lines: string[] = [];
  const prev = setLogSink((l) => lines.push(l));
  const level = getLogLevel();
  setLogLevel('debug');
  try {
    return await fn(lines);
  } finally {
    setLogSink(prev);
    setLogLevel(level);
  }
}

async function readBody(
  receive: () => Promise<ReceiveEvent>,
): Promise<{ body: Buffer; events: number; last: ReceiveEvent }> {
  const parts: Buffer[] = [];
  let events = 0;
  for (;;) {
    const e = await receive();
    if (e.type !== 'http.request') return { body: Buffer.concat(parts), events, last: e };
    events++;
    parts.push(e.body);
    if (!e.more_body) return { body: Buffer.concat(parts), events, last: e };
  }
}

describe('HTTP edges: streaming', () => {
  it('stops reading the socket while the app is behind, so the client stalls, then delivers every byte', async () => {
    const total = 32 * 1024 * 1024;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { port } = await serve(
      httpOnly(async (_s, receive, send) => {
        const first = await receive();
        assert.equal(first.type, 'http.request');
        await gate; // the app falls behind
        const rest = await readBody(receive);
        const size = (first.type === 'http.request' ? first.body.length : 0) + rest.body.length;
        await send({ type: 'http.response.start', status: 200 });
        await send({ type: 'http.response.body', body: String(size) });
      }),
      { maxRequestBodyBytes: 0 },
    );
    const { socket, ended } = await open(port);
    socket.write(`POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: ${total}\r\nConnection: close\r\n\r\n`);
    socket.write(Buffer.alloc(total, 7));
    await sleep(400);
    const queued = socket.writableLength; // bytes the kernel would not take: the server stopped reading
    await sleep(200);
    assert.ok(queued > total / 2, `the server kept reading (${total - queued} of ${total} bytes taken)`);
    assert.ok(queued - socket.writableLength < 1024 * 1024, 'the client write side is stalled');
    release();
    const reply = await within(ended, 10_000, 'the upload response');
    assert.match(reply, /^HTTP\/1.1 200/);
    assert.match(reply, new RegExp(`\r\n\r\n(8\r\n)?${total}(\r\n0\r\n\r\n)?$`), 'the app read every byte');
  });

  it('chunked both ways: a chunked upload streams in as it arrives, the response is chunked', async () => {
    const seen: string[] = [];
    let gotFirst!: () => void;
    const firstArrived = new Promise<void>((r) => (gotFirst = r));
    const { port } = await serve(
      httpOnly(async (_s, receive, send) => {
        await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
        for (;;) {
          const e = await receive();
          if (e.type !== 'http.request') break;
          if (e.body.length) {
            seen.push(e.body.toString());
            gotFirst();
            await send({ type: 'http.response.body', body: e.body.toString().toUpperCase(), more_body: true });
          }
          if (!e.more_body) break;
        }
        await send({ type: 'http.response.body', body: '' });
      }),
    );
    const { socket, ended, read } = await open(port);
    socket.write(
      'POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n',
    );
    await within(firstArrived, 2000, 'the first chunk'); // before the client has sent the rest
    await within(
      (async () => {
        while (!read().includes('HELLO')) await sleep(10);
      })(),
      2000,
      'the first response chunk',
    );
    socket.write('6\r\n world\r\n0\r\n\r\n');
    const reply = await within(ended, 2000, 'the response');
    assert.match(reply, /transfer-encoding: chunked/i);
    assert.match(reply, /\r\n5\r\nHELLO\r\n6\r\n WORLD\r\n0\r\n\r\n$/);
    assert.deepEqual(seen, ['hello', ' world']);
  });

  it('a chunked body growing past maxRequestBodyBytes gets 413 and the reading app gets http.disconnect', async () => {
    let last: ReceiveEvent | null = null;
    let appEnded!: () => void;
    const ended = new Promise<void>((r) => (appEnded = r));
    const { port, url } = await serve(
      httpOnly(async (_s, receive, send) => {
        const r = await readBody(receive);
        last = r.last;
        appEnded();
        if (r.last.type === 'http.request') {
          await send({ type: 'http.response.start', status: 200 });
          await send({ type: 'http.response.body', body: 'read it all' });
        }
      }),
      { maxRequestBodyBytes: 1000 },
    );
    const { socket, ended: closed } = await open(port);
    socket.write('POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n');
    for (let i = 0; i < 5; i++) socket.write(`190\r\n${'y'.repeat(400)}\r\n`);
    socket.write('0\r\n\r\n');
    assert.match(await within(closed, 2000, '413'), /^HTTP\/1.1 413/);
    await within(ended, 2000, 'the app ending');
    assert.equal(last!.type, 'http.disconnect');
    assert.equal((await fetch(url + '/', { method: 'POST', body: 'small' })).status, 200);
  });

  it(
    'a body-less request gets one empty http.request with more_body false; ' + 'HTTP/1.0 and root_path in the scope',
    async () => {
      const events: ReceiveEvent[] = [];
      let scope: HttpScope | null = null;
      const { port } = await serve(
        httpOnly(async (s, receive, send) => {
          scope = s as HttpScope;
          events.push(await receive());
          await send({ type: 'http.response.start', status: 204 });
          await send({ type: 'http.response.body' });
        }),
        { rootPath: '/mount' },
      );
      const { socket, ended } = await open(port);
      socket.write('GET /mount/x HTTP/1.0\r\nHost: h\r\n\r\n');
      assert.match(await within(ended, 2000, 'the response'), /^HTTP\/1.1 204/);
      assert.deepEqual(events, [{ type: 'http.request', body: Buffer.alloc(0), more_body: false }]);
      assert.equal(scope!.http_version, '1.0');
      assert.equal(scope!.root_path, '/mount');
      assert.equal(scope!.path, '/mount/x');
      assert.deepEqual(scope!.extensions, { 'http.response.trailers': {} });
    },
  );
});

describe('HTTP edges: bad input and app failures', () => {
  it(
    'malformed heads and invalid header bytes get 400 with connection: close and a debug line; ' +
      'the server keeps serving',
    async () => {
      await capturingLogs(async (lines) => {
        const { port, url, server } = await serve(
          httpOnly(async (_s, _r, send) => {
            await send({ type: 'http.response.start', status: 200 });
            await send({ type: 'http.response.body', body: 'ok' });
          }),
        );
        for (const bad of [
          'GET / HTTP/1.1\r\nBad Name: v\r\n\r\n',
          'GET / HTTP/1.1\r\nX-A: a\x00b\r\n\r\n',
          'GET / HTTP/9.9x\r\n\r\n',
          '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03',
        ]) {
          const { socket, ended } = await open(port);
          socket.write(Buffer.from(bad, 'latin1'));
          const reply = await within(ended, 2000, JSON.stringify(bad));
          assert.match(reply, /^HTTP\/1.1 400 Bad Request\r\n/);
          assert.match(reply, /connection: close/i);
        }
        assert.ok(server.stats().rejected >= 4);
        assert.ok(lines.filter((l) => / DEBUG \[server\] bad request/.test(l)).length >= 4, lines.join('\n'));
        assert.equal(await (await fetch(url + '/')).text(), 'ok');
      });
    },
  );

  it(
    'an exception after the response started cuts the connection, ' +
      'is logged once with the path, and the next request is served',
    async () => {
      await capturingLogs(async (lines) => {
        const { url, server } = await serve(
          httpOnly(async (s, _r, send) => {
            await send({ type: 'http.response.start', status: 200 });
            if ((s as HttpScope).path === '/half') {
              await send({ type: 'http.response.body', body: 'part', more_body: true });
              throw new Error('broke midway');
            }
            await send({ type: 'http.response.body', body: 'whole' });
          }),
        );
        const res = await fetch(url + '/half');
        assert.equal(res.status, 200);
        await assert.rejects(res.text());
        assert.equal(await (await fetch(url + '/whole')).text(), 'whole');
        const errors = lines.filter((l) => l.includes(' ERROR '));
        assert.equal(errors.length, 1);
        assert.match(errors[0]!, /GET \/half.*broke midway/s);
        assert.equal(server.stats().appErrors, 1);
      });
    },
  );

  it('a started response that does not finish within httpResponseTimeoutMs is cut', async () => {
    await capturingLogs(async () => {
      const { url } = await serve(
        httpOnly(async (_s, receive, send) => {
          await send({ type: 'http.response.start', status: 200 });
          await send({ type: 'http.response.body', body: 'partial', more_body: true });
          await receive();
          await receive(); // held until the server cuts the response
        }),
        { httpResponseTimeoutMs: 150 },
      );
      const res = await fetch(url + '/');
      assert.equal(res.status, 200);
      await within(assert.rejects(res.text()), 2000, 'the cut');
    });
  });

  it('receive() after the response is done gives http.disconnect at once', async () => {
    let after!: (e: ReceiveEvent) => void;
    const event = new Promise<ReceiveEvent>((r) => (after = r));
    const { url } = await serve(
      httpOnly(async (_s, receive, send) => {
        await receive();
        await send({ type: 'http.response.start', status: 200 });
        await send({ type: 'http.response.body', body: 'done' });
        after(await receive());
      }),
    );
    assert.equal(await (await fetch(url + '/')).text(), 'done');
    assert.deepEqual(await within(event, 1000, 'the event after the response'), { type: 'http.disconnect' });
  });

  it('an app that returns without a response gives 500', async () => {
    await capturingLogs(async () => {
      const { url } = await serve(httpOnly(async () => {}));
      assert.equal((await fetch(url + '/')).status, 500);
    });
  });

  it('a send after the client went away throws ERR_SEND_AFTER_CLOSE', async () => {
    let caught!: (e: Error & { code?: string }) => void;
    const error = new Promise<Error & { code?: string }>((r) => (caught = r));
    const { port } = await serve(
      httpOnly(async (_s, receive, send) => {
        await receive();
        assert.equal((await receive()).type, 'http.disconnect');
        try {
          await send({ type: 'http.response.start', status: 200 });
        } catch (err) {
          caught(err as Error);
        }
      }),
    );
    const { socket } = await open(port);
    socket.write('GET /gone HTTP/1.1\r\nHost: h\r\n\r\n');
    await sleep(50);
    socket.destroy();
    const err = await within(error, 2000, 'the late send');
    assert.equal(err.code, 'ERR_SEND_AFTER_CLOSE');
    assert.match(err.message, /client went away.*\/gone/);
  });

  it('an app that does not return after the client left is abandoned after applicationCloseTimeoutMs', async () => {
    await capturingLogs(async (lines) => {
      const { port, server } = await serve(
        httpOnly(async (_s, receive) => {
          await receive();
          await receive(); // http.disconnect, then the app hangs on
          await new Promise(() => {});
        }),
        { applicationCloseTimeoutMs: 150 },
      );
      const { socket } = await open(port);
      socket.write('GET /stuck HTTP/1.1\r\nHost: h\r\n\r\n');
      await sleep(50);
      assert.equal(server.stats().httpInFlight, 1);
      socket.destroy();
      await within(
        (async () => {
          while (server.stats().httpInFlight > 0) await sleep(20);
        })(),
        2000,
        'abandoning',
      );
      assert.ok(
        lines.some((l) => / WARN .*GET \/stuck.*applicationCloseTimeoutMs/.test(l)),
        lines.join('\n'),
      );
    });
  });
});

describe('HTTP edges: lifespan, shutdown, access log', () => {
  it('an app that raises on the lifespan scope runs without lifespan: no state in scopes', async () => {
    let state: unknown = 'unset';
    const { url } = await serve(async (scope, _r, send) => {
      if (scope.type === 'lifespan') throw new Error('lifespan? never heard of it');
      state = scope.state;
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: 'ok' });
    });
    assert.equal((await fetch(url + '/')).status, 200);
    assert.equal(state, undefined);
  });

  it('close() sends lifespan.shutdown and waits for the answer', async () => {
    const heard: string[] = [];
    const server = createServer(
      async (scope, receive, send) => {
        if (scope.type !== 'lifespan') return;
        heard.push((await receive()).type);
        await send({ type: 'lifespan.startup.complete' });
        heard.push((await receive()).type);
        await sleep(50);
        heard.push('cleaned up');
        await send({ type: 'lifespan.shutdown.complete' });
      },
      { port: 0 },
    );
    await server.listen();
    await within(server.close(), 2000, 'close');
    assert.deepEqual(heard, ['lifespan.startup', 'lifespan.shutdown', 'cleaned up']);
  });

  it('close() cuts a long-poll that outlives drainTimeoutMs; the app gets http.disconnect', async () => {
    let last!: (e: ReceiveEvent) => void;
    const lastEvent = new Promise<ReceiveEvent>((r) => (last = r));
    const { port, server } = await serve(
      httpOnly(async (_s, receive) => {
        await receive();
        last(await receive());
      }),
      { drainTimeoutMs: 150 },
    );
    const { socket, ended } = await open(port);
    socket.write('GET /poll HTTP/1.1\r\nHost: h\r\n\r\n');
    await sleep(50);
    const t0 = Date.now();
    await within(server.close(), 2000, 'close');
    assert.ok(Date.now() - t0 >= 100, 'close waited for the drain timeout');
    assert.equal((await within(lastEvent, 1000, 'disconnect')).type, 'http.disconnect');
    await within(ended, 1000, 'the socket closing');
  });

  it(
    'close() ends an event stream at once (a clean end, the app hears http.disconnect); ' +
      'a streamed download keeps its drain',
    async () => {
      const heard: string[] = [];
      const { url, server } = await serve(
        httpOnly(async (scope, receive, send) => {
          await receive();
          const sse = (scope as HttpScope).path === '/events';
          await send({
            type: 'http.response.start',
            status: 200,
            headers: [['content-type', sse ? 'text/event-stream' : 'application/octet-stream']],
          });
          await send({ type: 'http.response.body', body: sse ? 'data: hi\n\n' : 'part 1', more_body: true });
          const event = await receive();
          heard.push(`${(scope as HttpScope).path} ${event.type}`);
        }),
        { drainTimeoutMs: 1500 },
      );
      const stream = await fetch(`${url}/events`);
      const reader = stream.body!.getReader();
      assert.equal(Buffer.from((await within(reader.read(), 1000, 'first event')).value!).toString(), 'data: hi\n\n');
      const t0 = Date.now();
      const closing = server.close();
      const end = await within(reader.read(), 1000, 'the end of the stream');
      assert.equal(end.done, true, 'the event stream ended cleanly, not with an error');
      assert.ok(Date.now() - t0 < 1000, 'the stream did not wait for the drain timeout');
      await within(closing, 3000, 'close');
      assert.deepEqual(heard, ['/events http.disconnect']);

      // The same server kind, a download in progress: close() waits for the drain timeout.
      const { url: url2, server: server2 } = await serve(
        httpOnly(async (_scope, receive, send) => {
          await receive();
          await send({
            type: 'http.response.start',
            status: 200,
            headers: [['content-type', 'application/octet-stream']],
          });
          await send({ type: 'http.response.body', body: 'part 1', more_body: true });
          await receive();
        }),
        { drainTimeoutMs: 300 },
      );
      const download = await fetch(`${url2}/file`);
      const r2 = download.body!.getReader();
      await within(r2.read(), 1000, 'first part');
      const t1 = Date.now();
      await within(server2.close(), 3000, 'close');
      assert.ok(Date.now() - t1 >= 250, 'a download is given the drain timeout');
      await r2.read().catch(() => undefined);
    },
  );

  it('writes access log lines to a file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'canal-access-'));
    try {
      const file = join(dir, 'access.log');
      const { url, server } = await serve(
        httpOnly(async (_s, _r, send) => {
          await send({ type: 'http.response.start', status: 404 });
          await send({ type: 'http.response.body', body: 'nope' });
        }),
        { accessLog: file },
      );
      await (await fetch(url + '/missing')).text();
      await (await fetch(url + '/again', { method: 'POST', body: 'x' })).text();
      await server.close();
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
      assert.equal(lines.length, 2);
      assert.match(lines[0]!, /^127\.0\.0\.1:\d+ - - \[[^\]]+\] "GET \/missing HTTP\/1\.1" 404 4 \d+\.\d{3}$/);
      assert.match(lines[1]!, /"POST \/again HTTP\/1\.1" 404 4 /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes WebSocket connect, reject and disconnect lines', async () => {
    const out = new PassThrough();
    let log = '';
    out.on('data', (d) => (log += d));
    const { port } = await serve(
      httpOnly(async (scope, receive, send) => {
        if (scope.type !== 'websocket') return;
        await receive(); // websocket.connect
        if ((scope as WebsocketScope).path === '/ws/deny') {
          await send({ type: 'websocket.close' });
          return;
        }
        await send({ type: 'websocket.accept' });
        while ((await receive()).type !== 'websocket.disconnect');
      }),
      { accessLog: out },
    );

    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/chat?room=1`);
    await within(
      new Promise((r, j) => {
        ws.once('open', r);
        ws.once('error', j);
      }),
      2000,
      'open',
    );
    const local = `127.0.0.1:${(ws as unknown as { _socket: Socket })._socket.localPort}`;
    const closed = new Promise((r) => ws.once('close', r));
    ws.close(1000);
    await within(closed, 2000, 'close');
    const denied = new WebSocket(`ws://127.0.0.1:${port}/ws/deny`);
    const status = await within(
      new Promise<number>((r) => denied.once('unexpected-response', (_q, res) => r(res.statusCode!))),
      2000,
      'the rejection',
    );
    assert.equal(status, 403);
    denied.on('error', () => {});
    await within(
      (async () => {
        while (!log.includes('WSREJECT')) await sleep(10);
      })(),
      2000,
      'the reject line',
    );
    const lines = log.trimEnd().split('\n');
    assert.equal(lines[0], `WSCONNECT /ws/chat ${local}`);
    assert.equal(lines[1], `WSDISCONNECT /ws/chat ${local} 1000`);
    assert.match(lines[2]!, /^WSREJECT \/ws\/deny 127\.0\.0\.1:\d+ 403$/);
  });

  it('an access log file that cannot be opened is an option error when the server is made', () => {
    assert.throws(
      () =>
        createServer(async () => {}, { port: 0, accessLog: join(tmpdir(), 'no-such-dir-canal', 'x', 'access.log') }),
      (err: Error & { code?: string }) => err.code === 'ERR_INVALID_OPTION' && /accessLog/.test(err.message),
    );
    assert.throws(() => createServer(async () => {}, { accessLog: 42 as never }), /accessLog/);
  });

  it('close() closes open WebSockets with 1012 while HTTP is served to the end', async () => {
    const { port, server } = await serve(
      httpOnly(async (scope, receive, send) => {
        if (scope.type !== 'websocket') return;
        await receive();
        await send({ type: 'websocket.accept' });
        while ((await receive()).type !== 'websocket.disconnect');
      }),
    );
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    await within(
      new Promise((r, j) => {
        ws.once('open', r);
        ws.once('error', j);
      }),
      2000,
      'open',
    );
    const code = new Promise<number>((r) => ws.once('close', (c) => r(c)));
    await within(server.close(), 3000, 'close');
    assert.equal(await within(code, 2000, 'the close code'), 1012);
  });
});
