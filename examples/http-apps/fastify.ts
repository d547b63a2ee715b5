// A Fastify app under Canal, with a WebSocket echo at /ws/echo beside it.
//   canal serve examples/http-apps/fastify.ts --port 8000
//   curl 'http://127.0.0.1:8000/hello?name=you'
// Fastify's own request handler is `fastify.routing`, ready once `fastify.ready()` resolves;
// Canal serves the sockets, so Fastify never calls listen().
import Fastify from 'fastify';
import { ProtocolTypeRouter, URLRouter, path } from 'canaljs';
import { nodeHttpApp } from 'canaljs';
import type { HttpScope } from 'canaljs';
import { EchoConsumer, SessionConsumer, withSessions } from './echo-consumer.ts';

const app = Fastify();
app.get<{ Querystring: { name?: string } }>('/remember', async (req) => {
  const session = (req.raw as unknown as { scope: HttpScope }).scope.session!;
  session.set('name', req.query.name ?? '');
  return { remembered: session.get('name') };
});
app.get<{ Querystring: { name?: string } }>('/hello', async (req) => ({
  hello: req.query.name ?? 'world',
  from: 'fastify',
}));
app.post('/echo', async (req) => req.body);
await app.ready();

export default ProtocolTypeRouter({
  http: withSessions(nodeHttpApp(app.routing)),
  websocket: withSessions(
    URLRouter([path('ws/echo', EchoConsumer.asApp()), path('ws/session', SessionConsumer.asApp())]),
  ),
});
