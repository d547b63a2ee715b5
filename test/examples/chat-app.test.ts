// The example application driven in-process: the chat room over WebSocket, its page and
// history, long-polling and Server-Sent Events, notifications, thumbnails and static assets.
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getChannelLayer } from '../../src/layers/registry.ts';
import { Worker } from '../../src/worker/worker.ts';
import {
  ApplicationCommunicator,
  channelScope,
  HttpCommunicator,
  WebsocketCommunicator,
} from '../../src/testing/index.ts';
import { chatFixture, HOST, multipart, ORIGIN, png, type ChatFixture } from './chat-helpers.ts';

let f: ChatFixture;
beforeEach(async () => {
  f = await chatFixture({ pollTimeoutMs: 300, sseKeepAliveMs: 100 });
});
afterEach(async () => {
  await f.close();
});

type Wire = { id: number; handle: string; message: string; timestamp: string };

describe('chat room over WebSocket', () => {
  it('stores a message and broadcasts it to every socket of the room, and only that room', async () => {
    const [a, b, other] = [
      await f.socket('/ws/chat/lobby/'),
      await f.socket('/ws/chat/lobby/'),
      await f.socket('/ws/chat/kitchen/'),
    ];
    await a.sendJsonTo({ handle: 'ana', message: 'hello' });
    const got = [(await a.receiveJsonFrom(2000)) as Wire, (await b.receiveJsonFrom(2000)) as Wire];
    for (const m of got) {
      assert.deepEqual(Object.keys(m).sort(), ['handle', 'message', 'timestamp'], "the tutorial's JSON, key for key");
      assert.equal(m.handle, 'ana');
      assert.equal(m.message, 'hello');
      assert.equal(new Date(m.timestamp).toISOString(), m.timestamp, 'an ISO 8601 UTC timestamp');
    }
    assert.ok(await other.receiveNothing(150), 'another room hears nothing');
    const room = await f.store.getOrCreateRoom('lobby');
    const stored = await f.store.lastMessages(room);
    assert.deepEqual(
      stored.map((m) => [m.handle, m.message, m.timestamp.toISOString()]),
      [['ana', 'hello', got[0]!.timestamp]],
    );
  });

  it('answers a bad frame with an error to the sender only and keeps the socket open', async () => {
    const [a, b] = [await f.socket('/ws/chat/lobby/'), await f.socket('/ws/chat/lobby/')];
    const cases: [unknown, RegExp][] = [
      ['{not json', /invalid JSON/],
      [JSON.stringify([1, 2]), /expected \{"handle": string, "message": string\}/],
      [JSON.stringify({ handle: 'ana' }), /expected/],
      [JSON.stringify({ handle: 'ana', message: 42 }), /expected/],
      [JSON.stringify({ handle: '  ', message: 'x' }), /handle must not be empty/],
      [JSON.stringify({ handle: 'ana', message: '' }), /message must not be empty/],
      [JSON.stringify({ handle: 'x'.repeat(51), message: 'hi' }), /handle is longer than 50/],
      [JSON.stringify({ handle: 'ana', message: 'y'.repeat(2001) }), /message is longer than 2000/],
    ];
    for (const [text, error] of cases) {
      await a.sendTo({ text: text as string });
      const reply = (await a.receiveJsonFrom(2000)) as { error: string };
      assert.match(reply.error, error, `for ${String(text).slice(0, 40)}`);
    }
    await a.sendTo({ bytes: Buffer.from([1, 2, 3]) });
    assert.deepEqual(await a.receiveJsonFrom(2000), { error: 'expected a text frame' });
    assert.ok(await b.receiveNothing(100), 'errors go to the sender only');
    await a.sendJsonTo({ handle: 'ana', message: 'still here' });
    assert.equal(((await b.receiveJsonFrom(2000)) as Wire).message, 'still here');
    assert.equal(
      (await f.store.lastMessages(await f.store.getOrCreateRoom('lobby'))).length,
      1,
      'nothing bad was stored',
    );
  });

  it('keeps text exactly as sent: HTML, quotes, emoji, newlines', async () => {
    const a = await f.socket('/ws/chat/lobby/');
    const message = '<script>alert("x")</script> & \'quotes\' 🎉\nsecond line';
    await a.sendJsonTo({ handle: '<b>ana</b>', message });
    const m = (await a.receiveJsonFrom(2000)) as Wire;
    assert.equal(m.message, message);
    assert.equal(m.handle, '<b>ana</b>');
  });

  it('refuses sockets from foreign or missing origins (403 at the handshake)', async () => {
    for (const headers of [[], [['origin', 'http://evil.example']]] as [string, string][][]) {
      const ws = new WebsocketCommunicator(f.app, '/ws/chat/lobby/', { headers });
      const r = await ws.connect(2000);
      assert.equal(r.connected, false);
    }
    const ws = new WebsocketCommunicator(f.app, '/ws/chat/lobby/', { headers: [['origin', 'http://localhost:3000']] });
    assert.equal((await ws.connect(2000)).connected, true, 'the port is not compared');
    await ws.disconnect();
  });

  it('refuses an unknown WebSocket path and an invalid room label', async () => {
    for (const p of ['/ws/nowhere/', '/ws/chat/bad%20label/', `/ws/chat/${'x'.repeat(51)}/`]) {
      const ws = new WebsocketCommunicator(f.app, p, { headers: [ORIGIN] });
      assert.equal((await ws.connect(2000)).connected, false, p);
    }
  });

  it('leaves the room group when the socket closes', async () => {
    const a = await f.socket('/ws/chat/lobby/');
    const layer = getChannelLayer() as unknown as { stats(): { groups: number } };
    assert.equal(layer.stats().groups, 1);
    await a.disconnect();
    assert.equal(layer.stats().groups, 0);
  });
});

