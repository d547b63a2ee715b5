// The HTTP side of the interface server, on real sockets with fetch and raw net clients.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { PassThrough } from 'node:stream';
import { createServer, type CanalServer } from '../../src/server/server.ts';
import type { Application, HttpScope, ServerOptions } from '../../src/index.ts';
import { rawRequest } from './raw-request.ts';

const servers: CanalServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

/** Serves `app`; unless `withLifespan`, the app is not called for the lifespan scope. */
async function serve(
  app: Application,
  options: ServerOptions = {},
  withLifespan = false,
): Promise<{ url: string; port: number; server: CanalServer }> {
  const wrapped: Application = withLifespan
    ? app
    : async (scope, receive, send) => (scope.type === 'lifespan' ? undefined : app(scope, receive, send));
  const server = createServer(wrapped, { port: 0, drainTimeoutMs: 2000, ...options });
  servers.push(server);
  const { port } = await server.listen();
  return { url: `http://127.0.0.1:${port}`, port, server };
}

const raw = rawRequest;

const text =
  (status: number, body: string): Application =>
  async (_scope, _receive, send) => {
    await send({ type: 'http.response.start', status, headers: [['content-type', 'text/plain']] });
    await send({ type: 'http.response.body', body });
  };

describe('HTTP: requests and responses', () => {
  it('serves a response with status, headers (duplicates kept) and body', async () => {
    const { url } = await serve(async (_s, _r, send) => {
      await send({
        type: 'http.response.start',
        status: 201,
        headers: [
          ['x-a', '1'],
          ['set-cookie', 'a=1'],
          ['set-cookie', 'b=2'],
        ],
      });
      await send({ type: 'http.response.body', body: Buffer.from('made') });
    });
    const res = await fetch(url + '/');
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('x-a'), '1');
    assert.deepEqual(res.headers.getSetCookie(), ['a=1', 'b=2']);
    assert.equal(await res.text(), 'made');
  });

  it('builds the scope: decoded path, raw bytes, lowercased headers in order', async () => {
    let seen: HttpScope | null = null;
    const { port } = await serve(async (scope, receive, send) => {
      seen = scope as HttpScope;
      await receive();
      await text(200, 'ok')(scope, receive, send);
    });
    const reply = await raw(
      port,
      'GET /caf%C3%A9/a%2Fb?x=%20y&z HTTP/1.1\r\nHost: h\r\nX-Dup: 1\r\nx-dup: 2\r\nConnection: close\r\n\r\n',
    );
    assert.match(reply, /^HTTP\/1.1 200/);
    const scope = seen! as HttpScope;
    assert.equal(scope.path, '/café/a/b');
    assert.equal(scope.raw_path.toString('latin1'), '/caf%C3%A9/a%2Fb');
    assert.equal(scope.query_string.toString('latin1'), 'x=%20y&z');
    assert.equal(scope.method, 'GET');
    assert.equal(scope.http_version, '1.1');
    assert.deepEqual(
      scope.headers.map(([k, v]) => [k.toString(), v.toString()]),
      [
        ['host', 'h'],
        ['x-dup', '1'],
        ['x-dup', '2'],
        ['connection', 'close'],
      ],
    );
    assert.equal(scope.client![0], '127.0.0.1');
    assert.equal(scope.server![1], port);
  });

  it('answers 400 for a path with bad percent-encoding and keeps serving', async () => {
    const { port, url } = await serve(text(200, 'ok'));
    assert.match(await raw(port, 'GET /%E0%A4%A HTTP/1.1\r\nHost: h\r\n\r\n'), /^HTTP\/1.1 400/);
    assert.match(await raw(port, 'NOT A REQUEST\r\n\r\n'), /^HTTP\/1.1 400/);
    assert.equal((await fetch(url + '/')).status, 200);
  });

  it('streams a request body in chunks and pauses reading while the app is behind', async () => {
    const sizes: number[] = [];
    const { url } = await serve(async (_scope, receive, send) => {
      let total = 0;
      for (;;) {
        const e = await receive();
        if (e.type !== 'http.request') break;
        total += e.body.length;
        sizes.push(e.body.length);
        await new Promise((r) => setTimeout(r, 5)); // a slow reader
        if (!e.more_body) break;
      }
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: String(total) });
    });
    const body = new PassThrough();
    const sending = fetch(url + '/up', {
      method: 'POST',
      body: body as unknown as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    for (let i = 0; i < 40; i++) body.write(Buffer.alloc(64 * 1024, 1));
    body.end();
    const res = await sending;
    assert.equal(await res.text(), String(40 * 64 * 1024));
    assert.ok(sizes.length > 1, 'the body arrived in several http.request events');
  });

  it('streams a response: chunks arrive before the end', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { url } = await serve(async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
      await send({ type: 'http.response.body', body: 'first|', more_body: true });
      await gate;
      await send({ type: 'http.response.body', body: 'last' });
    });
    const res = await fetch(url + '/');
    assert.equal(res.headers.get('transfer-encoding'), 'chunked');
    const reader = res.body!.getReader();
    const first = await reader.read();
    assert.equal(Buffer.from(first.value!).toString(), 'first|');
    release();
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += Buffer.from(r.value).toString();
    assert.equal(rest, 'last');
  });

  it('sends trailers when asked for', async () => {
    const { port } = await serve(async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200, headers: [['trailer', 'x-checksum']], trailers: true });
      await send({ type: 'http.response.body', body: 'data' });
      await send({ type: 'http.response.trailers', headers: [['x-checksum', 'abc']] });
    });
    const reply = await raw(port, 'GET / HTTP/1.1\r\nHost: h\r\nTE: trailers\r\nConnection: close\r\n\r\n');
    assert.match(reply, /transfer-encoding: chunked/i);
    assert.match(reply, /0\r\nx-checksum: abc\r\n\r\n$/);
  });

  it('gives http.disconnect when the client goes away (long-polling)', async () => {
    let disconnected!: () => void;
    const gone = new Promise<void>((r) => (disconnected = r));
    const { port } = await serve(async (_scope, receive) => {
      assert.equal((await receive()).type, 'http.request');
      const e = await receive(); // held until the client leaves
      assert.equal(e.type, 'http.disconnect');
      disconnected();
    });
    const s = connect(port, '127.0.0.1', () => s.write('GET /poll HTTP/1.1\r\nHost: h\r\n\r\n'));
    await new Promise((r) => setTimeout(r, 100));
    s.destroy();
    await Promise.race([
      gone,
      new Promise((_, reject) => setTimeout(() => reject(new Error('no http.disconnect')), 3000)),
    ]);
  });
});

