// Regression: an image upload while the Redis layer was unreachable answered 500 (the send of
// `thumbnail.make` raised ERR_LAYER_UNAVAILABLE, which the upload did not expect), and the
// thumbnails page, reading JSON, showed "upload failed: Unexpected token…". It is a 503 with
// the reason, as for a full queue; the image is kept, so `{"id": N}` asks again later.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { closeChannelLayers, configureChannelLayers } from '../../src/layers/registry.ts';
import { HttpCommunicator } from '../../src/testing/index.ts';
import { createApplication } from '../../examples/chat/app.ts';
import { openStore } from '../../examples/chat/db/store.ts';
import { defineSettings, lazyStore } from '../../examples/chat/settings.ts';
import { HOST, multipart, png } from '../examples/chat-helpers.ts';
import { freePort } from '../redis/helpers.ts';

it('an upload while Redis is away answers 503 with the reason and keeps the image', async () => {
  // Nothing listens on a free port: every layer call fails fast with ERR_LAYER_UNAVAILABLE.
  configureChannelLayers({
    default: {
      backend: 'redis',
      options: { hosts: [`redis://127.0.0.1:${await freePort()}/0`], commandTimeoutMs: 300 },
    },
  });
  const store = await openStore({ sqlitePath: ':memory:' });
  try {
    const app = createApplication(defineSettings({ store: lazyStore(async () => store) }));
    const { body, contentType } = await multipart({
      image: { data: await png(10, 10), filename: 'a.png', type: 'image/png' },
    });
    const res = await new HttpCommunicator(app, 'POST', '/thumbnails/', {
      body,
      headers: [HOST, ['content-type', contentType]],
    }).getResponse(5000);
    assert.equal(res.status, 503);
    assert.match(JSON.parse(String(res.body)).error, /thumbnail queue .*unreachable.*try again/);
    assert.ok(await store.getImage(1), 'the image is stored, to be asked for again by id');
  } finally {
    await closeChannelLayers();
    await store.close();
  }
});
