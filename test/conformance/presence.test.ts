// Presence on every backend: the in-memory layer and both Redis layers (real Redis, a prefix of
// the file's own). Two layer instances stand for two processes; a child process that is killed
// with SIGKILL stands for one that dies.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, afterEach, describe, it } from 'node:test';
import { JsonWebsocketConsumer } from '../../src/consumers/json-websocket-consumer.ts';
import { InMemoryChannelLayer } from '../../src/layers/memory.ts';
import { RedisPubSubChannelLayer } from '../../src/layers/redis/pubsub-layer.ts';
import { RedisChannelLayer } from '../../src/layers/redis/redis-layer.ts';
import { configureChannelLayers, getChannelLayer, resetChannelLayers } from '../../src/layers/registry.ts';
import type { ChannelLayer, LayerMessage } from '../../src/layers/types.ts';
import { withPresence } from '../../src/presence/consumer.ts';
import { Presence, presenceFor, type PresenceEvent } from '../../src/presence/presence.ts';
import { WebsocketCommunicator } from '../../src/testing/websocket-communicator.ts';
import { REDIS_URL, redisFixture } from '../redis/helpers.ts';

const redis = redisFixture();
const ROOT = join(import.meta.dirname, '..', '..');
const REGISTER = new URL('../../src/loader/register.ts', import.meta.url).href;

interface Backend {
  name: string;
  /** `count` layers that share their groups (one layer for memory: it has one process). */
  layers(count: number): ChannelLayer[];
  /** The registry's configuration of such a layer, for consumers. */
  config(): Parameters<typeof configureChannelLayers>[0];
  multiProcess: boolean;
}

function redisBackend(name: 'redis' | 'redis-pubsub'): Backend {
  let prefix = '';
  const make = () =>
    name === 'redis'
      ? new RedisChannelLayer({ hosts: [REDIS_URL], prefix, blockTimeout: 1 })
      : new RedisPubSubChannelLayer({ hosts: [REDIS_URL], prefix });
  return {
    name,
    layers(count) {
      prefix = redis.prefix();
      return Array.from({ length: count }, make);
    },
    config() {
      prefix = redis.prefix();
      const extra = name === 'redis' ? { blockTimeout: 1 } : {};
      return { default: { backend: name, options: { hosts: [REDIS_URL], prefix, ...extra } } };
    },
    multiProcess: true,
  };
}

const backends: Backend[] = [
  {
    name: 'memory',
    layers(count) {
      const layer = new InMemoryChannelLayer();
      return Array.from({ length: count }, () => layer);
    },
    config: () => ({ default: { backend: 'memory' } }),
    multiProcess: false,
  },
  redisBackend('redis'),
  redisBackend('redis-pubsub'),
];

/** Every message of `channel`, as it comes. */
function collect(layer: ChannelLayer, channel: string): LayerMessage[] {
  const got: LayerMessage[] = [];
  void (async () => {
    for (;;) got.push(await layer.receive(channel));
  })().catch(() => {});
  return got;
}

async function until<T>(what: string, timeoutMs: number, probe: () => T | Promise<T>): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close().catch(() => {});
  await resetChannelLayers();
});

