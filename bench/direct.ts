// The bench contract (../shared/bench/CONTRACT.md) written directly on the app interface:
// no routers, consumers or channel layer. It shows what the interface server itself costs;
// bench/app.ts is the same contract built from Canal's real pieces.
import type { Application, HttpScope, Send, WebsocketScope, Receive } from '../src/asgi/types.ts';

const HELLO = Buffer.from('hello world');
const HELLO_HEADERS: [string, string][] = [
  ['content-type', 'text/plain'],
  ['content-length', String(HELLO.length)],
];
const GROUP_PATH = /^\/bench\/group\/([A-Za-z0-9._-]{1,99})\/$/;

/** group name -> the `send` of every member socket in this process */
const groups = new Map<string, Set<Send>>();

async function http(scope: HttpScope, send: Send): Promise<void> {
  if (scope.path === '/bench/hello') {
    await send({ type: 'http.response.start', status: 200, headers: HELLO_HEADERS });
    await send({ type: 'http.response.body', body: scope.method === 'HEAD' ? undefined : HELLO });
    return;
  }
  await send({ type: 'http.response.start', status: 404, headers: [['content-type', 'text/plain']] });
  await send({ type: 'http.response.body', body: 'not found' });
}

async function websocket(scope: WebsocketScope, receive: Receive, send: Send): Promise<void> {
  const group = GROUP_PATH.exec(scope.path)?.[1];
  if (scope.path !== '/bench/echo/' && group === undefined) {
    await send({ type: 'websocket.close' });
    return;
  }
  let members: Set<Send> | undefined;
  for (;;) {
    const event = await receive();
    if (event.type === 'websocket.connect') {
      if (group !== undefined) {
        members = groups.get(group);
        if (!members) groups.set(group, (members = new Set()));
        members.add(send);
      }
      await send({ type: 'websocket.accept' });
    } else if (event.type === 'websocket.receive') {
      const out =
        event.text !== undefined
          ? { type: 'websocket.send' as const, text: event.text }
          : { type: 'websocket.send' as const, bytes: event.bytes };
      if (!members) {
        await send(out);
        continue;
      }
      for (const member of members) member(out).catch(() => {});
    } else if (event.type === 'websocket.disconnect') {
      if (members && group !== undefined) {
        members.delete(send);
        if (members.size === 0) groups.delete(group);
      }
      return;
    }
  }
}

const app: Application = async (scope, receive, send) => {
  if (scope.type === 'http') return http(scope, send);
  if (scope.type === 'websocket') return websocket(scope, receive, send);
  // lifespan: not needed here; returning tells the server the app has no lifespan support.
};

export default app;
