// One suite, run against each framework in http-apps-fixtures.ts: the framework is mounted with
// nodeHttpApp as the http branch of a ProtocolTypeRouter, a WebSocket echo consumer beside it,
// served by the real interface server on 127.0.0.1:0 and driven with fetch and ws.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { nodeHttpApp } from '../../src/adapters/node-http-app.ts';
import { ProtocolTypeRouter, URLRouter, path } from '../../src/routing/index.ts';
import { WebsocketConsumer, type Frame } from '../../src/consumers/index.ts';
import { createServer, type CanalServer } from '../../src/server/server.ts';
import type { Application } from '../../src/asgi/types.ts';
import type { Handler } from './http-apps-fixtures.ts';

class EchoConsumer extends WebsocketConsumer {
  override async receive(frame: Frame): Promise<void> {
    await this.send(frame.text !== undefined ? { text: `echo: ${frame.text}` } : frame);
  }
}

/** The app the examples show: the framework for HTTP, consumers for WebSockets. */
export function mount(handler: Handler): Application {
  return ProtocolTypeRouter({
    http: nodeHttpApp(handler),
    websocket: URLRouter([path('ws/echo', EchoConsumer.asApp())]),
  });
}

const TIMEOUT_MS = 5000;

function within<T>(promise: Promise<T>, what: string, ms = TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function wsEcho(url: string, text: string): Promise<string> {
  return within(
    new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.on('open', () => ws.send(text));
      ws.on('message', (data) => {
        resolve(data.toString());
        ws.close();
      });
      ws.on('error', reject);
    }),
    `WebSocket echo at ${url}`,
  );
}

export function frameworkSuite(name: string, makeHandler: () => Handler | Promise<Handler>): void {
  describe(`${name} under Canal`, () => {
    let server: CanalServer;
    let base = '';
    let wsBase = '';
    const get = (p: string, init: RequestInit = {}) =>
      fetch(base + p, { signal: AbortSignal.timeout(TIMEOUT_MS), ...init });

    before(async () => {
      server = createServer(mount(await makeHandler()), { host: '127.0.0.1', port: 0 });
      const { port } = await server.listen();
      base = `http://127.0.0.1:${port}`;
      wsBase = `ws://127.0.0.1:${port}`;
    });
    after(async () => {
      await server?.close();
    });

    it('answers a GET with its query string', async () => {
      const res = await get('/query?name=canal&n=1');
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      assert.deepEqual(await res.json(), { query: { name: 'canal', n: '1' }, path: '/query' });
    });

    it('reads a JSON request body', async () => {
      const res = await get('/json', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ hello: 'world', list: [1, 2, 3] }),
      });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { received: { hello: 'world', list: [1, 2, 3] } });
    });

    it('streams a large upload through to the handler intact', async () => {
      const parts = Array.from({ length: 64 }, () => randomBytes(64 * 1024)); // 4 MiB
      const expected = createHash('sha256');
      for (const p of parts) expected.update(p);
      let i = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (i < parts.length) controller.enqueue(parts[i++]!);
          else controller.close();
        },
      });
      const res = await get('/upload', {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body,
        duplex: 'half',
      } as RequestInit);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { bytes: 64 * 64 * 1024, sha256: expected.digest('hex') });
    });

    it('streams a response: the first chunk arrives before the handler ends it', async () => {
      const id = `s${Math.random().toString(36).slice(2)}`;
      const res = await get(`/stream/${id}`);
      assert.equal(res.status, 200);
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      while (!text.includes('first\n')) {
        const { value, done } = await within(reader.read(), 'the first chunk');
        assert.equal(done, false, 'the response ended before it was released');
        text += decoder.decode(value, { stream: true });
      }
      assert.equal(text, 'first\n');
      const released = await get(`/release/${id}`);
      assert.deepEqual(await released.json(), { released: true });
      for (;;) {
        const { value, done } = await within(reader.read(), 'the rest of the stream');
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
      assert.equal(text, 'first\nlast\n');
    });

    it('keeps several Set-Cookie headers apart', async () => {
      const res = await get('/cookies');
      assert.equal(res.status, 200);
      const cookies = res.headers.getSetCookie().map((c) => c.split(';')[0]);
      assert.deepEqual(cookies, ['a=1', 'b=2']);
      assert.equal(await res.text(), 'ok');
    });

    it('answers 500 when a route throws, and serves the next request', async () => {
      const res = await get('/boom');
      assert.equal(res.status, 500);
      await res.arrayBuffer();
      const next = await get('/query?after=boom');
      assert.equal(next.status, 200);
      assert.deepEqual(((await next.json()) as { query: unknown }).query, { after: 'boom' });
    });

    it("gives the framework's own 404 for an unknown path", async () => {
      const res = await get('/no/such/route');
      assert.equal(res.status, 404);
      await res.arrayBuffer();
    });

    it('serves a WebSocket consumer beside the framework on the same port', async () => {
      assert.equal(await wsEcho(`${wsBase}/ws/echo`, 'hi'), 'echo: hi');
    });
  });
}