for (const backend of backends) {
  describe(`presence on ${backend.name}`, () => {
    /** Two "processes": their layers and a Presence on each. */
    function twoProcesses(options = { heartbeatMs: 200, ttlMs: 1000 }) {
      const [a, b] = backend.layers(2) as [ChannelLayer, ChannelLayer];
      if (a !== b) open.push(a, b);
      else open.push(a);
      const pa = new Presence(a, options);
      const pb = new Presence(b, options);
      open.push(pa, pb);
      return { a, b, pa, pb };
    }

    it('lists the members every process tracks, with meta and joined-at time, oldest first', async () => {
      const { a, b, pa, pb } = twoProcesses();
      const ca = await a.newChannel();
      const cb = await b.newChannel();
      const before = Date.now();
      const ea = await pa.track('room.1', ca, { user: 'ann' });
      // Oldest first needs two join times; members of the same millisecond are in channel order.
      while (Date.now() <= ea.joinedAt) await new Promise((r) => setTimeout(r, 1));
      await pb.track('room.1', cb, { user: 'bob', tags: ['x'] });
      await pb.track('room.2', cb, {});
      assert.deepEqual(ea.meta, { user: 'ann' });
      assert.ok(ea.joinedAt >= before && ea.joinedAt <= Date.now());
      for (const p of [pa, pb]) {
        const list = await p.list('room.1');
        assert.deepEqual(
          list.map((e) => [e.channel, e.meta]),
          [
            [ca, { user: 'ann' }],
            [cb, { user: 'bob', tags: ['x'] }],
          ],
        );
        assert.equal(typeof list[0]!.joinedAt, 'number');
        assert.ok(list[0]!.joinedAt <= list[1]!.joinedAt);
      }
      assert.deepEqual(
        (await pa.list('room.2')).map((e) => e.channel),
        [cb],
      );
      assert.deepEqual(await pa.list('room.none'), []);
      assert.deepEqual(pb.groupsOf(cb).sort(), ['room.1', 'room.2']);
    });

    it("sends presence.join and presence.leave to the group's members", async () => {
      const { a, b, pa } = twoProcesses();
      const member = await b.newChannel();
      await b.groupAdd('room.ev', member);
      const got = collect(b, member);
      const tracked = await a.newChannel();
      const entry = await pa.track('room.ev', tracked, { user: 'ann' });
      await until('the join', 3000, () => got.length >= 1);
      assert.deepEqual(got[0], {
        type: 'presence.join',
        group: 'room.ev',
        channel: tracked,
        meta: { user: 'ann' },
        joinedAt: entry.joinedAt,
      });
      // Tracked again: the meta is replaced, the joined-at time stays, and the members hear of it.
      const again = await pa.track('room.ev', tracked, { user: 'ann', typing: true });
      assert.equal(again.joinedAt, entry.joinedAt);
      await until('the second join', 3000, () => got.length >= 2);
      assert.deepEqual((got[1] as unknown as PresenceEvent).meta, { user: 'ann', typing: true });
      assert.equal((await pa.list('room.ev')).length, 1);
      assert.equal(await pa.untrack('room.ev', tracked), true);
      await until('the leave', 3000, () => got.length >= 3);
      assert.deepEqual(got[2], {
        type: 'presence.leave',
        group: 'room.ev',
        channel: tracked,
        meta: { user: 'ann', typing: true },
        joinedAt: entry.joinedAt,
      });
      assert.equal(await pa.untrack('room.ev', tracked), false);
      assert.deepEqual(await pa.list('room.ev'), []);
    });

    it("a consumer's closed socket leaves at once; one that throws leaves too", async () => {
      configureChannelLayers(backend.config());
      const layer = getChannelLayer();
      const watcher = await layer.newChannel();
      await layer.groupAdd('lobby', watcher);
      const got = collect(layer, watcher);
      class Room extends withPresence(JsonWebsocketConsumer) {
        seen: string[] = [];
        override async connect() {
          await this.accept();
          await this.trackPresence('lobby', { user: this.query.get('user') });
        }
        override async receiveJson(content: { op: string }) {
          if (content.op === 'who') {
            await this.sendJson((await this.listPresence('lobby')).map((e) => e.meta.user));
          }
          if (content.op === 'fail') throw new Error('handler failed');
        }
        override presence_join(event: PresenceEvent) {
          return this.sendJson({ joined: event.meta.user });
        }
      }
      const app = Room.asApp();
      const ann = new WebsocketCommunicator(app, '/ws/?user=ann');
      const bob = new WebsocketCommunicator(app, '/ws/?user=bob');
      assert.equal((await ann.connect()).connected, true);
      assert.deepEqual(await ann.receiveJsonFrom(2000), { joined: 'ann' });
      assert.equal((await bob.connect()).connected, true);
      assert.deepEqual(await ann.receiveJsonFrom(2000), { joined: 'bob' });
      assert.deepEqual(await bob.receiveJsonFrom(2000), { joined: 'bob' });
      await bob.sendJsonTo({ op: 'who' });
      assert.deepEqual(await bob.receiveJsonFrom(2000), ['ann', 'bob']);

      const closedAt = Date.now();
      await bob.disconnect();
      await until("bob's leave", 2000, () => got.some((m) => m.type === 'presence.leave'));
      const leftAfter = Date.now() - closedAt;
      assert.ok(leftAfter < 1000, `left ${leftAfter} ms after the close`);
      const presence = presenceFor(layer);
      assert.deepEqual(
        (await presence.list('lobby')).map((e) => e.meta.user),
        ['ann'],
      );

      await ann.sendJsonTo({ op: 'fail' });
      await ann.wait(2000).catch(() => {});
      await until("ann's leave", 2000, () => got.filter((m) => m.type === 'presence.leave').length === 2);
      assert.deepEqual(await presence.list('lobby'), []);
      await presence.close();
    });

    it('close() untracks the members of its process, with their leaves', async () => {
      const { a, b, pa, pb } = twoProcesses();
      const member = await b.newChannel();
      await b.groupAdd('room.c', member);
      const got = collect(b, member);
      const c1 = await a.newChannel();
      const c2 = await a.newChannel();
      await pa.track('room.c', c1);
      await pa.track('room.d', c2);
      await pa.close();
      assert.deepEqual(await pb.list('room.c'), []);
      assert.deepEqual(await pb.list('room.d'), []);
      await until('the leave', 3000, () => got.some((m) => m.type === 'presence.leave'));
      await assert.rejects(pa.track('room.c', c1), { code: 'ERR_INVALID_OPTION' });
    });

    if (backend.multiProcess) {
      it('the members of a killed process leave within ttlMs, each leave sent once', async (t) => {
        const { a, b, pa, pb } = twoProcesses({ heartbeatMs: 200, ttlMs: 1000 });
        void pa;
        void pb;
        const member = await a.newChannel();
        await a.groupAdd('room.k', member);
        const got = collect(a, member);
        const prefix = (a as unknown as { prefix: string }).prefix;
        const child = spawn(
          process.execPath,
          [
            '--import',
            REGISTER,
            join(ROOT, 'test/fixtures/presence-child.ts'),
            backend.name,
            REDIS_URL,
            prefix,
            'room.k',
            '3',
          ],
          { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let stderr = '';
        child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const exited = new Promise((resolve) => child.on('exit', resolve));
        try {
          let timer: NodeJS.Timeout | undefined;
          const line = await Promise.race([
            new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve)),
            exited.then(() => Promise.reject(new Error(`the child exited early: ${stderr}`))),
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(new Error(`no line: ${stderr}`)), 20_000);
            }),
          ]).finally(() => clearTimeout(timer));
          const channels = JSON.parse(line) as string[];
          assert.equal((await pb.list('room.k')).length, 3);
          await until('the joins', 3000, () => got.filter((m) => m.type === 'presence.join').length === 3);

          child.kill('SIGKILL');
          await exited;
          const killedAt = Date.now();
          // Watched in Redis itself: list() would remove them too, and these are the heartbeats' to find.
          const key = `${prefix}presence:room.k`;
          await until('the dead members removed', 1000 + 5000, async () => (await redis.admin.hlen(key)) === 0);
          const goneAfter = Date.now() - killedAt;
          await until('three leaves', 2000, () => got.filter((m) => m.type === 'presence.leave').length >= 3);
          // Two more heartbeats of each survivor: no leave is sent twice.
          await new Promise((r) => setTimeout(r, 500));
          const leaves = got.filter((m) => m.type === 'presence.leave').map((m) => m.channel as string);
          assert.deepEqual(leaves.sort(), [...channels].sort());
          assert.deepEqual(await pb.list('room.k'), []);
          assert.equal(await redis.admin.zscore(`${prefix}presence:procs:`, 'x'), null);
          assert.equal((await redis.admin.keys(`${prefix}presence:proc:*`)).length, 0);
          t.diagnostic(`members of the killed process removed ${goneAfter} ms after its death (ttlMs 1000)`);
        } finally {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          void b;
        }
      });

      it('a process presumed dead that comes back tracks its members again', async () => {
        const { a, b, pa, pb } = twoProcesses({ heartbeatMs: 100, ttlMs: 300 });
        const member = await b.newChannel();
        await b.groupAdd('room.back', member);
        const got = collect(b, member);
        const c = await a.newChannel();
        await pa.track('room.back', c, { user: 'ann' });
        // What a survivor does to a process that missed its heartbeats (here: one that was frozen):
        // its entries and its index entry are removed.
        const prefix = (a as unknown as { prefix: string }).prefix;
        const key = `${prefix}presence:room.back`;
        const record = (await redis.admin.hget(key, c))!;
        await redis.admin
          .multi()
          .hdel(key, c)
          .zrem(`${prefix}presence:procs:`, record.slice(0, record.indexOf(' ')))
          .exec();
        await until('the join again', 3000, () => got.filter((m) => m.type === 'presence.join').length === 2);
        assert.deepEqual(
          (await pb.list('room.back')).map((e) => [e.channel, e.meta]),
          [[c, { user: 'ann' }]],
        );
      });
    }
  });
}

