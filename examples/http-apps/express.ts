// An Express app, unchanged, under Canal, with a WebSocket echo at /ws/echo beside it.
//   canal serve examples/http-apps/express.ts --port 8000
//   curl 'http://127.0.0.1:8000/hello?name=you'
import express from 'express';
import { ProtocolTypeRouter, URLRouter, path } from '../../src/index.js';
import { nodeHttpApp } from '../../src/middleware/node-http-app.js';
import { EchoConsumer } from './echo-consumer.js';

const app = express();
app.use(express.json());
app.get('/hello', (req, res) => {
  res.json({ hello: req.query.name ?? 'world', from: 'express' });
});
app.post('/echo', (req, res) => {
  res.json(req.body);
});

export default ProtocolTypeRouter({
  http: nodeHttpApp(app),
  websocket: URLRouter([path('ws/echo', EchoConsumer.asApp())]),
});
