// Regression: three inputs the chat example did not answer as it answers other bad input.
// A U+0000 in a chat message reached the store, which refuses it, so the consumer raised and
// the sender's socket closed with 1011. A message id of 400 digits in `/poll/…?after=` or in
// Last-Event-ID passed the digits-only check, became Infinity and gave 500. A corrupt image (a
// valid header, broken data) passed the upload check, failed in the worker, and its status
// said "not done" for ever. Now: `{"error"}` on an open socket, 400, and a status that says
// the thumbnail failed.
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getChannelLayer } from '../../src/layers/registry.ts';
import { Worker } from '../../src/worker/worker.ts';
import { chatFixture, multipart, png, type ChatFixture } from '../examples/chat-helpers.ts';

let f: ChatFixture;
beforeEach(async () => {
  f = await chatFixture({ pollTimeoutMs: 300, sseKeepAliveMs: 100 });
});
afterEach(async () => {
  await f.close();
});

const HUGE_ID = '9'.repeat(400);

describe('the chat example answers bad input as bad input', () => {
  it('a U+0000 in a chat message gets {"error"}; the socket stays open and nothing is stored', async () => {
    const [a, b] = [await f.socket('/ws/chat/lobby/'), await f.socket('/ws/chat/lobby/')];
    for (const content of [
      { handle: 'ana', message: 'before\u0000after' },
      { handle: 'a\u0000na', message: 'hi' },
      { handle: 'ana', message: 'ring \u0007 the bell' },
    ]) {
      await a.sendJsonTo(content);
      const reply = (await a.receiveJsonFrom(2000)) as { error?: string };
      assert.match(reply.error ?? '', /must not hold control characters/, JSON.stringify(content));
    }
    assert.ok(await b.receiveNothing(100), 'nothing was broadcast');
    await a.sendJsonTo({ handle: 'ana', message: 'two\nlines\tand a tab' });
    const fine = (await b.receiveJsonFrom(2000)) as { message: string };
    assert.equal(fine.message, 'two\nlines\tand a tab', 'line breaks and tabs are fine');
    const stored = await f.store.lastMessages(await f.store.getOrCreateRoom('lobby'));
    assert.deepEqual(
      stored.map((m) => m.message),
      ['two\nlines\tand a tab'],
    );
  });

  it('an id of 400 digits in ?after= or Last-Event-ID gets 400, as the history endpoint answers it', async () => {
    for (const res of [
      await f.get(`/chat/lobby/messages/?after=${HUGE_ID}`),
      await f.get(`/poll/lobby/?after=${HUGE_ID}`),
      await f.get('/events/lobby/', { headers: [['last-event-id', HUGE_ID]] }),
    ]) {
      assert.equal(res.status, 400, String(res.body));
      assert.match((res.json() as { error: string }).error, /must be a message id/);
    }
  });

  it('a corrupt image gets a status that says its thumbnail failed, and why', async () => {
    const good = await png(300, 200);
    const corrupt = good.subarray(0, Math.floor(good.length * 0.6)); // its header still says PNG
    const image = { data: corrupt, filename: 'broken.png', type: 'image/png' };
    const { body, contentType } = await multipart({ image });
    const res = await f.request('POST', '/thumbnails/', { headers: [['content-type', contentType]], body });
    assert.equal(res.status, 202, String(res.body));
    const { id } = res.json() as { id: number };
    const worker = new Worker({ app: f.app, layer: getChannelLayer(), channels: ['thumbnails'] });
    worker.start();
    let status: { done: boolean; failed?: boolean; error?: string } = { done: false };
    try {
      for (let i = 0; i < 100 && !status.failed && !status.done; i++) {
        await new Promise((r) => setTimeout(r, 30));
        status = (await f.get(`/thumbnails/${id}/`)).json() as typeof status;
      }
    } finally {
      await worker.stop();
    }
    assert.equal(status.done, false);
    assert.equal(status.failed, true, `the status says it failed within 3 s: ${JSON.stringify(status)}`);
    assert.match(status.error!, /could not be decoded/);
    assert.equal((await f.get(`/thumbnails/${id}/thumbnail`)).status, 404);
  });
});
