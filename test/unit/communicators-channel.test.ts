// The helpers for testing worker consumers: channelScope() and receiveFromLayer().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ASGI_VERSION } from '../../src/asgi/types.ts';
import { InMemoryChannelLayer } from '../../src/layers/memory.ts';
import { channelScope } from '../../src/testing/scope-builder.ts';
import { receiveFromLayer } from '../../src/testing/receive-from-layer.ts';

test('channelScope builds the scope a worker gives each message, with extra keys', () => {
  assert.deepEqual(channelScope('thumbnails'), { type: 'channel', asgi: ASGI_VERSION, channel: 'thumbnails' });
  assert.equal((channelScope('mail.out', { scope: { tenant: 't1' } }) as { tenant?: string }).tenant, 't1');
  assert.throws(() => channelScope(''), { code: 'ERR_INVALID_OPTION', message: /name of the channel/ });
});

test('receiveFromLayer gives the next message of a channel, or TimeoutError after its timeout', async () => {
  const layer = new InMemoryChannelLayer();
  try {
    await layer.send('results', { type: 'thumbnail.done', id: 1 });
    assert.deepEqual(await receiveFromLayer(layer, 'results', 500), { type: 'thumbnail.done', id: 1 });
    const started = Date.now();
    const late = receiveFromLayer(layer, 'results', 100);
    await assert.rejects(late, { code: 'ERR_TIMEOUT', message: /channel results within 100 ms/ });
    assert.ok(Date.now() - started < 500);
  } finally {
    await layer.close();
  }
});
