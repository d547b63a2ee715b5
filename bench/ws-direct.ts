// The WebSocket half of the bench contract written directly on the app interface and served by
// createServer (no CLI, routers, consumers or channel layer), so the interface server's own
// write path can be measured against ../shared/anchors/raw-ws:
//
//   PORT=8011 taskset -c 0 node bench/ws-direct.ts
//   taskset -c 1 node ../shared/bench/loadgen.mjs echo --url ws://127.0.0.1:8011 --conns 100 --window 16
//   taskset -c 1 node ../shared/bench/loadgen.mjs fanout --url ws://127.0.0.1:8011 --receivers 1000 --window 4
//
// Routes: WS /bench/echo/ sends every message back; WS /bench/group/<name>/ sends every message
// to every member (the same event object to each, as a channel layer delivers a group message);
// GET /bench/hello answers "hello world" (the load generator waits for it).
import type { Application, Receive, Send, WebsocketScope } from '../src/asgi/types.ts';
import { createServer } from '../src/server/server.ts';

const HELLO = Buffer.from('hello world');
const GROUP_PATH = /^\/bench\/group\/([A-Za-z0-9._-]{1,99})\/$/;
const groups = new Map<string, Set<Send>>();

async function websocket(scope: WebsocketScope, receive: Receive, send: Send): Promise<void> {
  const group = GROUP_PATH.exec(scope.path)?.[1];
  if (scope.path !== '/bench/echo/' && group === undefined) {
    await send({ type: 'websocket.http.response.start', status: 404 });
    await send({ type: 'websocket.http.response.body' });
    return;
  }
  let members: Set<Send> | undefined;
  for (;;) {
    const event = await receive();
    if (event.type === 'websocket.receive') {
      const out =
        event.text !== undefined
          ? { type: 'websocket.send' as const, text: event.text }
          : { type: 'websocket.send' as const, bytes: event.bytes };
      if (!members) await send(out);
      else for (const member of members) member(out).catch(() => {});
    } else if (event.type === 'websocket.connect') {
      if (group !== undefined) {
        members = groups.get(group);
        if (!members) groups.set(group, (members = new Set()));
        members.add(send);
      }
      await send({ type: 'websocket.accept' });
    } else {
      if (members && group !== undefined) {
        members.delete(send);
        if (members.size === 0) groups.delete(group);
      }
      return;
    }
  }
}

const app: Application = async (scope, receive, send) => {
  if (scope.type === 'websocket') return websocket(scope, receive, send);
  if (scope.type === 'http') {
    const found = scope.path === '/bench/hello';
    await send({ type: 'http.response.start', status: found ? 200 : 404, headers: [['content-type', 'text/plain']] });
    await send({ type: 'http.response.body', body: found ? HELLO : 'not found' });
  }
};

const server = createServer(app, { port: Number(process.env.PORT ?? 8000) });
const { host, port } = await server.listen();
console.error(`ws-direct: listening on ${host}:${port}`);
const stop = () => void server.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