describe('HTTP: limits', () => {
  it('413 for a body over maxRequestBodyBytes (declared or streamed)', async () => {
    const { url, port } = await serve(text(200, 'ok'), { maxRequestBodyBytes: 1000 });
    assert.equal((await fetch(url + '/', { method: 'POST', body: 'x'.repeat(2000) })).status, 413);
    const reply = await raw(
      port,
      'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n' + `7d0\r\n${'y'.repeat(2000)}\r\n0\r\n\r\n`,
    );
    assert.match(reply, /^HTTP\/1.1 413/);
    assert.equal((await fetch(url + '/', { method: 'POST', body: 'x'.repeat(500) })).status, 200);
  });

  it('431 for too many or too large headers', async () => {
    const { port } = await serve(text(200, 'ok'), { maxHeaderCount: 10, maxHeaderBytes: 2048 });
    const many = Array.from({ length: 20 }, (_, i) => `x-h${i}: v\r\n`).join('');
    assert.match(await raw(port, `GET / HTTP/1.1\r\nHost: h\r\n${many}\r\n`), /^HTTP\/1.1 431/);
    assert.match(await raw(port, `GET / HTTP/1.1\r\nHost: h\r\nx-big: ${'a'.repeat(4000)}\r\n\r\n`), /^HTTP\/1.1 431/);
  });

  it('503 when the app does not answer within httpResponseTimeoutMs', async () => {
    const { url } = await serve(
      async (_s, receive) => {
        await receive();
        await new Promise((r) => setTimeout(r, 1000));
      },
      { httpResponseTimeoutMs: 100 },
    );
    assert.equal((await fetch(url + '/')).status, 503);
  });
});