describe('the room page socket (?after=): catch-up, typed frames, presence', () => {
  type Typed = { type: string; [key: string]: unknown };

  it('sends the messages after its id first, then the live ones, each once, typed and with ids', async () => {
    const room = await f.store.getOrCreateRoom('lobby');
    const stored = [];
    for (const text of ['one', 'two', 'three']) stored.push(await f.store.addMessage(room, 'ana', text));
    const page = await f.socket(`/ws/chat/lobby/?after=${stored[0]!.id}&handle=bo`);
    const here = (await page.receiveJsonFrom(2000)) as Typed;
    assert.equal(here.type, 'presence.here');
    const replayed = [(await page.receiveJsonFrom(2000)) as Typed, (await page.receiveJsonFrom(2000)) as Typed];
    assert.deepEqual(
      replayed.map((m) => [m.type, m.id, m.message]),
      [
        ['chat.message', stored[1]!.id, 'two'],
        ['chat.message', stored[2]!.id, 'three'],
      ],
    );
    assert.deepEqual(await page.receiveJsonFrom(2000), { type: 'presence.join', id: here.you, handle: 'bo' });
    const tutorial = await f.socket('/ws/chat/lobby/');
    await tutorial.sendJsonTo({ handle: 'ana', message: 'live' });
    const live = (await page.receiveJsonFrom(2000)) as Typed;
    assert.deepEqual(Object.keys(live).sort(), ['handle', 'id', 'message', 'timestamp', 'type']);
    assert.equal(live.message, 'live');
    assert.ok((live.id as number) > stored[2]!.id);
    assert.deepEqual(Object.keys((await tutorial.receiveJsonFrom(2000)) as Typed).sort(), [
      'handle',
      'message',
      'timestamp',
    ]);
    assert.ok(await tutorial.receiveNothing(100), 'a tutorial socket hears no presence');
    await page.sendJsonTo({ type: 'chat.message', handle: 'bo', message: '' });
    assert.deepEqual(await page.receiveJsonFrom(2000), { type: 'chat.error', error: 'message must not be empty' });
  });

  it('lists who is here on connect; joins, renames and leaves reach the other pages', async () => {
    const a = await f.socket('/ws/chat/lobby/?after=0&handle=ana');
    const hereA = (await a.receiveJsonFrom(2000)) as { you: string; people: { id: string; handle: string }[] };
    assert.deepEqual(hereA.people, [{ id: hereA.you, handle: 'ana' }]);
    assert.deepEqual(await a.receiveJsonFrom(2000), { type: 'presence.join', id: hereA.you, handle: 'ana' });
    const b = await f.socket('/ws/chat/lobby/?after=0');
    const hereB = (await b.receiveJsonFrom(2000)) as { you: string; people: { id: string; handle: string }[] };
    assert.deepEqual(
      hereB.people.map((p) => p.handle),
      ['ana', ''],
    );
    assert.deepEqual(await a.receiveJsonFrom(2000), { type: 'presence.join', id: hereB.you, handle: '' });
    await b.sendJsonTo({ type: 'presence.handle', handle: ' bo ' });
    assert.deepEqual(await a.receiveJsonFrom(2000), { type: 'presence.join', id: hereB.you, handle: 'bo' });
    const other = await f.socket('/ws/chat/kitchen/?after=0&handle=cy');
    assert.equal(((await other.receiveJsonFrom(2000)) as Typed).type, 'presence.here');
    await b.disconnect();
    assert.deepEqual(await a.receiveJsonFrom(2000), { type: 'presence.leave', id: hereB.you, handle: 'bo' });
    assert.ok(await a.receiveNothing(100), 'another room is not listed');
  });

  it('refuses a page socket whose after is not a message id', async () => {
    for (const p of ['/ws/chat/lobby/?after=x', '/ws/chat/lobby/?after=-1']) {
      const ws = new WebsocketCommunicator(f.app, p, { headers: [ORIGIN] });
      assert.equal((await ws.connect(2000)).connected, false, p);
    }
  });
});

