// canaljs/client against the real server: reconnecting after a restart on the same port (state
// events in order, the buffer delivered, overflow reported), requests and their replies,
// giving up after maxRetries, waiting while offline, and the served client module.
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { createServer, type CanalServer } from '../../src/server/server.ts';
import { JsonWebsocketConsumer, withReplies } from '../../src/consumers/index.ts';
import { resetChannelLayers } from '../../src/layers/registry.ts';
import type { Application } from '../../src/asgi/types.ts';
import {
  type CanalClientError,
  connect,
  type CanalClient,
  type Network,
  type WebSocketClass,
} from '../../src/client/index.ts';
import { clientAsset, clientSource } from '../../src/static/client-asset.ts';
import { until } from '../unit/consumers-helpers.ts';

type ApiMessages =
  | { type: 'echo'; text: string }
  | { type: 'add'; a: number; b: number }
  | { type: 'sum'; n: number }
  | { type: 'fail' }
  | { type: 'slow'; ms: number };

class Api extends withReplies(JsonWebsocketConsumer<ApiMessages>) {
  static override channelLayerAlias = null;
  override async receiveJson(m: ApiMessages): Promise<void> {
    if (m.type === 'echo') await this.sendJson(m);
    else if (m.type === 'add') await this.reply(m, { type: 'sum', n: m.a + m.b });
    else if (m.type === 'fail') await this.replyError(m, 'no such account');
    else if (m.type === 'slow') setTimeout(() => void this.reply(m, { type: 'sum', n: 0 }).catch(() => {}), m.ms);
  }
}

const app: Application = async (scope, receive, send) => {
  if (scope.type === 'lifespan') return;
  if (scope.type === 'http') return clientAsset()(scope, receive, send);
  return Api.asApp()(scope, receive, send);
};

const servers: CanalServer[] = [];
const clients: CanalClient<ApiMessages>[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  resetChannelLayers();
});

async function serve(port = 0): Promise<{ server: CanalServer; port: number }> {
  const server = createServer(app, { port, host: '127.0.0.1' });
  servers.push(server);
  return { server, port: (await server.listen()).port };
}

const wsClass = WebSocket as unknown as WebSocketClass;

function open(port: number, options: Parameters<typeof connect>[1] = {}): CanalClient<ApiMessages> {
  const client = connect<ApiMessages>(`ws://127.0.0.1:${port}/api/`, { minDelayMs: 10, maxDelayMs: 40, ...options });
  clients.push(client);
  return client;
}

