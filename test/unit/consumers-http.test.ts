// HttpConsumer through the HTTP communicator: whole responses, request bodies, streaming,
// Server-Sent Events, long-polling answered by a group message, and client aborts.
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncHttpConsumer, HttpConsumer } from '../../src/consumers/index.ts';
import { InvalidEventError, SendAfterCloseError } from '../../src/errors.ts';
import { resetChannelLayers } from '../../src/layers/registry.ts';
import { HttpCommunicator } from '../../src/testing/http-communicator.ts';
import { until, useWatchedLayer, type WatchedLayer } from './consumers-helpers.ts';

let layer: WatchedLayer;
beforeEach(() => {
  layer = useWatchedLayer();
});
afterEach(() => resetChannelLayers());

class Hello extends HttpConsumer {
  override async handle(body: Buffer): Promise<void> {
    const answer = JSON.stringify({ method: this.scope.method, body: body.toString() });
    await this.sendResponse(200, answer, [['content-type', 'application/json']]);
  }
}

describe('HttpConsumer', () => {
  test('handle(body) gets the request body; sendResponse answers and ends the instance', async () => {
    const comm = new HttpCommunicator(Hello.asApp(), 'POST', '/hello', { body: 'ping' });
    const res = await comm.getResponse();
    assert.equal(res.status, 200);
    assert.equal(res.header('content-type'), 'application/json');
    assert.deepEqual(res.json(), { method: 'POST', body: 'ping' });
    await comm.wait(1000);
  });

  test('a body in several http.request chunks is joined before handle()', async () => {
    const comm = new HttpCommunicator(Hello.asApp(), 'PUT', '/hello');
    await comm.sendInput({ type: 'http.request', body: Buffer.from('ab'), more_body: true });
    await comm.sendInput({ type: 'http.request', body: Buffer.from(''), more_body: true });
    await comm.sendInput({ type: 'http.request', body: Buffer.from('cd'), more_body: false });
    const start = await comm.receiveOutput();
    assert.equal(start.type, 'http.response.start');
    const body = (await comm.receiveOutput()) as { body: string };
    assert.deepEqual(JSON.parse(body.body), { method: 'PUT', body: 'abcd' });
  });

  test('a body over maxBodyBytes (an init option) is answered with 413 and handle() is not called', async () => {
    let handled = false;
    class Small extends HttpConsumer {
      override async handle(): Promise<void> {
        handled = true;
      }
    }
    const comm = new HttpCommunicator(Small.asApp({ maxBodyBytes: 5 }), 'POST', '/up');
    await comm.sendInput({ type: 'http.request', body: Buffer.from('1234'), more_body: true });
    await comm.sendInput({ type: 'http.request', body: Buffer.from('5678'), more_body: false });
    const res = await comm.getResponse();
    assert.equal(res.status, 413);
    assert.match(res.text(), /maxBodyBytes/);
    await comm.wait(1000);
    assert.equal(handled, false);
  });

  test('the default handle() answers 405', async () => {
    const comm = new HttpCommunicator(HttpConsumer.asApp(), 'GET', '/');
    assert.equal((await comm.getResponse()).status, 405);
  });

  test('streaming: sendHeaders, then sendBody chunks with moreBody, then a last chunk', async () => {
    class Stream extends HttpConsumer {
      override async handle(): Promise<void> {
        await this.sendHeaders({ status: 201, headers: [['content-type', 'text/plain']] });
        for (const part of ['one ', 'two ']) await this.sendBody(part, { moreBody: true });
        await this.sendBody('three');
      }
    }
    const comm = new HttpCommunicator(Stream.asApp(), 'GET', '/stream');
    const res = await comm.getResponse();
    assert.equal(res.status, 201);
    assert.deepEqual(res.chunks.map(String), ['one ', 'two ', 'three']);
    assert.equal(res.text(), 'one two three');
    await comm.wait(1000);
  });

  test('sendBody before sendHeaders, a second sendHeaders, and sendBody after the end are clear errors', async () => {
    const errors: unknown[] = [];
    class Misuse extends HttpConsumer {
      override async handle(): Promise<void> {
        await this.sendBody('too early').catch((e: unknown) => errors.push(e));
        await this.sendHeaders();
        await this.sendHeaders().catch((e: unknown) => errors.push(e));
        await this.sendBody('done');
        await this.sendBody('too late').catch((e: unknown) => errors.push(e));
      }
    }
    const comm = new HttpCommunicator(Misuse.asApp(), 'GET', '/');
    assert.equal((await comm.getResponse()).text(), 'done');
    await comm.wait(1000);
    assert.equal(errors.length, 3);
    assert.ok(errors[0] instanceof InvalidEventError && /sendHeaders\(\) first/.test(errors[0].message));
    assert.ok(errors[1] instanceof InvalidEventError && /already started/.test(errors[1].message));
    assert.ok(errors[2] instanceof SendAfterCloseError);
  });

  test('Server-Sent Events: startEventStream headers, events with id/event/retry, multi-line data split', async () => {
    class Events extends HttpConsumer {
      override async handle(): Promise<void> {
        await this.startEventStream([['x-stream', 'yes']]);
        await this.sendEvent({ data: 'line one\nline two', event: 'note', id: '7' });
        await this.sendEvent({ data: { score: 3 }, retry: 2500 });
        await this.sendComment('keepalive');
        await this.sendBody('');
      }
    }
    const comm = new HttpCommunicator(Events.asApp(), 'GET', '/events');
    const res = await comm.getResponse();
    assert.equal(res.status, 200);
    assert.equal(res.header('content-type'), 'text/event-stream; charset=utf-8');
    assert.equal(res.header('cache-control'), 'no-cache');
    assert.equal(res.header('x-stream'), 'yes');
    assert.deepEqual(res.chunks.map(String), [
      'event: note\nid: 7\ndata: line one\ndata: line two\n\n',
      'retry: 2500\ndata: {"score":3}\n\n',
      ': keepalive\n\n',
      '',
    ]);
  });

  test('SSE from layer messages: the stream stays open and each group message becomes an event', async () => {
    class Ticker extends HttpConsumer {
      override async handle(): Promise<void> {
        await this.channelLayer.groupAdd('ticks', this.channelName);
        await this.startEventStream();
      }
      async tick(event: { n: number }): Promise<void> {
        await this.sendEvent({ data: String(event.n), id: String(event.n) });
      }
      override async disconnect(): Promise<void> {
        await this.channelLayer.groupDiscard('ticks', this.channelName);
      }
    }
    const comm = new HttpCommunicator(Ticker.asApp(), 'GET', '/ticks');
    await comm.sendRequest();
    assert.equal((await comm.receiveOutput()).type, 'http.response.start');
    await until(() => layer.count('ticks') === 1);
    for (const n of [1, 2]) {
      await layer.groupSend('ticks', { type: 'tick', n });
      const chunk = (await comm.receiveOutput()) as { body: string; more_body: boolean };
      assert.equal(chunk.body, `id: ${n}\ndata: ${n}\n\n`);
      assert.equal(chunk.more_body, true);
    }
    await comm.sendInput({ type: 'http.disconnect' });
    await comm.wait(1000);
    assert.equal(layer.count('ticks'), 0);
  });

  describe('long-polling', () => {
    const disconnects: string[] = [];
    class Poll extends HttpConsumer {
      override async handle(): Promise<void> {
        // Hold the request: no answer here; the group message answers it.
        await this.channelLayer.groupAdd('news', this.channelName);
      }
      async news_posted(event: { headline: string }): Promise<void> {
        await this.sendResponse(200, JSON.stringify({ headline: event.headline }), [
          ['content-type', 'application/json'],
        ]);
      }
      override async disconnect(): Promise<void> {
        disconnects.push(this.responseStarted ? 'answered' : 'aborted');
        await this.channelLayer.groupDiscard('news', this.channelName);
      }
    }

    test('the request is held until a group message arrives, then answered', async () => {
      disconnects.length = 0;
      const comm = new HttpCommunicator(Poll.asApp(), 'GET', '/poll');
      await comm.sendRequest();
      await until(() => layer.count('news') === 1);
      assert.equal(await comm.receiveNothing(50), true, 'nothing is sent before a message arrives');
      await layer.groupSend('news', { type: 'news.posted', headline: 'Canal ships' });
      const res = await comm.getResponse();
      assert.deepEqual(res.json(), { headline: 'Canal ships' });
      await comm.wait(1000);
      assert.deepEqual(disconnects, ['answered']);
      assert.equal(layer.count('news'), 0);
    });

    test('a client that goes away gets disconnect() and leaves the group; nothing is sent', async () => {
      disconnects.length = 0;
      const comm = new HttpCommunicator(Poll.asApp(), 'GET', '/poll');
      await comm.sendRequest();
      await until(() => layer.count('news') === 1);
      await comm.sendInput({ type: 'http.disconnect' });
      await comm.wait(1000);
      assert.deepEqual(disconnects, ['aborted']);
      assert.equal(layer.count('news'), 0);
      assert.equal(await comm.receiveNothing(20), true);
    });
  });

  test('AsyncHttpConsumer is HttpConsumer', () => {
    assert.equal(AsyncHttpConsumer, HttpConsumer);
  });
});
