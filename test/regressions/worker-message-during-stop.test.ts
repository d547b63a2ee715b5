// Regression: a message that reached a worker's waiting reader while the worker was stopping
// was logged and dropped. It had already left the channel, so on Redis it was lost for good.
// Now it is handled, and stop() resolves once it is done.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import type { Application } from '../../src/asgi/types.ts';
import { InMemoryChannelLayer } from '../../src/layers/memory.ts';
import { Worker } from '../../src/worker/worker.ts';

it('handles a message that arrives at a waiting reader during stop()', async () => {
  const layer = new InMemoryChannelLayer();
  const handled: number[] = [];
  let releaseFirst!: () => void;
  const firstHeld = new Promise<void>((r) => (releaseFirst = r));
  const app: Application = async (_scope, receive) => {
    const m = (await receive()) as unknown as { n: number };
    if (m.n === 1) await firstHeld;
    handled.push(m.n);
  };
  // Two readers: one holds message 1, the other waits on the channel.
  const worker = new Worker({ app, layer, channels: ['jobs'], concurrency: 2 });
  worker.start();
  await layer.send('jobs', { type: 'job', n: 1 });
  await new Promise((r) => setTimeout(r, 10));
  const stopped = worker.stop();
  await layer.send('jobs', { type: 'job', n: 2 }); // goes straight to the waiting reader
  releaseFirst();
  const deadline = new Promise((_, reject) =>
    setTimeout(() => reject(new Error('stop() did not resolve within 2 s')), 2000),
  );
  await Promise.race([stopped, deadline]);
  assert.deepEqual(handled.sort(), [1, 2], 'both messages were handled before stop() resolved');
  await layer.close();
});