describe('canaljs/client on the real server', () => {
  test('reconnects after a restart: events in order, the buffer delivered, overflow reported', async () => {
    const first = await serve();
    const events: string[] = [];
    const delays: number[] = [];
    const client = open(first.port, { maxBuffered: 2, random: () => 0.5 });
    client.onEvent('open', () => events.push('open'));
    client.onEvent('close', ({ willRetry }) => events.push(`close:${willRetry}`));
    client.onEvent('reconnecting', ({ delayMs }) => {
      events.push('reconnecting');
      delays.push(delayMs);
    });
    const dropped: unknown[] = [];
    client.onEvent('overflow', (m) => dropped.push(m));
    const echoes: string[] = [];
    client.on('echo', (m) => echoes.push(m.text));
    assert.equal(client.state, 'connecting');
    await until(() => client.state === 'open', 2000);
    client.send({ type: 'echo', text: 'one' });
    await until(() => echoes.length === 1, 2000);

    const unanswered = assert.rejects(client.request({ type: 'slow', ms: 60_000 }), (err: CanalClientError) => {
      assert.equal(err.code, 'ERR_CONNECTION_LOST');
      assert.match(err.message, /request "slow" \(_ref 1\): the connection closed \(1012\) before a reply/);
      return true;
    });
    await first.server.close();
    await until(() => client.state === 'reconnecting', 2000);
    await unanswered;
    assert.equal(client.send({ type: 'echo', text: 'two' }), true);
    assert.equal(client.send({ type: 'echo', text: 'three' }), true);
    assert.equal(client.send({ type: 'echo', text: 'four' }), false, 'the third message does not fit');
    assert.deepEqual(dropped, [{ type: 'echo', text: 'four' }]);
    assert.equal(client.buffered, 2);
    await until(() => delays.length >= 4, 2000);

    await serve(first.port);
    await until(() => echoes.length === 3, 3000);
    assert.deepEqual(echoes, ['one', 'two', 'three']);
    assert.equal(client.state, 'open');
    assert.equal(client.buffered, 0);
    // open, then a close and a retry per failed attempt, then open again.
    assert.equal(events[0], 'open');
    assert.equal(events.at(-1), 'open');
    const between = events.slice(1, -1);
    assert.ok(between.length >= 2 && between.length % 2 === 0, between.join(' '));
    for (let i = 0; i < between.length; i += 2)
      assert.deepEqual(between.slice(i, i + 2), ['close:true', 'reconnecting']);
    // Full jitter at 0.5: half of min(40, 10 × 2^attempt).
    assert.deepEqual(delays.slice(0, 4), [5, 10, 20, 20]);
  });

  test('a url given as a function is read before each attempt', async () => {
    const first = await serve();
    let since = 0;
    const urls: string[] = [];
    const client = connect<ApiMessages>(
      () => {
        urls.push(`ws://127.0.0.1:${first.port}/api/?since=${since}`);
        return urls.at(-1)!;
      },
      { minDelayMs: 10, maxDelayMs: 40 },
    );
    clients.push(client);
    await until(() => client.state === 'open', 2000);
    assert.equal(client.url, `ws://127.0.0.1:${first.port}/api/?since=0`);
    since = 7;
    await first.server.close();
    await until(() => urls.length >= 2, 2000);
    await serve(first.port);
    await until(() => client.state === 'open', 3000);
    assert.equal(client.url, `ws://127.0.0.1:${first.port}/api/?since=7`, 'the reconnect used the new position');
    assert.equal(urls[0], `ws://127.0.0.1:${first.port}/api/?since=0`);
  });

  test('request() resolves with the reply, rejects on an error reply and on timeout', async () => {
    const { port } = await serve();
    const client = open(port, { WebSocket: wsClass });
    // Sent before the socket is open: buffered, then answered.
    const sum = client.request<{ type: 'sum'; n: number }>({ type: 'add', a: 2, b: 3 });
    assert.deepEqual(await sum, { type: 'sum', n: 5, _ref: 1 });
    await assert.rejects(client.request({ type: 'fail' }), (err: CanalClientError) => {
      assert.equal(err.code, 'ERR_REQUEST_FAILED');
      assert.equal(err.message, 'no such account');
      return true;
    });
    const started = Date.now();
    await assert.rejects(client.request({ type: 'slow', ms: 150 }, { timeoutMs: 50 }), (err: CanalClientError) => {
      assert.equal(err.code, 'ERR_REQUEST_TIMEOUT');
      assert.match(err.message, /request "slow" \(_ref 3\) got no reply within 50 ms/);
      return true;
    });
    assert.ok(Date.now() - started >= 45, 'not before its time');
    // The late reply is dropped; the next request still gets its own.
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(await client.request({ type: 'add', a: 1, b: 1 }), { type: 'sum', n: 2, _ref: 4 });
    // The server's reply() to a plain send() is an ordinary message.
    const sums: number[] = [];
    client.on('sum', (m) => sums.push(m.n));
    client.send({ type: 'add', a: 4, b: 4 });
    await until(() => sums.length === 1, 2000);
    assert.deepEqual(sums, [8]);
  });

  test('gives up after maxRetries, and reports what was never sent', async () => {
    const { server, port } = await serve();
    await server.close();
    const client = open(port, { maxRetries: 2, minDelayMs: 1, maxDelayMs: 2 });
    const closes: boolean[] = [];
    client.onEvent('close', ({ willRetry }) => closes.push(willRetry));
    const errors: CanalClientError[] = [];
    client.onEvent('error', (err) => errors.push(err));
    client.send({ type: 'echo', text: 'lost' });
    const pending = client.request({ type: 'add', a: 1, b: 2 });
    await assert.rejects(pending, (err: CanalClientError) => err.code === 'ERR_CLIENT_CLOSED');
    assert.equal(client.state, 'closed');
    assert.deepEqual(closes, [true, true, false]);
    assert.deepEqual(
      errors.map((e) => [e.code, e.dropped]),
      [['ERR_CLIENT_CLOSED', { type: 'echo', text: 'lost' }]],
    );
    assert.equal(client.send({ type: 'echo', text: 'after' }), false);
  });

  test("close() while connecting on ws's class ends quietly; later sends and requests are refused", async () => {
    const { port } = await serve();
    const client = open(port, { WebSocket: wsClass });
    client.close();
    assert.equal(client.state, 'closed');
    await assert.rejects(client.request({ type: 'add', a: 1, b: 1 }), (err: CanalClientError) => {
      assert.equal(err.code, 'ERR_CLIENT_CLOSED');
      return true;
    });
    const dropped: unknown[] = [];
    client.onEvent('overflow', (m) => dropped.push(m));
    assert.equal(client.send({ type: 'echo', text: 'late' }), false);
    assert.deepEqual(dropped, [{ type: 'echo', text: 'late' }]);
    // ws reports the cut handshake with an error event a tick later: it must find a listener.
    await new Promise((r) => setTimeout(r, 50));
  });

  test('waits while offline and connects at once when back online', async () => {
    const { port } = await serve();
    let onLine = false;
    let notify: (up: boolean) => void = () => {};
    const network: Network = {
      onLine: () => onLine,
      watch(onChange) {
        notify = onChange;
        return () => {};
      },
    };
    const client = open(port, { network, minDelayMs: 60_000, maxDelayMs: 60_000 });
    const events: string[] = [];
    for (const e of ['open', 'offline', 'reconnecting'] as const) client.onEvent(e, () => events.push(e));
    assert.equal(client.state, 'offline');
    client.send({ type: 'echo', text: 'queued' });
    const echoes: string[] = [];
    client.on('echo', (m) => echoes.push(m.text));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(client.state, 'offline');
    onLine = true;
    notify(true);
    await until(() => echoes.length === 1, 2000);
    assert.deepEqual(events, ['reconnecting', 'open']);
    assert.deepEqual(echoes, ['queued']);
  });

  test('clientAsset serves the client module with an ETag and a long cache', async () => {
    const { port } = await serve();
    const res = await fetch(`http://127.0.0.1:${port}/canal/client.js`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'public, max-age=604800');
    const etag = res.headers.get('etag');
    assert.equal(etag, clientSource().etag);
    const text = await res.text();
    assert.match(text, /export function connect\s*\(/);
    assert.doesNotMatch(text, /^import /m, 'one file, no imports');
    const again = await fetch(`http://127.0.0.1:${port}/canal/client.js`, { headers: { 'if-none-match': etag! } });
    assert.equal(again.status, 304);
    const post = await fetch(`http://127.0.0.1:${port}/canal/client.js`, { method: 'POST' });
    assert.equal(post.status, 405);
    // The served text runs: loaded as a module, it connects and echoes.
    const mod = await import(`data:text/javascript;base64,${Buffer.from(text).toString('base64')}`);
    const client = mod.connect(`ws://127.0.0.1:${port}/api/`) as CanalClient<ApiMessages>;
    clients.push(client);
    const echoed = new Promise<string>((resolve) => client.on('echo', (m) => resolve(m.text)));
    client.send({ type: 'echo', text: 'from the served file' });
    assert.equal(await echoed, 'from the served file');
  });
});
