// The channel layer conformance suite: the contract of docs/channel-layer-spec.md as tests.
// Every backend runs this one function; what a backend does differently by design is declared
// in its capabilities, and then the suite tests that behaviour instead of skipping the case.
import assert from 'node:assert/strict';
import * as nodeTest from 'node:test';
import type { ChannelLayer, LayerMessage } from '../layers/types.ts';

export interface LayerCapabilities {
  /** newChannel() names are process-local (`prefix…!local`). */
  processLocalNames: boolean;
  /** send() raises ChannelFull when the channel holds `capacity` messages. */
  capacityOnSend: boolean;
  /**
   * Where a group member's capacity is counted: 'channel' (each channel's own queue: a full
   * member keeps its oldest messages) or 'process' (one queue per process in the backend, then
   * a bounded local buffer per channel that keeps the newest).
   */
  capacityScope: 'channel' | 'process';
  /** A message expiring unread also removes its channel from every group (as Channels' memory layer). */
  expiryRemovesFromGroups: boolean;
  /** The shortest expiry the backend honours, in seconds (Redis TTLs are whole seconds). */
  minExpirySeconds: number;
  /** Two layer instances share channels (a cross-process backend). */
  crossInstance: boolean;
  /** With crossInstance: a named channel read from two instances gives each message to one reader. */
  oneReaderAcrossInstances?: boolean;
}

export interface SuiteRunner {
  describe: (name: string, fn: () => void) => unknown;
  it: (name: string, fn: () => Promise<void>) => unknown;
  before?: (fn: () => Promise<void>) => unknown;
  after?: (fn: () => Promise<void>) => unknown;
}

type Factory = (options?: Record<string, unknown>) => ChannelLayer | Promise<ChannelLayer>;

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)),
    ),
  ]);
}

