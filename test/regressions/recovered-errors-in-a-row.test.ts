// A long run of queued messages whose handler throws, each recovered at once by a recoverFrom()
// that returns true, is handled in one loop: the stack does not grow with each recovered error
// (it did, by three frames per message, and overflowed on a deep queue).
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncConsumer } from '../../src/consumers/index.ts';
import { configureChannelLayers, getChannelLayer, resetChannelLayers } from '../../src/layers/registry.ts';
import { ApplicationCommunicator } from '../../src/testing/application-communicator.ts';
import { websocketScope } from '../../src/testing/scope-builder.ts';
import type { LayerMessage } from '../../src/layers/types.ts';
import { until } from '../unit/consumers-helpers.ts';

afterEach(() => resetChannelLayers());

test('30,000 recovered errors in a row neither overflow the stack nor stop the consumer', async () => {
  configureChannelLayers({ default: { backend: 'memory', options: { capacity: 50_000 } } });
  let name = '';
  let failed = 0;
  const fine: unknown[] = [];
  class Forgiving extends AsyncConsumer {
    async websocket_connect(): Promise<void> {
      name = this.channelName;
    }
    job_bad(): void {
      throw new Error('bad job');
    }
    job_good(event: LayerMessage): void {
      fine.push(event.n);
    }
    protected override recoverFrom(): boolean {
      failed++;
      return true;
    }
  }
  const comm = new ApplicationCommunicator(Forgiving.asApp(), websocketScope('/ws/'));
  await comm.sendInput({ type: 'websocket.connect' });
  await until(() => name !== '', 2000);
  const layer = getChannelLayer();
  // Queued before the consumer runs any of them: sends deliver at once, handlers run later.
  for (let i = 0; i < 30_000; i++) void layer.send(name, { type: 'job.bad' });
  void layer.send(name, { type: 'job.good', n: 1 });
  await until(() => fine.length > 0, 10_000);
  assert.equal(failed, 30_000);
  assert.deepEqual(fine, [1]);
  await layer.send(name, { type: 'job.good', n: 2 });
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(fine, [1, 2], 'still running');
});
