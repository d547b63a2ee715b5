// Routers behind the real interface server: what a client sees for a route and for no route.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import type { Application } from '../../src/asgi/types.ts';
import { createServer, type CanalServer } from '../../src/server/server.ts';
import { ProtocolTypeRouter, URLRouter, path } from '../../src/routing/index.ts';

const json =
  (value: unknown): Application =>
  async (_s, receive, send) => {
    await receive();
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/json']] });
    await send({ type: 'http.response.body', body: Buffer.from(JSON.stringify(value)) });
  };
const room: Application = async (scope, receive, send) => {
  if (scope.type === 'http') return json(scope.url_route)(scope, receive, send);
  await receive();
  await send({ type: 'websocket.accept' });
  await send({ type: 'websocket.send', text: JSON.stringify(scope.url_route) });
  for (;;) if ((await receive()).type === 'websocket.disconnect') return;
};

const app = ProtocolTypeRouter({
  http: URLRouter([path('rooms/<int:id>/', room)]),
  websocket: URLRouter([path('ws/', URLRouter([path('rooms/<slug:name>/', room)]))]),
});

let server: CanalServer;
let port: number;
before(async () => {
  // No lifespan entry: listen() must still succeed.
  server = createServer(app, { port: 0, host: '127.0.0.1' });
  ({ port } = await server.listen());
});
after(async () => {
  await server.close();
});

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => (t = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms))),
  ]);
}

test('HTTP: a routed path gets url_route; an unknown one gets a 404 naming it', async () => {
  const ok = await fetch(`http://127.0.0.1:${port}/rooms/7/`, { signal: AbortSignal.timeout(3000) });
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { args: [], kwargs: { id: 7 } });
  const missing = await fetch(`http://127.0.0.1:${port}/nowhere/`, { signal: AbortSignal.timeout(3000) });
  assert.equal(missing.status, 404);
  assert.equal(await missing.text(), 'Not Found: /nowhere/\n');
});

test('WebSocket: a nested route connects with merged url_route; an unknown path is refused with 403', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/rooms/lobby/`);
  const first = await withTimeout(
    new Promise<string>((resolve, reject) => {
      ws.once('message', (data) => resolve(data.toString()));
      ws.once('error', reject);
    }),
    3000,
    'first frame',
  );
  assert.deepEqual(JSON.parse(first), { args: [], kwargs: { name: 'lobby' } });
  ws.close();

  const refused = new WebSocket(`ws://127.0.0.1:${port}/ws/unknown/`);
  const status = await withTimeout(
    new Promise<number>((resolve, reject) => {
      refused.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        res.resume();
        refused.terminate();
      });
      refused.once('open', () => reject(new Error('the handshake should have been refused')));
      refused.once('error', () => undefined);
    }),
    3000,
    'refusal',
  );
  assert.equal(status, 403);
});