describe('room page and history', () => {
  it('creates the room and renders the last 50 messages, oldest first, escaped', async () => {
    const room = await f.store.getOrCreateRoom('lobby');
    for (let i = 1; i <= 55; i++) await f.store.addMessage(room, 'ana', `message ${i}`);
    await f.store.addMessage(room, 'eve', '<img src=x onerror=alert(1)>');
    const res = await f.get('/chat/lobby/');
    assert.equal(res.status, 200);
    assert.match(res.header('content-type')!, /^text\/html; charset=utf-8/);
    const page = res.text();
    const shown = [...page.matchAll(/<tr data-id="\d+"><td>.*?<\/td><td>.*?<\/td><td>([^<]*)<\/td><\/tr>/g)].map(
      (m) => m[1],
    );
    assert.equal(shown.length, 50);
    assert.equal(shown[0], 'message 7');
    assert.equal(shown[48], 'message 55');
    assert.equal(shown[49], '&lt;img src=x onerror=alert(1)&gt;');
    assert.ok(!page.includes('<img src=x'), 'no markup from a message reaches the page');
    assert.match(page, /<script type="application\/json" id="room-label">"lobby"<\/script>/);
    const fresh = await f.get('/chat/new-room_1/');
    assert.equal(fresh.status, 200);
    assert.equal((await f.store.lastMessages(await f.store.getOrCreateRoom('new-room_1'))).length, 0);
  });

  it('redirects a room path without its slash; unknown and bad paths are 404', async () => {
    const r = await f.get('/chat/lobby');
    assert.equal(r.status, 301);
    assert.equal(r.header('location'), '/chat/lobby/');
    assert.equal((await f.get('/chat/?room=kitchen')).header('location'), '/chat/kitchen/');
    assert.equal((await f.get('/chat/bad%20label/')).status, 404);
    assert.equal((await f.get('/nothing/here')).status, 404);
  });

  it('answers 400 for a Host that is not allowed', async () => {
    const r = await f.get('/chat/lobby/', { headers: [['host', 'evil.example']] });
    assert.equal(r.status, 400);
  });

  it('gives the messages after an id, for a page catching up after a reconnect', async () => {
    const room = await f.store.getOrCreateRoom('lobby');
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push((await f.store.addMessage(room, 'ana', `m${i}`)).id);
    const res = await f.get(`/chat/lobby/messages/?after=${ids[2]}`);
    assert.equal(res.status, 200);
    const { messages } = res.json() as { messages: Wire[] };
    assert.deepEqual(
      messages.map((m) => m.message),
      ['m3', 'm4'],
    );
    assert.equal((await f.get('/chat/lobby/messages/?after=abc')).status, 400);
    assert.equal((await f.request('POST', '/chat/lobby/messages/')).status, 405);
  });
});

