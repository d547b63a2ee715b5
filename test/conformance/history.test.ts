// Group history on every layer: offsets, the count and age bounds, since(), epochs, and a
// WebSocket client that reconnects with its last offset (real server, `ws` client).
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { Redis } from 'ioredis';
import { createServer, type CanalServer } from '../../src/server/server.ts';
import { JsonWebsocketConsumer } from '../../src/consumers/index.ts';
import { configureChannelLayers, getChannelLayer, resetChannelLayers } from '../../src/layers/registry.ts';
import { InMemoryChannelLayer } from '../../src/layers/memory.ts';
import { RedisChannelLayer } from '../../src/layers/redis/redis-layer.ts';
import { RedisPubSubChannelLayer } from '../../src/layers/redis/pubsub-layer.ts';
import type { ChannelLayer, LayerMessage } from '../../src/layers/types.ts';
import { GroupHistory, positionFromQuery, type GroupHistoryOptions } from '../../src/history/group-history.ts';
import { HistoryFeed } from '../../src/history/history-feed.ts';
import type { HistoryPosition, StampedMessage } from '../../src/history/types.ts';
import { REDIS_URL, redisFixture } from '../redis/helpers.ts';

const redis = redisFixture();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Backend {
  name: string;
  make(prefix: string, capacity?: number): ChannelLayer;
  config(prefix: string): Record<string, unknown>;
  redis: boolean;
}

const backends: Backend[] = [
  {
    name: 'memory',
    make: (_, capacity) => new InMemoryChannelLayer({ capacity }),
    config: () => ({ backend: 'memory' }),
    redis: false,
  },
  {
    name: 'redis',
    make: (prefix, capacity) => new RedisChannelLayer({ hosts: [REDIS_URL], prefix, blockTimeout: 1, capacity }),
    config: (prefix) => ({ backend: 'redis', options: { hosts: [REDIS_URL], prefix, blockTimeout: 1 } }),
    redis: true,
  },
  {
    name: 'redis-pubsub',
    make: (prefix, capacity) => new RedisPubSubChannelLayer({ hosts: [REDIS_URL], prefix, capacity }),
    config: (prefix) => ({ backend: 'redis-pubsub', options: { hosts: [REDIS_URL], prefix } }),
    redis: true,
  },
];

const layers: ChannelLayer[] = [];
after(async () => {
  await Promise.all(layers.map((l) => l.close()));
});

function setUp(backend: Backend, options: GroupHistoryOptions = {}, capacity = 100) {
  const prefix = redis.prefix();
  const layer = backend.make(prefix, capacity);
  layers.push(layer);
  return { layer, prefix, history: new GroupHistory(layer, options) };
}

const texts = (messages: readonly LayerMessage[]) => messages.map((m) => m.text);

