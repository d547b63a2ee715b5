// An Express app, unchanged, under Canal, with a WebSocket echo at /ws/echo beside it.
//   canal serve examples/http-apps/express.ts --port 8000
//   curl 'http://127.0.0.1:8000/hello?name=you'
import express from 'express';
import { ProtocolTypeRouter, URLRouter, path } from 'canaljs';
import { nodeHttpApp } from 'canaljs';
import type { HttpScope } from 'canaljs';
import { EchoConsumer, SessionConsumer, withSessions } from './echo-consumer.ts';

const app = express();
app.use(express.json());
app.get('/hello', (req, res) => {
  res.json({ hello: req.query.name ?? 'world', from: 'express' });
});
// The Canal session (SessionMiddleware around nodeHttpApp) is req.scope.session; the
// WebSocket consumer at /ws/session reads the same session.
app.get('/remember', (req, res) => {
  const session = (req as unknown as { scope: HttpScope }).scope.session!;
  session.set('name', String(req.query.name ?? ''));
  res.json({ remembered: session.get('name') });
});
app.post('/echo', (req, res) => {
  res.json(req.body);
});

export default ProtocolTypeRouter({
  http: withSessions(nodeHttpApp(app)),
  websocket: withSessions(
    URLRouter([path('ws/echo', EchoConsumer.asApp()), path('ws/session', SessionConsumer.asApp())]),
  ),
});
