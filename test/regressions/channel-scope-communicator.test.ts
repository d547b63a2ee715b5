// Regression: an ApplicationCommunicator with a `channel` scope (a worker consumer under test)
// kept the app waiting for a second message forever, where a worker ends the instance after
// its one message (docs/app-interface.md §3.4). The consumer never returned, so wait() timed
// out, and a test could only guess, with receiveNothing's timer, that its handler had run.
// Now the communicator runs a channel-scope app as a worker does: one message, a second
// receive() rejects with StopConsumer, and send() rejects with ERR_INVALID_EVENT.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncConsumer } from '../../src/consumers/async-consumer.ts';
import { getChannelLayer, resetChannelLayers } from '../../src/layers/registry.ts';
import { ChannelNameRouter, ProtocolTypeRouter } from '../../src/routing/index.ts';
import { ApplicationCommunicator } from '../../src/testing/application-communicator.ts';

afterEach(() => resetChannelLayers());

type Make = { type: 'thumbnails.make'; id: number; reply: string };
type Done = { type: 'thumbnail.done'; id: number };

const made: number[] = [];

/** Reads the layer (the default alias): replies on the channel the message names. */
class Thumbnails extends AsyncConsumer {
  async thumbnails_make(message: Make): Promise<void> {
    await new Promise((r) => setTimeout(r, 20)); // real work takes a while
    made.push(message.id);
    const done: Done = { type: 'thumbnail.done', id: message.id };
    await this.channelLayer.send(message.reply, done);
  }
}

/** No layer of its own, as the example's ThumbnailConsumer. */
class Offline extends AsyncConsumer {
  static override channelLayerAlias = null;
  async thumbnails_make(message: Make): Promise<void> {
    await new Promise((r) => setTimeout(r, 20));
    made.push(message.id);
  }
}

function appFor(consumer: typeof Thumbnails | typeof Offline) {
  return ProtocolTypeRouter({ channel: ChannelNameRouter({ thumbnails: consumer.asApp() }) });
}

function within<T>(p: Promise<T>, ms = 1000): Promise<T> {
  let timer: NodeJS.Timeout;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`nothing within ${ms} ms`)), ms);
  });
  return Promise.race([p.finally(() => clearTimeout(timer)), late]);
}

for (const consumer of [Thumbnails, Offline]) {
  test(`${consumer.name}: the instance returns once it has handled its message, as under a worker`, async () => {
    made.length = 0;
    const reply = await getChannelLayer().newChannel();
    const c = new ApplicationCommunicator(appFor(consumer), { type: 'channel', channel: 'thumbnails' });
    await c.sendInput({ type: 'thumbnails.make', id: 7, reply });
    await c.wait(1000);
    assert.deepEqual(made, [7], 'the handler ran to its end before wait() resolved');
    if (consumer === Thumbnails) {
      assert.deepEqual(await within(getChannelLayer().receive(reply)), { type: 'thumbnail.done', id: 7 });
    }
  });
}

test('receiveOutput ends as soon as the instance has returned, not after its whole timeout', async () => {
  const reply = await getChannelLayer().newChannel();
  const c = new ApplicationCommunicator(appFor(Thumbnails), { type: 'channel', channel: 'thumbnails' });
  await c.sendInput({ type: 'thumbnails.make', id: 1, reply });
  const started = Date.now();
  await assert.rejects(c.receiveOutput(5000), { code: 'ERR_TIMEOUT', message: /channel-scope app sends nothing/ });
  assert.ok(Date.now() - started < 1000, `receiveOutput took ${Date.now() - started} ms`);
  assert.equal(await c.receiveNothing(), true);
});

test("a handler's error is re-raised by wait(), as the worker would log it", async () => {
  class Failing extends AsyncConsumer {
    async thumbnails_make(): Promise<void> {
      throw new Error('no such image');
    }
  }
  const app = ChannelNameRouter({ thumbnails: Failing.asApp() });
  const c = new ApplicationCommunicator(app, { type: 'channel', channel: 'thumbnails' });
  await c.sendInput({ type: 'thumbnails.make', id: 1 });
  await assert.rejects(c.wait(1000), /no such image/);
});

test('send() from a channel-scope app rejects with ERR_INVALID_EVENT, as under a worker', async () => {
  class Sends extends AsyncConsumer {
    async thumbnails_make(): Promise<void> {
      await this.baseSend({ type: 'http.response.start', status: 200 });
    }
  }
  const c = new ApplicationCommunicator(Sends.asApp(), { type: 'channel', channel: 'thumbnails' });
  await c.sendInput({ type: 'thumbnails.make' });
  await assert.rejects(c.wait(1000), { code: 'ERR_INVALID_EVENT', message: /channel layer/ });
});

test('a second message for one channel-scope instance is refused: a worker gives each instance one', async () => {
  const c = new ApplicationCommunicator(appFor(Offline), { type: 'channel', channel: 'thumbnails' });
  await c.sendInput({ type: 'thumbnails.make', id: 1, reply: 'x' });
  await assert.rejects(c.sendInput({ type: 'thumbnails.make', id: 2, reply: 'x' }), {
    code: 'ERR_UNEXPECTED_EVENT',
    message: /one message/,
  });
  await c.wait(1000);
});

test('the scope gets the asgi version when the test leaves it out', async () => {
  const c = new ApplicationCommunicator(async () => {}, { type: 'channel', channel: 'thumbnails' });
  assert.deepEqual(c.scope, { type: 'channel', channel: 'thumbnails', asgi: { version: '3.0', spec_version: '2.4' } });
  await c.wait(1000);
});
