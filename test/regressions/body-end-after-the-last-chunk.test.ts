// Regression: when a request body's last chunk went to a receive() that was waiting, and the
// body's end came before the app's next receive() (as Node 22's HTTP/2 layer delivers a stream's
// end over TLS: in the same turn as its last DATA), that next receive() waited forever. The app never got
// the event with more_body false and the response was cut after drainTimeoutMs. Now the end is
// owed to the next receive() and given to it. (On Node 24 the end comes a turn later.)
import { it } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { createServer } from '../../src/server/server.ts';
import type { Application } from '../../src/asgi/types.ts';
import { makeCerts } from '../integration/tls-certs.ts';

/** Streams the body back, chunk by chunk, and ends with the event that has more_body false. */
const app: Application = async (scope, receive, send) => {
  if (scope.type !== 'http') return;
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/octet-stream']] });
  for (;;) {
    const event = await receive();
    if (event.type !== 'http.request') return;
    await send({ type: 'http.response.body', body: event.body, more_body: event.more_body });
    if (!event.more_body) return;
  }
};

it('a body streamed in over HTTP/2 and TLS ends for the app, and so does its response', async () => {
  const certs = makeCerts();
  const tls = { key: certs.serverKey, cert: certs.serverCert };
  const server = createServer(app, { port: 0, http2: true, tls, drainTimeoutMs: 200 });
  const { port } = await server.listen();
  const client = http2.connect(`https://localhost:${port}`, { ca: certs.ca });
  try {
    const sent = Buffer.alloc(1024 * 1024, 7);
    const stream = client.request({ ':method': 'POST', ':path': '/echo' });
    let received = 0;
    stream.on('data', (c: Buffer) => (received += c.length));
    const ended = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no end of the response within 5 s (${received} bytes)`)), 5000);
      stream.on('end', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    for (let at = 0; at < sent.length; at += 65536) {
      if (!stream.write(sent.subarray(at, at + 65536))) await new Promise((r) => stream.once('drain', r));
    }
    stream.end();
    await ended;
    assert.equal(received, sent.length);
  } finally {
    client.close();
    await server.close();
  }
});