describe('presence options', () => {
  after(() => resetChannelLayers());

  it('checks its options and meta', async () => {
    const layer = new InMemoryChannelLayer();
    assert.throws(() => new Presence(layer, { heartbeatMs: 1000, ttlMs: 1500 }), { code: 'ERR_INVALID_OPTION' });
    assert.throws(() => new Presence(layer, { heartbeatMs: 0 }), { code: 'ERR_INVALID_OPTION' });
    assert.throws(() => new Presence(layer, { ttl: 5 } as never), { code: 'ERR_INVALID_OPTION' });
    const p = new Presence(layer);
    assert.equal(p.heartbeatMs, 5000);
    assert.equal(p.ttlMs, 15000);
    const c = await layer.newChannel();
    await assert.rejects(p.track('g', c, [] as never), { code: 'ERR_INVALID_OPTION' });
    await assert.rejects(p.track('bad group!', c), { code: 'ERR_INVALID_CHANNEL_NAME' });
    await p.close();
  });

  it('presenceFor gives one Presence per layer', () => {
    const layer = new InMemoryChannelLayer();
    const p = presenceFor(layer, { heartbeatMs: 1000, ttlMs: 3000 });
    assert.equal(presenceFor(layer), p);
    assert.equal(presenceFor(layer, { heartbeatMs: 1000, ttlMs: 3000 }), p);
    assert.throws(() => presenceFor(layer, { heartbeatMs: 2000 }), { code: 'ERR_INVALID_OPTION' });
    assert.notEqual(presenceFor(new InMemoryChannelLayer()), p);
  });
});
