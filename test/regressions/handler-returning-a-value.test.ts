// A handler that is a plain function returning a value that is not a promise (here the
// number Array.prototype.push returns) is finished when it returns: the consumer goes on with
// its next message, and the other members of the same group send are not held up.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncConsumer } from '../../src/consumers/index.ts';
import { getChannelLayer, resetChannelLayers } from '../../src/layers/registry.ts';
import { ApplicationCommunicator } from '../../src/testing/application-communicator.ts';
import { websocketScope } from '../../src/testing/scope-builder.ts';
import type { LayerMessage } from '../../src/layers/types.ts';
import { until } from '../unit/consumers-helpers.ts';

afterEach(() => resetChannelLayers());

test('a handler returning a non-promise value lets the next message run, for every member', async () => {
  const seen: string[] = [];
  let joined = 0;
  class Collector extends AsyncConsumer {
    async websocket_connect(): Promise<void> {
      await this.channelLayer.groupAdd('collect', this.channelName);
      joined++;
    }
    // Returns a number, as a one-line arrow handler would.
    room_item(event: LayerMessage): void {
      return seen.push(`${this.channelName.slice(-4)} ${String(event.n)}`) as unknown as void;
    }
  }
  const comms = [0, 1, 2].map(() => new ApplicationCommunicator(Collector.asApp(), websocketScope('/ws/')));
  for (const c of comms) await c.sendInput({ type: 'websocket.connect' });
  await until(() => joined === 3);
  const layer = getChannelLayer();
  for (let n = 1; n <= 3; n++) await layer.groupSend('collect', { type: 'room.item', n });
  await until(() => seen.length === 9);
  for (const n of [1, 2, 3])
    assert.equal(seen.filter((s) => s.endsWith(` ${n}`)).length, 3, `message ${n} reached each member`);
});
