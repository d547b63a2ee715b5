import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Application, WebsocketScope } from '../../src/asgi/types.ts';
import { TimeoutError, UnexpectedEventError } from '../../src/errors.ts';
import { WebsocketCommunicator } from '../../src/testing/websocket-communicator.ts';
import { HttpCommunicator } from '../../src/testing/http-communicator.ts';

/** Accepts (with the first offered subprotocol), echoes frames, records the scope it got. */
function echoApp(seen: { scope?: WebsocketScope; disconnect?: number }): Application {
  return async (scope, receive, send) => {
    seen.scope = scope as WebsocketScope;
    for (;;) {
      const e = await receive();
      if (e.type === 'websocket.connect')
        await send({ type: 'websocket.accept', subprotocol: (scope as WebsocketScope).subprotocols[0] ?? null });
      else if (e.type === 'websocket.receive')
        await send(
          e.text !== undefined ? { type: 'websocket.send', text: e.text } : { type: 'websocket.send', bytes: e.bytes! },
        );
      else if (e.type === 'websocket.disconnect') {
        seen.disconnect = e.code;
        return;
      }
    }
  };
}

test('the scope is a complete websocket scope: decoded path, raw bytes, query, headers, subprotocols', async () => {
  const seen: { scope?: WebsocketScope } = {};
  const c = new WebsocketCommunicator(echoApp(seen), '/chat/caf%C3%A9/?token=a%20b', {
    headers: { Origin: 'http://example.com' },
    subprotocols: ['v2.chat', 'v1.chat'],
    query: { page: '2' },
  });
  const result = await c.connect();
  assert.equal(result.connected, true);
  assert.equal(result.subprotocol, 'v2.chat');
  const s = seen.scope!;
  assert.equal(s.type, 'websocket');
  assert.equal(s.path, '/chat/café/');
  assert.deepEqual(s.raw_path, Buffer.from('/chat/caf%C3%A9/'));
  assert.deepEqual(s.query_string, Buffer.from('token=a%20b&page=2'));
  assert.deepEqual(s.headers, [[Buffer.from('origin'), Buffer.from('http://example.com')]]);
  assert.deepEqual(s.subprotocols, ['v2.chat', 'v1.chat']);
  assert.equal(s.scheme, 'ws');
  assert.equal(s.asgi.version, '3.0');
  assert.ok(Array.isArray(s.client) && Array.isArray(s.server));
  assert.deepEqual(s.extensions, { 'websocket.http.response': {} });
  await c.disconnect();
});

test('text and bytes frames round-trip; JSON helpers encode and decode', async () => {
  const seen: { disconnect?: number } = {};
  const c = new WebsocketCommunicator(echoApp(seen), '/');
  await c.connect();
  await c.sendTo({ text: 'hello' });
  assert.equal(await c.receiveFrom(), 'hello');
  await c.sendTo({ bytes: Buffer.from([1, 2, 3]) });
  const bytes = await c.receiveFrom();
  assert.ok(Buffer.isBuffer(bytes));
  assert.deepEqual(bytes, Buffer.from([1, 2, 3]));
  await c.sendJsonTo({ a: [1, 'x'] });
  assert.deepEqual(await c.receiveJsonFrom(), { a: [1, 'x'] });
  assert.equal(await c.receiveNothing(50), true);
  await c.disconnect(4001);
  assert.equal(seen.disconnect, 4001);
});

test('sendTo refuses a frame with both or neither of text and bytes', async () => {
  const c = new WebsocketCommunicator(echoApp({}), '/');
  await c.connect();
  await assert.rejects(c.sendTo({ text: 'a', bytes: Buffer.from('b') } as never), /exactly one/);
  await assert.rejects(c.sendTo({} as never), /exactly one/);
  await c.disconnect();
});

test('a close before accept gives connected: false with the close code (1000 when none)', async () => {
  const refusing =
    (code?: number): Application =>
    async (_s, receive, send) => {
      await receive();
      await send(code === undefined ? { type: 'websocket.close' } : { type: 'websocket.close', code, reason: 'nope' });
    };
  assert.deepEqual(await new WebsocketCommunicator(refusing(), '/').connect(), {
    connected: false,
    subprotocol: null,
    closeCode: 1000,
  });
  const r = await new WebsocketCommunicator(refusing(4403), '/').connect();
  assert.equal(r.connected, false);
  assert.equal(r.closeCode, 4403);
  assert.equal(r.reason, 'nope');
});

