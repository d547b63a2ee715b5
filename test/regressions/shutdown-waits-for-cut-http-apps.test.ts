// Regression: close() cut the HTTP responses left after drainTimeoutMs (an open Server-Sent
// Events stream, a held long-poll) and went straight on to lifespan shutdown, without waiting
// for those apps to handle their http.disconnect. `canal serve` then closed the channel layers
// under them: the chat example's stream and poll consumers failed to leave their groups
// ("the application raised LayerClosedError") on every restart with a client connected.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { createServer } from '../../src/server/server.ts';

it('close() lets the apps of cut HTTP responses handle http.disconnect before lifespan shutdown', async () => {
  const heard: string[] = [];
  let requested!: () => void;
  const arrived = new Promise<void>((r) => (requested = r));
  const server = createServer(
    async (scope, receive, send) => {
      if (scope.type === 'lifespan') {
        await receive();
        await send({ type: 'lifespan.startup.complete' });
        await receive();
        heard.push('lifespan.shutdown');
        await send({ type: 'lifespan.shutdown.complete' });
        return;
      }
      if (scope.type !== 'http') return;
      await receive();
      await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/event-stream']] });
      await send({ type: 'http.response.body', body: 'event: ready\n\n', more_body: true });
      requested();
      // A stream that never ends by itself, as an SSE consumer's.
      const event = await receive();
      heard.push(event.type);
      await new Promise((r) => setTimeout(r, 100)); // leaving its groups takes a moment
      heard.push('stream app returned');
    },
    { port: 0, drainTimeoutMs: 100, applicationCloseTimeoutMs: 5000 },
  );
  const { port } = await server.listen();
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write('GET /events/ HTTP/1.1\r\nHost: h\r\n\r\n');
  await arrived;
  let timer!: NodeJS.Timeout;
  await Promise.race([
    server.close().finally(() => clearTimeout(timer)),
    new Promise(
      (_, reject) => (timer = setTimeout(() => reject(new Error('close() did not finish within 3 s')), 3000)),
    ),
  ]);
  socket.destroy();
  assert.deepEqual(heard, ['http.disconnect', 'stream app returned', 'lifespan.shutdown']);
});
