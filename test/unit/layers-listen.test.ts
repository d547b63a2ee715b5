// Push delivery (listen) on the in-memory layer: queued messages first, then each delivery
// synchronously; a full reader refuses (ChannelFull for send, a counted drop for groupSend);
// one reader per channel; stopping listening leaves later messages queued.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { InMemoryChannelLayer } from '../../src/layers/memory.ts';

it('delivers queued then live messages in order, synchronously', async () => {
  const layer = new InMemoryChannelLayer();
  const c = await layer.newChannel();
  await layer.send(c, { type: 't', n: 1 });
  const got: number[] = [];
  const stop = layer.listen(c, (m) => (got.push(m.n as number), true));
  assert.deepEqual(got, [1], 'the queued message came first');
  await layer.send(c, { type: 't', n: 2 });
  assert.deepEqual(got, [1, 2], 'delivered during send, no extra turn');
  stop();
  await layer.send(c, { type: 't', n: 3 });
  assert.deepEqual(got, [1, 2]);
  assert.equal((await layer.receive(c)).n, 3, 'after stop() messages queue again');
  await layer.close();
});

it('a full reader refuses: ChannelFull for send, a counted drop for groupSend', async () => {
  const layer = new InMemoryChannelLayer();
  const [full, ok] = [await layer.newChannel(), await layer.newChannel()];
  layer.listen(full, () => false);
  const seen: unknown[] = [];
  layer.listen(ok, (m) => (seen.push(m), true));
  await assert.rejects(layer.send(full, { type: 't' }), { code: 'ERR_CHANNEL_FULL' });
  await layer.groupAdd('g', full);
  await layer.groupAdd('g', ok);
  const drops: unknown[] = [];
  layer.on('drop', (d) => drops.push(d));
  await layer.groupSend('g', { type: 't' });
  assert.equal(seen.length, 1);
  assert.deepEqual(drops, [{ channel: full, group: 'g', reason: 'full' }]);
  assert.throws(() => layer.listen(ok, () => true), { code: 'ERR_INVALID_OPTION' }, 'one reader per channel');
  await layer.close();
});