test('a denial response is returned with its status, headers and body', async () => {
  const app: Application = async (_s, receive, send) => {
    await receive();
    await send({ type: 'websocket.http.response.start', status: 401, headers: [['content-type', 'text/plain']] });
    await send({ type: 'websocket.http.response.body', body: Buffer.from('log in '), more_body: true });
    await send({ type: 'websocket.http.response.body', body: Buffer.from('first') });
  };
  const r = await new WebsocketCommunicator(app, '/').connect();
  assert.equal(r.connected, false);
  assert.equal(r.closeCode, 1006);
  assert.equal(r.response?.status, 401);
  assert.deepEqual(r.response?.headers, [[Buffer.from('content-type'), Buffer.from('text/plain')]]);
  assert.equal(r.response?.body.toString(), 'log in first');
});

test('receiveFrom names the close code when the app closed instead of sending', async () => {
  const app: Application = async (_s, receive, send) => {
    await receive();
    await send({ type: 'websocket.accept' });
    await send({ type: 'websocket.close', code: 4004, reason: 'room gone' });
  };
  const c = new WebsocketCommunicator(app, '/');
  assert.equal((await c.connect()).connected, true);
  await assert.rejects(
    c.receiveFrom(),
    (err: unknown) => err instanceof UnexpectedEventError && /4004/.test(err.message) && /room gone/.test(err.message),
  );
});

test('receiveFrom times out when the app sends nothing', async () => {
  const c = new WebsocketCommunicator(echoApp({}), '/');
  await c.connect();
  const started = Date.now();
  await assert.rejects(c.receiveFrom(100), TimeoutError);
  assert.ok(Date.now() - started < 500);
  await c.disconnect();
});

test('an app that raises during connect: connect re-raises its error', async () => {
  const app: Application = async (_s, receive) => {
    await receive();
    throw new RangeError('bad connect');
  };
  const c = new WebsocketCommunicator(app, '/');
  await assert.rejects(c.connect(), (err: unknown) => err instanceof RangeError && err.message === 'bad connect');
});

test('disconnect times out when the app ignores websocket.disconnect', async () => {
  const app: Application = async (_s, receive, send) => {
    await receive();
    await send({ type: 'websocket.accept' });
    await receive();
    await new Promise((r) => setTimeout(r, 400));
  };
  const c = new WebsocketCommunicator(app, '/');
  await c.connect();
  await assert.rejects(c.disconnect(1000, 80), TimeoutError);
});

test('HttpCommunicator sends the body and gathers a streamed response', async () => {
  const app: Application = async (scope, receive, send) => {
    assert.equal(scope.type, 'http');
    const req = await receive();
    assert.equal(req.type, 'http.request');
    const body = req.type === 'http.request' ? req.body.toString() : '';
    await send({
      type: 'http.response.start',
      status: 201,
      headers: [
        ['content-type', 'application/json'],
        ['x-method', (scope as { method: string }).method],
      ],
    });
    await send({ type: 'http.response.body', body: Buffer.from('{"got":'), more_body: true });
    await send({ type: 'http.response.body', body: Buffer.from(JSON.stringify(body) + '}') });
  };
  const c = new HttpCommunicator(app, 'post', '/items/?x=1', {
    body: 'payload',
    headers: [['Content-Type', 'text/plain']],
  });
  assert.equal(c.scope.type === 'http' && c.scope.method, 'POST');
  const r = await c.getResponse();
  assert.equal(r.status, 201);
  assert.equal(r.header('Content-Type'), 'application/json');
  assert.equal(r.header('x-method'), 'POST');
  assert.equal(r.chunks.length, 2);
  assert.deepEqual(r.json(), { got: 'payload' });
});

test('HttpCommunicator re-raises the app error and reports a wrong first event', async () => {
  const raising: Application = async (_s, receive) => {
    await receive();
    throw new TypeError('view crashed');
  };
  await assert.rejects(new HttpCommunicator(raising, 'GET', '/').getResponse(), /view crashed/);
  const wrong: Application = async (_s, receive, send) => {
    await receive();
    await send({ type: 'http.response.body', body: Buffer.from('x') });
  };
  await assert.rejects(
    new HttpCommunicator(wrong, 'GET', '/').getResponse(),
    (err: unknown) => err instanceof UnexpectedEventError && /http\.response\.start/.test(err.message),
  );
});
