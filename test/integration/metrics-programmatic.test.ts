// createMetrics and checkReadiness from code: an app's own registry gets Canal's metrics (layer
// sends, group sends, drops, worker messages), close() takes them off again, and readiness
// follows the server from before listening to shutdown.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import type { Application } from '../../src/asgi/types.ts';
import { InMemoryChannelLayer } from '../../src/layers/memory.ts';
import { getLogLevel, setLogLevel } from '../../src/logging.ts';
import { checkReadiness } from '../../src/metrics/metrics-server.ts';
import { createMetrics } from '../../src/metrics/create-metrics.ts';
import { createServer } from '../../src/server/server.ts';
import { Worker } from '../../src/worker/worker.ts';
import { hello } from '../fixtures/hello-app.ts';
import { parseMetrics } from './prometheus-text.ts';

describe('createMetrics', () => {
  const level = getLogLevel();
  before(() => setLogLevel('silent')); // the failing job's error line
  after(() => setLogLevel(level));

  it("reports layers and workers on the app's registry, and close() takes them off", async () => {
    const server = createServer(hello, { port: 0 });
    const layer = new InMemoryChannelLayer({ capacity: 1 });
    let failNext = true;
    const jobs: Application = async (_scope, receive) => {
      await receive();
      if (failNext) {
        failNext = false;
        throw new Error('the first job fails');
      }
    };
    const worker = new Worker({ app: jobs, layer, channels: ['jobs'] });
    const registry = new Registry();
    const metrics = await createMetrics(server, {
      layers: { main: layer },
      workers: [worker],
      registry,
      processMetrics: false,
    });
    try {
      const a = await layer.newChannel();
      await layer.groupAdd('room', a);
      await layer.groupSend('room', { type: 'x' });
      await layer.groupSend('room', { type: 'x' }); // a holds one message: dropped as full
      worker.start();
      await layer.send('jobs', { type: 'job' });
      await layer.send('jobs', { type: 'job' });
      while (worker.stats().handled + worker.stats().failed < 2) await new Promise((r) => setTimeout(r, 5));
      const m = parseMetrics(await registry.metrics());
      assert.equal(m.get('canal_layer_group_sends_total{layer="main"}'), 2);
      assert.equal(m.get('canal_layer_messages_sent_total{layer="main"}'), 2);
      assert.equal(m.get('canal_layer_messages_dropped_total{layer="main",cause="full"}'), 1);
      assert.equal(m.get('canal_worker_messages_total{outcome="handled"}'), 1);
      assert.equal(m.get('canal_worker_messages_total{outcome="failed"}'), 1);
      assert.equal(m.get('canal_http_requests_total'), 0);
      assert.ok(![...m.keys()].some((k) => k.startsWith('nodejs_')), 'no process metrics when turned off');
    } finally {
      metrics.close();
      await worker.stop();
      await layer.close();
    }
    assert.equal(registry.getMetricsAsArray().length, 0, 'close() took every metric off the registry');
  });

  it('checkReadiness: not listening, ready, then shutting down', async () => {
    const server = createServer(hello, { port: 0 });
    const layer = new InMemoryChannelLayer();
    assert.deepEqual(await checkReadiness(server, { default: layer }), {
      ready: false,
      notReady: { server: 'not listening' },
    });
    await server.listen();
    assert.deepEqual(await checkReadiness(server, { default: layer }), { ready: true, notReady: {} });
    const closing = server.close();
    assert.deepEqual((await checkReadiness(server)).notReady, { server: 'shutting down' });
    await closing;
    await layer.close();
  });
});