describe('long-polling', () => {
  it('holds the request until the next room message and answers it as JSON', async () => {
    const poll = new HttpCommunicator(f.app, 'GET', '/poll/lobby/', { headers: [HOST] });
    const response = poll.getResponse(3000);
    await new Promise((r) => setTimeout(r, 50));
    const a = await f.socket('/ws/chat/lobby/');
    await a.sendJsonTo({ handle: 'ana', message: 'wake up' });
    const res = await response;
    assert.equal(res.status, 200);
    assert.equal((res.json() as Wire).message, 'wake up');
  });

  it('answers 204 after the poll timeout, and leaves the group', async () => {
    const started = Date.now();
    const res = await f.get('/poll/lobby/');
    assert.equal(res.status, 204);
    assert.ok(Date.now() - started >= 250, 'held for about pollTimeoutMs');
    await new Promise((r) => setTimeout(r, 20));
    assert.equal((getChannelLayer() as unknown as { stats(): { groups: number } }).stats().groups, 0);
  });

  it('with ?after= answers at once with the first message the client has not seen', async () => {
    const room = await f.store.getOrCreateRoom('lobby');
    const first = await f.store.addMessage(room, 'ana', 'one');
    await f.store.addMessage(room, 'ana', 'two');
    const res = await f.get(`/poll/lobby/?after=${first.id}`);
    assert.equal(res.status, 200);
    assert.equal((res.json() as Wire).message, 'two');
  });

  it('leaves the group when the client goes away', async () => {
    const poll = new HttpCommunicator(f.app, 'GET', '/poll/lobby/', { headers: [HOST] });
    await poll.sendRequest();
    const layer = getChannelLayer() as unknown as { stats(): { groups: number } };
    for (let i = 0; i < 50 && layer.stats().groups === 0; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(layer.stats().groups, 1);
    await poll.sendInput({ type: 'http.disconnect' });
    await poll.wait(2000);
    assert.equal(layer.stats().groups, 0);
  });
});

describe('Server-Sent Events', () => {
  async function readEvents(
    c: HttpCommunicator,
    count: number,
  ): Promise<{ event?: string; id?: string; data: string }[]> {
    const events: { event?: string; id?: string; data: string }[] = [];
    let buffer = '';
    while (events.length < count) {
      const out = await c.receiveOutput(2000);
      if (out.type !== 'http.response.body') continue;
      buffer += Buffer.from(out.body as Uint8Array).toString('utf8');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (block.startsWith(':')) continue;
        const e: { event?: string; id?: string; data: string } = { data: '' };
        for (const line of block.split('\n')) {
          const [k, ...v] = line.split(': ');
          if (k === 'event') e.event = v.join(': ');
          else if (k === 'id') e.id = v.join(': ');
          else if (k === 'data') e.data += v.join(': ');
        }
        events.push(e);
      }
    }
    return events;
  }

  it('streams the room messages, and replays those after Last-Event-ID first', async () => {
    const room = await f.store.getOrCreateRoom('lobby');
    const old = await f.store.addMessage(room, 'ana', 'before');
    await f.store.addMessage(room, 'ana', 'missed');
    const stream = new HttpCommunicator(f.app, 'GET', '/events/lobby/', {
      headers: [HOST, ['last-event-id', String(old.id)]],
    });
    await stream.sendRequest();
    const start = await stream.receiveOutput(2000);
    assert.equal(start.type, 'http.response.start');
    const headers = new Map(
      [...((start as { headers?: Iterable<readonly [unknown, unknown]> }).headers ?? [])].map(([k, v]) => [
        String(k),
        String(v),
      ]),
    );
    assert.match(headers.get('content-type')!, /^text\/event-stream/);
    const [ready, missed] = await readEvents(stream, 2);
    assert.equal(ready!.event, 'ready');
    assert.equal(missed!.event, 'message');
    const replayed = JSON.parse(missed!.data) as Wire;
    assert.equal(replayed.message, 'missed');
    // The race the replay has: a message stored just before the stream joined the group is
    // both replayed and broadcast. The broadcast copy is not sent again.
    await getChannelLayer().groupSend('chat-lobby', { type: 'chat.message', ...replayed });
    const a = await f.socket('/ws/chat/lobby/');
    await a.sendJsonTo({ handle: 'bo', message: 'live' });
    const [live] = await readEvents(stream, 1);
    const m = JSON.parse(live!.data) as Wire;
    assert.equal(m.message, 'live');
    assert.equal(live!.id, String(m.id));
    await stream.sendInput({ type: 'http.disconnect' });
    await stream.wait(2000);
  });

  it('sends keep-alive comments on an idle stream', async () => {
    const stream = new HttpCommunicator(f.app, 'GET', '/events/lobby/', { headers: [HOST] });
    await stream.sendRequest();
    let sawComment = false;
    for (let i = 0; i < 6 && !sawComment; i++) {
      const out = await stream.receiveOutput(1000);
      if (out.type === 'http.response.body')
        sawComment = Buffer.from(out.body as Uint8Array)
          .toString()
          .startsWith(': keep-alive');
    }
    assert.ok(sawComment);
    await stream.sendInput({ type: 'http.disconnect' });
    await stream.wait(2000);
  });
});