describe('HTTP: the error rules', () => {
  it('a bad event throws ERR_INVALID_EVENT in the app, naming the key', async () => {
    const errors: (Error & { code?: string })[] = [];
    const { url } = await serve(async (_s, _r, send) => {
      for (const bad of [
        { type: 'http.response.start', status: 'ok' },
        { type: 'http.response.start', status: 200, headers: [['bad name', 'v']] },
        { type: 'websocket.send', text: 'x' },
      ]) {
        try {
          await send(bad as never);
        } catch (err) {
          errors.push(err as Error);
        }
      }
      await send({ type: 'http.response.start', status: 200, extra: 'ignored' } as never);
      await send({ type: 'http.response.body', body: 'fine' });
    });
    assert.equal(await (await fetch(url + '/')).text(), 'fine');
    assert.equal(errors.length, 3);
    assert.ok(errors.every((e) => e.code === 'ERR_INVALID_EVENT'));
    assert.match(errors[0]!.message, /'status'.*"ok"/);
  });

  it('a send after the response finished throws ERR_SEND_AFTER_CLOSE', async () => {
    let late: (Error & { code?: string }) | null = null;
    const { url } = await serve(async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: 'done' });
      try {
        await send({ type: 'http.response.body', body: 'again' });
      } catch (err) {
        late = err as Error;
      }
    });
    assert.equal(await (await fetch(url + '/')).text(), 'done');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(late!.code, 'ERR_SEND_AFTER_CLOSE');
  });

  it('an app exception gives 500 (no stack to the client) and the server keeps serving', async () => {
    const { url, server } = await serve(async (scope, receive, send) => {
      if ((scope as HttpScope).path === '/boom') throw new Error('secret detail');
      await text(200, 'ok')(scope, receive, send);
    });
    const res = await fetch(url + '/boom');
    assert.equal(res.status, 500);
    assert.doesNotMatch(await res.text(), /secret/);
    assert.equal((await fetch(url + '/fine')).status, 200);
    assert.equal(server.stats().appErrors, 1);
  });
});

describe('HTTP: lifespan, shutdown and the access log', () => {
  it('runs lifespan startup with state copied (shallowly) into every scope', async () => {
    const seen: unknown[] = [];
    const app: Application = async (scope, receive, send) => {
      if (scope.type === 'lifespan') {
        await receive();
        scope.state.db = 'connected';
        await send({ type: 'lifespan.startup.complete' });
        await receive();
        await send({ type: 'lifespan.shutdown.complete' });
        return;
      }
      seen.push({ ...scope.state });
      scope.state!.db = 'changed by one request';
      await text(200, 'ok')(scope, receive, send);
    };
    const { url } = await serve(app, {}, true);
    await fetch(url + '/');
    await fetch(url + '/');
    assert.deepEqual(seen, [{ db: 'connected' }, { db: 'connected' }]);
  });

  it('listen() rejects when startup fails', async () => {
    const server = createServer(
      async (scope, receive, send) => {
        if (scope.type !== 'lifespan') return;
        await receive();
        await send({ type: 'lifespan.startup.failed', message: 'no database' });
      },
      { port: 0 },
    );
    await assert.rejects(server.listen(), /no database/);
  });

  it('close() lets an in-flight response finish, then stops', async () => {
    let started!: () => void;
    const inFlight = new Promise<void>((r) => (started = r));
    const { url, server } = await serve(async (_s, receive, send) => {
      await receive();
      started();
      await new Promise((r) => setTimeout(r, 200));
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: 'finished' });
    });
    const pending = fetch(url + '/slow').then(
      (r) => r.text(),
      (e) => {
        throw e.cause ?? e;
      },
    );
    await inFlight;
    const closing = server.close();
    assert.equal(await pending, 'finished');
    await closing;
    await assert.rejects(fetch(url + '/'));
  });

  it('writes access log lines', async () => {
    const out = new PassThrough();
    let log = '';
    out.on('data', (d) => (log += d));
    const { url } = await serve(text(200, 'hello'), { accessLog: out });
    await (await fetch(url + '/logged?q=1')).text();
    await new Promise((r) => setTimeout(r, 50));
    assert.match(
      log,
      new RegExp(
        /^127\.0\.0\.1:\d+ - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000\] /.source +
          /"GET \/logged\?q=1 HTTP\/1\.1" 200 5 \d+\.\d{3}\n$/.source,
      ),
    );
  });
});