for (const backend of backends) {
  describe(`group history: ${backend.name}`, () => {
    test('offsets grow from 1, and each member receives its offset and epoch', async () => {
      const { layer, history } = setUp(backend);
      const channel = await layer.newChannel();
      await layer.groupAdd('room', channel);
      const first = await history.groupSend('room', { type: 'chat.message', text: 'a' });
      const second = await history.groupSend('room', { type: 'chat.message', text: 'b' });
      assert.equal(first.offset, 1);
      assert.equal(second.offset, 2);
      assert.equal(first.epoch, second.epoch);
      const got = [await layer.receive(channel), await layer.receive(channel)];
      assert.deepEqual(
        got.map((m) => [m.text, m.offset, m.epoch]),
        [
          ['a', 1, first.epoch],
          ['b', 2, first.epoch],
        ],
      );
      assert.deepEqual(await history.position('room'), second);
      // Another group counts on its own.
      assert.equal((await history.groupSend('other', { type: 'x' })).offset, 1);
    });

    test('since() returns exactly the missed messages, in order; none after the last', async () => {
      const { history } = setUp(backend);
      let at: HistoryPosition = await history.position('room');
      for (let i = 1; i <= 10; i++) {
        const p = await history.groupSend('room', { type: 'chat.message', text: `m${i}` });
        if (i === 4) at = p;
      }
      const result = await history.since('room', at);
      assert.equal(result.gap, false);
      assert.ok(!result.gap);
      assert.deepEqual(texts(result.messages), ['m5', 'm6', 'm7', 'm8', 'm9', 'm10']);
      assert.deepEqual(
        result.messages.map((m) => m.offset),
        [5, 6, 7, 8, 9, 10],
      );
      assert.equal(result.position.offset, 10);
      const none = await history.since('room', result.position);
      assert.deepEqual(none, { gap: false, messages: [], position: result.position });
    });

    test('the count bound: a position older than what is kept is a gap', async () => {
      const { history } = setUp(backend, { maxMessages: 5 });
      const start = await history.position('room');
      for (let i = 1; i <= 8; i++) await history.groupSend('room', { type: 'chat.message', text: `m${i}` });
      const old = await history.since('room', start);
      assert.equal(old.gap, true);
      assert.ok(old.gap && old.reason === 'trimmed');
      assert.equal(old.position.offset, 8);
      const kept = await history.since('room', { offset: 3, epoch: start.epoch });
      assert.ok(!kept.gap);
      assert.deepEqual(texts(kept.messages), ['m4', 'm5', 'm6', 'm7', 'm8']);
      const tooOld = await history.since('room', { offset: 2, epoch: start.epoch });
      assert.ok(tooOld.gap && tooOld.reason === 'trimmed');
    });

    test('the age bound: messages older than maxAgeMs are no longer given', async () => {
      const { history } = setUp(backend, { maxAgeMs: 300 });
      const start = await history.groupSend('room', { type: 'chat.message', text: 'old' });
      await sleep(400);
      const gap = await history.since('room', { offset: 0, epoch: start.epoch });
      assert.ok(gap.gap && gap.reason === 'trimmed');
      await history.groupSend('room', { type: 'chat.message', text: 'new' });
      const kept = await history.since('room', start);
      assert.ok(!kept.gap);
      assert.deepEqual(texts(kept.messages), ['new']);
      const before = await history.since('room', { offset: 0, epoch: start.epoch });
      assert.ok(before.gap && before.reason === 'trimmed');
    });

    test('a position of another epoch is a gap; so is one ahead of the group', async () => {
      const { history } = setUp(backend);
      const p = await history.groupSend('room', { type: 'chat.message', text: 'a' });
      const other = await history.since('room', { offset: 1, epoch: 'not-this-one' });
      assert.deepEqual(other, { gap: true, reason: 'epoch', position: p });
      const ahead = await history.since('room', { offset: 5, epoch: p.epoch });
      assert.ok(ahead.gap && ahead.reason === 'epoch');
    });

    if (backend.redis) {
      test('old entries leave the stream (every 8th append looks)', async () => {
        const { prefix, history } = setUp(backend, { maxAgeMs: 200 });
        for (let i = 1; i <= 7; i++) await history.groupSend('room', { type: 'x', i });
        assert.equal(await redis.admin.xlen(`${prefix}history:room`), 7);
        await sleep(300);
        await history.groupSend('room', { type: 'x', i: 8 });
        assert.equal(await redis.admin.xlen(`${prefix}history:room`), 1);
        assert.ok((await redis.admin.pttl(`${prefix}history-meta:room`)) > 86_000_000);
      });
    }

    test('offset and epoch belong to the history: a message that has them is refused', async () => {
      const { history } = setUp(backend);
      await assert.rejects(history.groupSend('room', { type: 'x', offset: 3 }), { code: 'ERR_INVALID_MESSAGE' });
    });

    if (backend.redis) {
      test("the append and the send are one script: the layer's groupSend is not called", async () => {
        const { layer, history } = setUp(backend);
        const channel = await layer.newChannel();
        await layer.groupAdd('room', channel);
        const plain = layer.groupSend;
        layer.groupSend = () => Promise.reject(new Error('groupSend was called'));
        try {
          await history.groupSend('room', { type: 'chat.message', text: 'a', bytes: Buffer.from([1, 2]) });
          const p = await history.groupSend('room', { type: 'chat.message', text: 'b', n: 2 ** 40 });
          assert.deepEqual(await layer.receive(channel), {
            type: 'chat.message',
            text: 'a',
            bytes: Buffer.from([1, 2]),
            offset: 1,
            epoch: p.epoch,
          });
          assert.deepEqual(await layer.receive(channel), { type: 'chat.message', text: 'b', n: 2 ** 40, ...p });
          const kept = await history.since('room', { offset: 0, epoch: p.epoch });
          assert.ok(!kept.gap);
          assert.deepEqual(kept.messages[0]!.bytes, Buffer.from([1, 2]));
        } finally {
          layer.groupSend = plain;
        }
      });
    }

    test('sends of one turn, with history and without, reach members in call order', async () => {
      const { layer, history } = setUp(backend, {}, 1000);
      const channel = await layer.newChannel();
      await layer.groupAdd('room', channel);
      await layer.groupAdd('other', channel);
      const sends: Promise<unknown>[] = [];
      for (let i = 0; i < 300; i++) {
        if (i % 50 === 7) sends.push(layer.groupSend('room', { type: 'plain', i }));
        else sends.push(history.groupSend(i % 3 === 0 ? 'other' : 'room', { type: 'kept', i }));
      }
      await Promise.all(sends);
      const got: LayerMessage[] = [];
      for (let i = 0; i < 300; i++) got.push(await layer.receive(channel));
      assert.deepEqual(
        got.map((m) => m.i),
        Array.from({ length: 300 }, (_, i) => i),
      );
      const room = got.filter((m) => m.type === 'kept' && (m.i as number) % 3 !== 0).map((m) => m.offset);
      assert.deepEqual(
        room,
        Array.from({ length: room.length }, (_, i) => i + 1),
      );
      const all = await history.since('room', { offset: 0, epoch: got[1]!.epoch as string });
      assert.ok(!all.gap);
      assert.equal(all.messages.length, room.length);
    });

    if (backend.redis) {
      test('keys lost in Redis (the layer flushed, keys deleted): a new epoch, offsets from 1', async () => {
        const { layer, prefix, history } = setUp(backend);
        const before = await history.groupSend('room', { type: 'chat.message', text: 'a' });
        await history.groupSend('room', { type: 'chat.message', text: 'b' });
        assert.deepEqual((await redis.admin.keys(`${prefix}history*`)).sort(), [
          `${prefix}history-meta:room`,
          `${prefix}history:room`,
        ]);
        await redis.admin.del(`${prefix}history:room`); // the stream alone
        const after = await history.groupSend('room', { type: 'chat.message', text: 'c' });
        assert.notEqual(after.epoch, before.epoch);
        assert.equal(after.offset, 1);
        const gap = await history.since('room', before);
        assert.deepEqual(gap, { gap: true, reason: 'epoch', position: after });
        if (backend.name === 'redis-pubsub') return; // its flush() has no keys to remove
        await layer.flush();
        const fresh = await history.position('room');
        assert.notEqual(fresh.epoch, after.epoch);
        assert.equal(fresh.offset, 0);
        assert.ok((await history.since('room', after)).gap);
      });
    }
  });
}