describe('notifications', () => {
  it('a post (JSON or form) is stored, answered 201, and announced to every notifications socket', async () => {
    const [a, b] = [await f.socket('/ws/notifications/'), await f.socket('/ws/notifications/')];
    const res = await f.request('POST', '/posts/', {
      headers: [['content-type', 'application/json']],
      body: JSON.stringify({ message: 'big news' }),
    });
    assert.equal(res.status, 201);
    const { id, message } = res.json() as { id: number; message: string };
    assert.ok(Number.isInteger(id));
    assert.equal(message, 'big news');
    for (const ws of [a, b])
      assert.deepEqual(await ws.receiveJsonFrom(2000), { type: 'name.gossip', event: 'New Post', message: 'big news' });
    const form = await f.request('POST', '/posts/', {
      headers: [['content-type', 'application/x-www-form-urlencoded']],
      body: 'message=from+a+form%21',
    });
    assert.equal(form.status, 201);
    assert.equal(((await a.receiveJsonFrom(2000)) as { message: string }).message, 'from a form!');
  });

  it('refuses a post without a message with 400, and announces nothing', async () => {
    const a = await f.socket('/ws/notifications/');
    for (const [type, body] of [
      ['application/json', '{}'],
      ['application/json', '{"message": ""}'],
      ['application/json', 'not json'],
      ['application/x-www-form-urlencoded', 'other=1'],
    ]) {
      const res = await f.request('POST', '/posts/', { headers: [['content-type', type!]], body });
      assert.equal(res.status, 400, body);
      assert.ok((res.json() as { error: string }).error);
    }
    assert.equal((await f.get('/posts/')).status, 405);
    assert.ok(await a.receiveNothing(100));
  });
});