/** Resolves true if nothing arrives within `ms` (the pending receive is left to the layer's close). */
async function nothingWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const got = await Promise.race([
    promise.then(
      () => 'message',
      () => 'error',
    ),
    new Promise((r) => setTimeout(() => r('nothing'), ms)),
  ]);
  return got === 'nothing';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function layerConformanceSuite(
  name: string,
  makeLayer: Factory,
  caps: LayerCapabilities,
  runner: SuiteRunner = nodeTest,
): void {
  const { describe, it } = runner;
  const open: ChannelLayer[] = [];
  const make = async (options?: Record<string, unknown>) => {
    const layer = await makeLayer(options);
    open.push(layer);
    return layer;
  };
  const T = 3000;

  describe(`channel layer conformance: ${name}`, () => {
    runner.after?.(async () => {
      await Promise.all(open.map((l) => l.close().catch(() => undefined)));
    });

    it('declares the groups and flush extensions', async () => {
      const layer = await make();
      assert.deepEqual([...layer.extensions].sort(), ['flush', 'groups']);
    });

    it('delivers in order on a channel', async () => {
      const layer = await make();
      const channel = await layer.newChannel();
      for (let i = 0; i < 5; i++) await layer.send(channel, { type: 'test.order', i });
      for (let i = 0; i < 5; i++) assert.equal((await within(layer.receive(channel), T, 'receive')).i, i);
    });

    it('hands a message sent later to a receiver already waiting', async () => {
      const layer = await make();
      const channel = await layer.newChannel();
      const pending = layer.receive(channel);
      await sleep(20);
      await layer.send(channel, {
        type: 'test.late',
        text: 'é ✓',
        bytes: Buffer.from([1, 2, 3]),
        nested: { list: [1, null, true] },
      });
      const m = await within(pending, T, 'waiting receive');
      assert.equal(m.text, 'é ✓');
      assert.deepEqual([...(m.bytes as Uint8Array)], [1, 2, 3]);
      assert.deepEqual(m.nested, { list: [1, null, true] });
    });

    it('makes unique channel names' + (caps.processLocalNames ? ' of the form prefix…!local' : ''), async () => {
      const layer = await make();
      const names = new Set<string>();
      for (let i = 0; i < 50; i++) names.add(await layer.newChannel());
      assert.equal(names.size, 50);
      const one = [...names][0]!;
      if (caps.processLocalNames) assert.match(one, /^specific\.[A-Za-z0-9._-]+![A-Za-z0-9._-]+$/);
      else assert.ok(!one.includes('!') && one.includes('specific.'), `${one} is a plain name containing the prefix`);
      assert.ok(one.length < 100);
    });

    it('gives each message to one reader', async () => {
      const layer = await make();
      const channel = await layer.newChannel();
      const a = layer.receive(channel);
      const b = layer.receive(channel);
      await sleep(20);
      await layer.send(channel, { type: 'test.one', n: 1 });
      await layer.send(channel, { type: 'test.one', n: 2 });
      const got = [(await within(a, T, 'reader a')).n, (await within(b, T, 'reader b')).n].sort();
      assert.deepEqual(got, [1, 2]);
    });

    if (caps.crossInstance) {
      const readers = caps.oneReaderAcrossInstances ? 'one reader per message' : 'every reader gets each message';
      it(`named channels read from two instances: ${readers}`, async () => {
        const [x, y] = [await make(), await make()];
        const channel = `conformance.work${Math.random().toString(36).slice(2, 8)}`;
        const rx = x.receive(channel);
        const ry = y.receive(channel);
        await sleep(300); // both readers are listening
        await x.send(channel, { type: 'test.shared', n: 1 });
        if (caps.oneReaderAcrossInstances) {
          await x.send(channel, { type: 'test.shared', n: 2 });
          const got = [(await within(rx, T, 'x')).n, (await within(ry, T, 'y')).n].sort();
          assert.deepEqual(got, [1, 2]);
        } else {
          assert.equal((await within(rx, T, 'x')).n, 1);
          assert.equal((await within(ry, T, 'y')).n, 1);
        }
      });
    }

    it('refuses bad channel and group names with ERR_INVALID_CHANNEL_NAME, naming the value', async () => {
      const layer = await make();
      const good = await layer.newChannel();
      for (const bad of ['', 'has space', 'x'.repeat(100), 'naïve', 'a!b!c', 'tab\t']) {
        await assert.rejects(
          layer.send(bad, { type: 't' }),
          (e: Error & { code?: string }) =>
            e.code === 'ERR_INVALID_CHANNEL_NAME' && e.message.includes(JSON.stringify(bad.slice(0, 120))),
          `send to ${JSON.stringify(bad)}`,
        );
        await assert.rejects(
          Promise.resolve().then(() => layer.receive(bad)),
          { code: 'ERR_INVALID_CHANNEL_NAME' },
        );
        await assert.rejects(layer.groupAdd(bad, good), { code: 'ERR_INVALID_CHANNEL_NAME' });
        await assert.rejects(layer.groupSend(bad, { type: 't' }), { code: 'ERR_INVALID_CHANNEL_NAME' });
      }
      await assert.rejects(
        layer.groupAdd('g!local', good),
        { code: 'ERR_INVALID_CHANNEL_NAME' },
        'group names have no !',
      );
      await assert.rejects(
        Promise.resolve().then(() => layer.send(42 as unknown as string, { type: 't' })),
        { code: 'ERR_INVALID_CHANNEL_NAME' },
      );
      // The edges of the rules are accepted: 99 characters, every allowed character, an empty local part.
      for (const ok of ['a'.repeat(99), 'Az09-_.', `${good.slice(0, good.indexOf('!') + 1) || 'plain.'}x`]) {
        const next = layer.receive(ok);
        await sleep(caps.processLocalNames ? 0 : 300); // pub/sub: subscribed before the send
        await layer.send(ok, { type: 'test.name' });
        assert.equal((await within(next, T, `receive on ${ok}`)).type, 'test.name');
      }
      await layer.groupAdd('G.roup_name-9', good);
      await layer.groupDiscard('G.roup_name-9', good);
    });

    it('refuses messages that cannot cross a process, naming the path, and sends nothing', async () => {
      const layer = await make();
      const channel = await layer.newChannel();
      const cycle: Record<string, unknown> = { type: 't' };
      cycle.self = cycle;
      const cases: [unknown, RegExp][] = [
        [{ text: 'no type' }, /type/],
        [{ type: 5 }, /type/],
        [['type', 'x'], /plain object/],
        [{ type: 't', f: () => 1 }, /message\.f is a function/],
        [{ type: 't', s: Symbol('x') }, /message\.s is a symbol/],
        [cycle, /message\.self refers back/],
        [{ type: 't', n: Number.NaN }, /message\.n is NaN/],
        [{ type: 't', n: [Infinity] }, /message\.n\[0\] is Infinity/],
        [{ type: 't', small: -(2n ** 63n) - 1n }, /message\.small .*64 bits/],
        [{ type: 't', m: new Map() }, /message\.m is a Map/],
        [null, /plain object/],
        [{ type: 't', deep: { list: [1, undefined] } }, /message\.deep\.list\[1\] is undefined/],
        [{ type: 't', big: 2n ** 70n }, /message\.big .*64 bits/],
        [{ type: 't', when: new Date() }, /message\.when is a Date/],
      ];
      for (const [message, pattern] of cases) {
        await assert.rejects(
          layer.send(channel, message as LayerMessage),
          (e: Error & { code?: string }) => e.code === 'ERR_INVALID_MESSAGE' && pattern.test(e.message),
        );
        await assert.rejects(layer.groupSend('conformance', message as LayerMessage), { code: 'ERR_INVALID_MESSAGE' });
      }
      await layer.send(channel, { type: 'test.after' });
      assert.equal(
        (await within(layer.receive(channel), T, 'receive')).type,
        'test.after',
        'nothing was half-sent before it',
      );
    });

    it('refuses a message over maxMessageBytes with ERR_MESSAGE_TOO_LARGE', async () => {
      const layer = await make({ maxMessageBytes: 1000 });
      const channel = await layer.newChannel();
      await assert.rejects(
        layer.send(channel, { type: 't', blob: 'x'.repeat(2000) }),
        (e: Error & { code?: string }) => e.code === 'ERR_MESSAGE_TOO_LARGE' && /maxMessageBytes/.test(e.message),
      );
      await assert.rejects(layer.groupSend('conformance-large', { type: 't', blob: 'x'.repeat(2000) }), {
        code: 'ERR_MESSAGE_TOO_LARGE',
      });
      await layer.send(channel, { type: 't', blob: 'x'.repeat(500) });
      assert.equal((await within(layer.receive(channel), T, 'receive')).blob, 'x'.repeat(500));
    });

    if (caps.capacityOnSend) {
      it('raises ChannelFull at capacity, with per-channel overrides', async () => {
        const layer = await make({ capacity: 3, channelCapacity: { 'roomy.*': 5 } });
        const channel = await layer.newChannel();
        for (let i = 0; i < 3; i++) await layer.send(channel, { type: 't', i });
        await assert.rejects(layer.send(channel, { type: 't' }), { code: 'ERR_CHANNEL_FULL' });
        const roomy = `roomy.c${Math.random().toString(36).slice(2, 8)}`;
        for (let i = 0; i < 5; i++) await layer.send(roomy, { type: 't', i });
        await assert.rejects(layer.send(roomy, { type: 't' }), { code: 'ERR_CHANNEL_FULL' });
        assert.equal((await within(layer.receive(channel), T, 'receive')).i, 0, 'the first three are kept');
        await layer.send(channel, { type: 't', i: 3 }); // reading one made room for one
      });

      it('takes per-channel capacities as [RegExp, n] pairs, first match wins', async () => {
        const layer = await make({
          capacity: 5,
          channelCapacity: [
            [/^tight\./, 1],
            [/^tight\.|^loose\./, 3],
          ],
        });
        const id = Math.random().toString(36).slice(2, 8);
        await layer.send(`tight.${id}`, { type: 't' });
        await assert.rejects(
          layer.send(`tight.${id}`, { type: 't' }),
          (e: Error & { code?: string }) => e.code === 'ERR_CHANNEL_FULL' && e.message.includes(`tight.${id}`),
        );
        for (let i = 0; i < 3; i++) await layer.send(`loose.${id}`, { type: 't' });
        await assert.rejects(layer.send(`loose.${id}`, { type: 't' }), { code: 'ERR_CHANNEL_FULL' });
      });
    } else {
      it('send never raises ChannelFull (capacity bounds the receiving side only)', async () => {
        const layer = await make({ capacity: 2 });
        const channel = await layer.newChannel();
        for (let i = 0; i < 5; i++) await layer.send(channel, { type: 't', i });
      });
    }

    it('groupSend never raises for a full member and still reaches the others', async () => {
      const layer = await make({ capacity: 2 });
      const [full, ok] = [await layer.newChannel(), await layer.newChannel()];
      await layer.groupAdd('conformance-full', full);
      await layer.groupAdd('conformance-full', ok);
      for (let i = 0; i < 4; i++) {
        const next = layer.receive(ok);
        await layer.groupSend('conformance-full', { type: 't', i });
        assert.equal((await within(next, T, 'ok member')).i, i, 'the reading member gets every message');
      }
      const first = (await within(layer.receive(full), T, 'full member')).i;
      assert.equal(first, caps.capacityScope === 'channel' ? 0 : 2, 'the member that never read kept two messages');
    });

    it('adds, discards and sends to groups', async () => {
      const layer = await make();
      const [a, b] = [await layer.newChannel(), await layer.newChannel()];
      await layer.groupAdd('conformance-g', a);
      await layer.groupAdd('conformance-g', b);
      await layer.groupAdd('conformance-g', b); // twice is once
      await layer.groupSend('conformance-g', { type: 't', n: 1 });
      assert.equal((await within(layer.receive(a), T, 'a')).n, 1);
      assert.equal((await within(layer.receive(b), T, 'b')).n, 1);
      await layer.groupDiscard('conformance-g', a);
      await layer.groupDiscard('conformance-g', a); // twice is fine
      await layer.groupSend('conformance-g', { type: 't', n: 2 });
      assert.equal((await within(layer.receive(b), T, 'b')).n, 2);
      assert.ok(await nothingWithin(layer.receive(a), 300), 'a left the group');
      await layer.groupSend('conformance-empty', { type: 't' }); // an empty group is fine
    });

    it('gives receivers their own copy, never the sender object', async () => {
      const layer = await make();
      const [a, b] = [await layer.newChannel(), await layer.newChannel()];
      const sent = { type: 't', list: [1, 2] };
      await layer.send(a, sent);
      sent.list.push(3);
      assert.deepEqual((await within(layer.receive(a), T, 'a')).list, [1, 2]);
      await layer.groupAdd('conformance-copy', b);
      const shared = { type: 't', list: [1] };
      await layer.groupSend('conformance-copy', shared);
      shared.list.push(2);
      assert.deepEqual((await within(layer.receive(b), T, 'b')).list, [1]);
    });

    it('a receiver changing its message does not change what another member got', async () => {
      const layer = await make();
      const [a, b] = [await layer.newChannel(), await layer.newChannel()];
      await layer.groupAdd('conformance-iso', a);
      await layer.groupAdd('conformance-iso', b);
      await layer.groupSend('conformance-iso', { type: 't', list: [1], inner: { n: 1 } });
      const got = await within(layer.receive(a), T, 'a');
      try {
        (got.list as number[]).push(2);
        (got.inner as { n: number }).n = 2;
      } catch {
        // a backend may hand out frozen messages; refusing the change is as good
      }
      const other = await within(layer.receive(b), T, 'b');
      assert.deepEqual(other.list, [1]);
      assert.deepEqual(other.inner, { n: 1 });
    });

    it('expires unread messages after expiry', async () => {
      const e = caps.minExpirySeconds;
      const layer = await make({ expiry: e });
      const channel = await layer.newChannel();
      if (!caps.processLocalNames) void layer.receive(channel).catch(() => undefined); // pub/sub: subscribe first
      await sleep(caps.processLocalNames ? 0 : 200);
      if (caps.processLocalNames) {
        await layer.send(channel, { type: 't', n: 1 });
        await sleep(e * 1000 + 1200);
        await layer.send(channel, { type: 't', n: 2 });
        assert.equal((await within(layer.receive(channel), T, 'receive')).n, 2, 'the expired message is gone');
      } else {
        const fresh = await layer.newChannel();
        await layer.send(fresh, { type: 't', n: 1 });
        await sleep(e * 1000 + 1200);
        await layer.send(fresh, { type: 't', n: 2 });
        assert.equal((await within(layer.receive(fresh), T, 'receive')).n, 2, 'the expired message is gone');
      }
    });

    const expiryEffect = caps.expiryRemovesFromGroups ? 'removes' : 'does not remove';
    it(`expiry ${expiryEffect} the channel from its groups`, async () => {
      const e = caps.minExpirySeconds;
      const layer = await make({ expiry: e });
      const [stale, live] = [await layer.newChannel(), await layer.newChannel()];
      await layer.groupAdd('conformance-exp', stale);
      await layer.groupAdd('conformance-exp', live);
      await layer.send(stale, { type: 't', n: 0 });
      await sleep(e * 1000 + 1200);
      await layer.send(live, { type: 't', n: -1 }); // lets lazy backends notice the expiry
      await within(layer.receive(live), T, 'live');
      await layer.groupSend('conformance-exp', { type: 't', n: 1 });
      assert.equal((await within(layer.receive(live), T, 'live')).n, 1);
      const stillMember = !(await nothingWithin(layer.receive(stale), 500));
      assert.equal(stillMember, !caps.expiryRemovesFromGroups);
    });

    it('forgets group memberships after groupExpiry', async () => {
      const e = caps.minExpirySeconds;
      const layer = await make({ groupExpiry: e });
      const channel = await layer.newChannel();
      await layer.groupAdd('conformance-gexp', channel);
      await sleep(e * 1000 + 1200);
      await layer.groupSend('conformance-gexp', { type: 't' });
      assert.ok(await nothingWithin(layer.receive(channel), 400));
    });

    it('flush removes messages and groups', async () => {
      const layer = await make();
      const [a, b] = [await layer.newChannel(), await layer.newChannel()];
      await layer.send(a, { type: 't', n: 1 });
      await layer.groupAdd('conformance-flush', b);
      await layer.flush();
      await layer.groupSend('conformance-flush', { type: 't', n: 2 });
      assert.ok(await nothingWithin(layer.receive(b), 300), 'the group is gone');
      await layer.send(a, { type: 't', n: 3 });
      assert.equal((await within(layer.receive(a), T, 'a')).n, 3, 'the old message is gone');
    });

    it('close rejects pending receives with ERR_LAYER_CLOSED', async () => {
      const layer = await makeLayer();
      const channel = await layer.newChannel();
      const pending = layer.receive(channel);
      await sleep(20);
      await layer.close();
      await assert.rejects(within(pending, T, 'pending receive'), { code: 'ERR_LAYER_CLOSED' });
      await assert.rejects(
        Promise.resolve().then(() => layer.send(channel, { type: 't' })),
        { code: 'ERR_LAYER_CLOSED' },
      );
    });
  });
}