test('redis: FLUSHDB starts a new epoch (a database of its own, checked empty first)', async () => {
  const url = REDIS_URL.replace(/\/\d+$/, '') + '/15';
  const admin = new Redis(url);
  try {
    assert.equal(await admin.dbsize(), 0, 'database 15 must be empty for this test');
    const layer = new RedisChannelLayer({ hosts: [url], prefix: 'h', blockTimeout: 1 });
    layers.push(layer);
    const history = new GroupHistory(layer);
    await history.groupSend('room', { type: 'x' });
    const before = await history.groupSend('room', { type: 'x' });
    await admin.flushdb();
    const gap = await history.since('room', before);
    assert.ok(gap.gap && gap.reason === 'epoch');
    assert.equal(gap.position.offset, 0);
    const after = await history.groupSend('room', { type: 'x' });
    assert.deepEqual(after, { offset: 1, epoch: gap.position.epoch });
  } finally {
    await admin.flushdb();
    admin.disconnect();
  }
});

// A WebSocket client that reconnects with ?since=<offset>&epoch=<epoch>.

type Chat = { type: 'chat.message'; text: string };
let feedHistory: GroupHistory<Chat>;

class Room extends JsonWebsocketConsumer<Chat> {
  private feed?: HistoryFeed<Chat>;