describe('thumbnails', () => {
  async function runWorker<T>(fn: () => Promise<T>): Promise<T> {
    const worker = new Worker({ app: f.app, layer: getChannelLayer(), channels: ['thumbnails'] });
    worker.start();
    try {
      return await fn();
    } finally {
      await worker.stop();
    }
  }

  async function waitDone(id: number): Promise<{ done: boolean; url?: string }> {
    for (let i = 0; i < 100; i++) {
      const status = (await f.get(`/thumbnails/${id}/`)).json() as { done: boolean; url?: string };
      if (status.done) return status;
      await new Promise((r) => setTimeout(r, 30));
    }
    throw new Error(`the thumbnail of image ${id} was not done within 3 s`);
  }

  it('an upload answers 202 at once; the worker makes a real thumbnail that fits the size', async () => {
    const image = await png(640, 320);
    const { body, contentType } = await multipart({ image: { data: image, filename: 'wide.png', type: 'image/png' } });
    const res = await f.request('POST', '/thumbnails/', { headers: [['content-type', contentType]], body });
    assert.equal(res.status, 202);
    const { id } = res.json() as { id: number };
    assert.deepEqual((await f.get(`/thumbnails/${id}/`)).json(), { done: false });
    const status = await runWorker(() => waitDone(id));
    const thumb = await f.get(status.url!);
    assert.equal(thumb.status, 200);
    assert.equal(thumb.header('content-type'), 'image/webp');
    const { default: sharp } = await import('sharp');
    const meta = await sharp(thumb.body).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 200, 100]);
    const again = await f.get(status.url!, { headers: [['if-none-match', thumb.header('etag')!]] });
    assert.equal(again.status, 304);
    const original = await f.get(`/thumbnails/${id}/image`);
    assert.ok(original.body.equals(image), 'the original is kept byte for byte');
  });

  it('{"id"} of a stored image queues it again; unknown or bad ids are refused', async () => {
    const stored = await f.store.createImage({ filename: 'a.png', contentType: 'image/png', data: await png(50, 50) });
    const json = (body: unknown) =>
      f.request('POST', '/thumbnails/', {
        headers: [['content-type', 'application/json']],
        body: JSON.stringify(body),
      });
    assert.equal((await json({ id: stored.id })).status, 202);
    assert.equal((await json({ id: 999_999 })).status, 404);
    for (const bad of [{ id: -1 }, { id: 1.5 }, { id: '3' }, {}])
      assert.equal((await json(bad)).status, 400, JSON.stringify(bad));
    const message = await getChannelLayer().receive('thumbnails');
    assert.deepEqual(message, { type: 'thumbnail.make', id: stored.id });
  });

  it('refuses a file that is not an image (400) and one over maxUploadBytes (413)', async () => {
    const text = await multipart({ image: { data: Buffer.from('hello'), filename: 'a.png', type: 'image/png' } });
    const r1 = await f.request('POST', '/thumbnails/', {
      headers: [['content-type', text.contentType]],
      body: text.body,
    });
    assert.equal(r1.status, 400);
    assert.match((r1.json() as { error: string }).error, /not an image/);
    const small = await chatFixture({ maxUploadBytes: 1000 });
    try {
      const big = await multipart({ image: { data: await png(300, 300), filename: 'big.png', type: 'image/png' } });
      const r2 = await small.request('POST', '/thumbnails/', {
        headers: [['content-type', big.contentType]],
        body: big.body,
      });
      assert.equal(r2.status, 413);
    } finally {
      await small.close();
    }
    const none = await multipart({ other: 'x' });
    assert.equal(
      (await f.request('POST', '/thumbnails/', { headers: [['content-type', none.contentType]], body: none.body }))
        .status,
      400,
    );
  });

  it('answers 503 when the queue is full (no worker is reading)', async () => {
    const stored = await f.store.createImage({ filename: 'a.png', contentType: 'image/png', data: await png(10, 10) });
    let status = 0;
    for (let i = 0; i < 101 && status !== 503; i++) {
      status = (
        await f.request('POST', '/thumbnails/', {
          headers: [['content-type', 'application/json']],
          body: JSON.stringify({ id: stored.id }),
        })
      ).status;
    }
    assert.equal(status, 503);
  });

  it('the worker consumer, run in-process as a worker runs it: one thumbnail.make makes the thumbnail', async () => {
    const data = await png(400, 100);
    const stored = await f.store.createImage({ filename: 'a.png', contentType: 'image/png', data });
    const c = new ApplicationCommunicator(f.app, channelScope('thumbnails'));
    await c.sendInput({ type: 'thumbnail.make', id: stored.id });
    await c.wait(5000); // returns once the message is handled, as under canal worker
    const thumbnail = await f.store.thumbnail(stored.id);
    assert.ok(thumbnail, 'the thumbnail was stored');
    assert.equal(thumbnail.contentType, 'image/webp');

    const bad = new ApplicationCommunicator(f.app, channelScope('thumbnails'));
    await bad.sendInput({ type: 'thumbnail.make', id: -1 });
    await assert.rejects(bad.wait(1000), /needs an image id/, 'the error the worker would log');
  });

  it('404 for the status and files of an image that does not exist', async () => {
    assert.equal((await f.get('/thumbnails/12345/')).status, 404);
    assert.equal((await f.get('/thumbnails/12345/thumbnail')).status, 404);
  });
});

describe('pages and static assets', () => {
  it('serves every page, and each asset a page names with its type and caching', async () => {
    for (const page of ['/', '/chat/lobby/', '/notifications/', '/thumbnails/']) {
      const res = await f.get(page);
      assert.equal(res.status, 200, page);
      const assets = [...res.text().matchAll(/(?:src|href)="(\/static\/[^"]+)"/g)].map((m) =>
        m[1]!.replace(/&amp;/g, '&'),
      );
      assert.ok(assets.length >= 2, `${page} names its assets`);
      for (const asset of assets) {
        const a = await f.get(asset);
        assert.equal(a.status, 200, asset);
        assert.match(a.header('content-type')!, asset.includes('.css') ? /^text\/css/ : /javascript/);
        assert.match(a.header('cache-control')!, /max-age=86400/);
        const etag = a.header('etag');
        assert.ok(etag, `${asset} has a validator`);
        assert.equal((await f.get(asset, { headers: [['if-none-match', etag!]] })).status, 304);
      }
    }
    assert.equal((await f.get('/static/../app.ts')).status, 404);
  });
});
