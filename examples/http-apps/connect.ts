// A Connect app under Canal, with a WebSocket echo at /ws/echo beside it.
//   canal serve examples/http-apps/connect.ts --port 8000
//   curl 'http://127.0.0.1:8000/hello?name=you'
import type { IncomingMessage, ServerResponse } from 'node:http';
import connect from 'connect';
import { ProtocolTypeRouter, URLRouter, path } from 'canaljs';
import { nodeHttpApp } from 'canaljs';
import type { HttpScope } from 'canaljs';
import { EchoConsumer, SessionConsumer, withSessions } from './echo-consumer.ts';

const app = connect();
app.use('/remember', (req: IncomingMessage, res: ServerResponse) => {
  const session = (req as IncomingMessage & { scope: HttpScope }).scope.session!;
  session.set('name', new URL(req.url ?? '/', 'http://localhost').searchParams.get('name') ?? '');
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ remembered: session.get('name') }));
});
app.use('/hello', (req: IncomingMessage, res: ServerResponse) => {
  const name = new URL(req.url ?? '/', 'http://localhost').searchParams.get('name') ?? 'world';
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ hello: name, from: 'connect' }));
});

export default ProtocolTypeRouter({
  http: withSessions(nodeHttpApp(app)),
  websocket: withSessions(
    URLRouter([path('ws/echo', EchoConsumer.asApp()), path('ws/session', SessionConsumer.asApp())]),
  ),
});
