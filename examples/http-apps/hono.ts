// A Hono app under Canal through Hono's Node adapter, with a WebSocket echo at /ws/echo beside it.
//   canal serve examples/http-apps/hono.ts --port 8000
//   curl 'http://127.0.0.1:8000/hello?name=you'
import { Hono } from 'hono';
import { getRequestListener } from '@hono/node-server';
import { ProtocolTypeRouter, URLRouter, path } from 'canaljs';
import { nodeHttpApp } from 'canaljs';
import type { HttpScope } from 'canaljs';
import { EchoConsumer, SessionConsumer, withSessions } from './echo-consumer.ts';

const app = new Hono();
app.get('/remember', (c) => {
  const session = (c.env as { incoming: { scope: HttpScope } }).incoming.scope.session!;
  session.set('name', c.req.query('name') ?? '');
  return c.json({ remembered: session.get('name') });
});
app.get('/hello', (c) => c.json({ hello: c.req.query('name') ?? 'world', from: 'hono' }));
app.post('/echo', async (c) => c.json(await c.req.json()));

export default ProtocolTypeRouter({
  // getRequestListener turns Hono's fetch handler into a Node (req, res) handler.
  http: withSessions(nodeHttpApp(getRequestListener(app.fetch))),
  websocket: withSessions(
    URLRouter([path('ws/echo', EchoConsumer.asApp()), path('ws/session', SessionConsumer.asApp())]),
  ),
});