  override async connect(): Promise<void> {
    await this.accept();
    this.feed = new HistoryFeed(feedHistory, 'room', {
      deliver: (m) => this.sendJson({ text: m.text, offset: m.offset, epoch: m.epoch }),
      onGap: (gap) => this.sendJson({ reload: gap.reason, ...gap.position }),
    });
    await this.feed.join(this.channelName, positionFromQuery(this.query));
  }
  async chat_message(event: StampedMessage<Chat>): Promise<void> {
    await this.feed!.receive(event);
  }
  override async disconnect(): Promise<void> {
    await this.feed?.leave(this.channelName);
  }
}

const servers: CanalServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  resetChannelLayers();
});

function open(port: number, query = '') {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/room/${query}`);
  const inbox: Record<string, unknown>[] = [];
  ws.on('message', (data) => inbox.push(JSON.parse(String(data))));
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, inbox, opened };
}

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(5);
  }
}

for (const backend of backends) {
  test(`${backend.name}: back with its last offset: the missed messages once, in order, then live`, async () => {
    configureChannelLayers({ default: backend.config(redis.prefix()) as never });
    const layer = getChannelLayer() as unknown as ChannelLayer<Chat>;
    feedHistory = new GroupHistory(layer, { maxMessages: 100 });
    const server = createServer(Room.asApp(), { port: 0, host: '127.0.0.1' });
    servers.push(server);
    const { port } = await server.listen();
    const say = (text: string) => feedHistory.groupSend('room', { type: 'chat.message', text });

    const a = open(port);
    await a.opened;
    await until(() => a.inbox.length === 0 && a.ws.readyState === WebSocket.OPEN);
    await sleep(100); // joined
    await say('m1');
    await say('m2');
    await until(() => a.inbox.length === 2);
    const last = a.inbox[1]!;
    assert.deepEqual(
      a.inbox.map((m) => [m.text, m.offset]),
      [
        ['m1', 1],
        ['m2', 2],
      ],
    );
    a.ws.close();
    await new Promise((r) => a.ws.once('close', r));

    for (let i = 3; i <= 7; i++) await say(`m${i}`);

    const b = open(port, `?since=${last.offset}&epoch=${last.epoch}`);
    await b.opened;
    // Live messages sent while it joins and catches up arrive after the missed ones, each once.
    for (let i = 8; i <= 10; i++) await say(`m${i}`);
    await until(() => b.inbox.length === 8);
    await sleep(100);
    assert.deepEqual(
      b.inbox.map((m) => m.text),
      ['m3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9', 'm10'],
    );
    assert.deepEqual(
      b.inbox.map((m) => m.offset),
      [3, 4, 5, 6, 7, 8, 9, 10],
    );

    // Back with a position of another epoch: told to reload, then live.
    b.ws.close();
    const c = open(port, `?since=3&epoch=gone`);
    await c.opened;
    await until(() => c.inbox.length === 1);
    assert.deepEqual(c.inbox[0], { reload: 'epoch', offset: 10, epoch: last.epoch });
    await sleep(100);
    await say('m11');
    await until(() => c.inbox.length === 2);
    assert.equal(c.inbox[1]!.text, 'm11');
    c.ws.close();
  });
}

test('HistoryFeed: a live message ahead of the next offset brings the missing ones first', async () => {
  const layer = new InMemoryChannelLayer();
  layers.push(layer);
  const history = new GroupHistory(layer);
  const delivered: number[] = [];
  const feed = new HistoryFeed(history, 'room', { deliver: (m) => void delivered.push(m.offset) });
  const channel = await layer.newChannel();
  await feed.join(channel, await history.position('room'));
  const sent = [];
  for (let i = 0; i < 4; i++) sent.push(await history.groupSend('room', { type: 'x' }));
  const received = [];
  for (let i = 0; i < 4; i++) received.push((await layer.receive(channel)) as StampedMessage);
  // 2 is lost on the way; 4 comes before 3; 3 and 1 come again.
  for (const i of [0, 3, 2, 0]) await feed.receive(received[i]!);
  assert.deepEqual(delivered, [1, 2, 3, 4]);
  assert.deepEqual(feed.position, sent[3]);
});
