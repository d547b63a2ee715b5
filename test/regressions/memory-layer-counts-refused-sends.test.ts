// Regression: InMemoryChannelLayer.stats() counted a send refused with ChannelFull as sent and
// took it off `delivered`, which it had never been added to: one accepted send and three
// refused ones read sent 4, delivered −2. Refused sends are now counted as such, apart.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { InMemoryChannelLayer } from '../../src/layers/memory.ts';

it('one accepted and three refused sends: sent 1, refused 3, delivered 1, nothing dropped', async () => {
  const layer = new InMemoryChannelLayer({ capacity: 1 });
  try {
    const channel = await layer.newChannel();
    await layer.send(channel, { type: 't', n: 0 });
    for (let n = 1; n <= 3; n++) {
      await assert.rejects(layer.send(channel, { type: 't', n }), { code: 'ERR_CHANNEL_FULL' });
    }
    const s = layer.stats();
    assert.deepEqual(
      { sent: s.sent, refused: s.refused, delivered: s.delivered, dropped: s.dropped, queued: s.queued },
      { sent: 1, refused: 3, delivered: 1, dropped: 0, queued: 1 },
    );

    // A push reader that is full refuses the same way.
    const pushed = await layer.newChannel();
    const stop = layer.listen(pushed, () => false);
    await assert.rejects(layer.send(pushed, { type: 't' }), { code: 'ERR_CHANNEL_FULL' });
    stop();
    assert.deepEqual([layer.stats().sent, layer.stats().refused, layer.stats().delivered], [1, 4, 1]);
  } finally {
    await layer.close();
  }
});
