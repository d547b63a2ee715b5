// Regression: close() waited the whole applicationCloseTimeoutMs for lifespan.shutdown when the
// lifespan app had already returned after startup, so there was nobody left to answer.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from '../../src/server/server.ts';

it('close() does not wait for a lifespan app that has returned', async () => {
  const server = createServer(
    async (scope, receive, send) => {
      if (scope.type !== 'lifespan') return;
      await receive();
      await send({ type: 'lifespan.startup.complete' });
      // returns without waiting for lifespan.shutdown
    },
    { port: 0, applicationCloseTimeoutMs: 5000 },
  );
  await server.listen();
  const started = Date.now();
  await server.close();
  assert.ok(Date.now() - started < 1000, `close() took ${Date.now() - started} ms`);
});
