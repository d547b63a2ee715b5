// The member lists of group messages read from Redis are decoded once per list: a message that
// ends with a list seen before is split into its other entries and that list. What users rely
// on: the split message is exactly what decoding it whole gives, and no message is ever split
// wrongly, whatever bytes its values hold or whatever its channels are called.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChannelListCache } from '../../src/layers/redis/channel-list-cache.ts';
import { decodeMessage, encodeMessage, packMessage } from '../../src/layers/redis/codec.ts';
import { LocalChannels } from '../../src/layers/local-channels.ts';

const CODEC = { crypter: null, ttlSeconds: 70 };

function members(n: number, process = 'p1'): string[] {
  return Array.from({ length: n }, (_, i) => `specific.${process}!c${i}`);
}

/** What the layer does without the cache: decode whole, take the list out. */
function wholeDecode(member: Buffer): { message: Record<string, unknown>; channels: unknown } {
  const message = decodeMessage(member, CODEC) as Record<string, unknown>;
  const channels = message.__asgi_channel__;
  delete message.__asgi_channel__;
  return { message, channels };
}

function learnFrom(cache: ChannelListCache, member: Buffer): void {
  const { message, channels } = wholeDecode(member);
  cache.learn(member, message as { type: string }, channels as string[]);
}

describe('ChannelListCache', () => {
  it('splits a later message with the same list into exactly what a whole decode gives', () => {
    const cache = new ChannelListCache();
    const list = members(1000);
    learnFrom(cache, encodeMessage({ type: 'chat.message', text: 'first', __asgi_channel__: list }, CODEC));
    for (const body of [
      { type: 'chat.message', text: 'second', n: 2 ** 40, raw: Buffer.from([0, 1, 255]) },
      { type: 'other', nested: { a: [1, 'b', null] } },
      Object.fromEntries([['type', 'wide'], ...Array.from({ length: 20 }, (_, i) => [`k${i}`, i])]), // a map16 header
    ]) {
      const member = encodeMessage({ ...body, __asgi_channel__: list }, CODEC);
      const split = cache.take(member);
      assert.ok(split, `a hit for ${JSON.stringify(Object.keys(body))}`);
      const whole = wholeDecode(member);
      assert.deepEqual(split.message, whole.message);
      assert.deepEqual([...split.channels], whole.channels);
    }
  });

  it('does not split a message whose list differs, by one channel or by order', () => {
    const cache = new ChannelListCache();
    const list = members(20);
    learnFrom(cache, encodeMessage({ type: 't', __asgi_channel__: list }, CODEC));
    assert.equal(
      cache.take(encodeMessage({ type: 't', __asgi_channel__: [...list.slice(0, 19), 'specific.p1!other'] }, CODEC)),
      null,
    );
    assert.equal(cache.take(encodeMessage({ type: 't', __asgi_channel__: [...list].reverse() }, CODEC)), null);
    assert.equal(cache.take(encodeMessage({ type: 't', __asgi_channel__: list.slice(1) }, CODEC)), null);
  });

  it('never splits a message whose value holds the bytes of a kept list', () => {
    const cache = new ChannelListCache();
    const list = members(10);
    learnFrom(cache, encodeMessage({ type: 't', __asgi_channel__: list }, CODEC));
    // The key and list bytes as they end a message, put at the end of a binary value.
    const tail = packMessage({ __asgi_channel__: list }).subarray(1);
    for (const data of [tail, Buffer.concat([Buffer.from('x'), tail])]) {
      const member = encodeMessage({ type: 't', __asgi_channel__: members(3, 'p2'), data }, CODEC);
      const split = cache.take(member);
      assert.equal(split, null, 'the list inside a value is not the message list');
    }
  });

  it('a channel named "__asgi_channel__" in a list is never mistaken for the key', () => {
    const cache = new ChannelListCache();
    const list = [...members(10), '__asgi_channel__', 'named.channel'];
    const first = encodeMessage({ type: 't', n: 1, __asgi_channel__: list }, CODEC);
    learnFrom(cache, first);
    const second = encodeMessage({ type: 't', n: 2, __asgi_channel__: list }, CODEC);
    const split = cache.take(second);
    if (split !== null) {
      const whole = wholeDecode(second);
      assert.deepEqual(split.message, whole.message);
      assert.deepEqual([...split.channels], whole.channels);
    }
  });

  it('keeps the most recent lists, at most eight', () => {
    const cache = new ChannelListCache();
    const lists = Array.from({ length: 9 }, (_, i) => members(10, `p${i}`));
    for (const list of lists) learnFrom(cache, encodeMessage({ type: 't', __asgi_channel__: list }, CODEC));
    assert.equal(
      cache.take(encodeMessage({ type: 't', __asgi_channel__: lists[0]! }, CODEC)),
      null,
      'the oldest is gone',
    );
    for (const list of lists.slice(1))
      assert.ok(cache.take(encodeMessage({ type: 't', __asgi_channel__: list }, CODEC)));
  });

  it(
    'keeps a list as `own` gives it, hands that list to later messages, ' +
      'and asks nothing of a list it does not keep',
    () => {
      const cache = new ChannelListCache();
      const list = members(20);
      const first = encodeMessage({ type: 't', n: 1, __asgi_channel__: list }, CODEC);
      const { message, channels } = wholeDecode(first);
      const seen: (readonly string[])[] = [];
      const own = (names: readonly string[]) => {
        seen.push(names);
        return names.map((n) => n);
      };
      const kept = cache.learn(first, message as { type: string }, channels as string[], own);
      assert.ok(kept && Object.isFrozen(kept));
      assert.deepEqual([...kept], list);
      assert.equal(seen.length, 1);
      const split = cache.take(encodeMessage({ type: 't', n: 2, __asgi_channel__: list }, CODEC));
      assert.equal(split?.channels, kept, 'the kept list itself');

      const short = encodeMessage({ type: 't', __asgi_channel__: members(3) }, CODEC);
      const s2 = wholeDecode(short);
      assert.equal(cache.learn(short, s2.message as { type: string }, s2.channels as string[], own), null);
      assert.equal(seen.length, 1, 'own is not called for a list that is not kept');
    },
  );
});

describe('LocalChannels.ownNames', () => {
  it('gives the same names in the same order, and a list kept with them still reaches every reader', () => {
    const local = new LocalChannels<{ type: string }>(
      () => 100,
      () => {},
      60_000,
    );
    const names = members(50);
    const got = new Map<string, number>();
    for (const n of names.slice(0, 40)) local.listen(n, () => (got.set(n, (got.get(n) ?? 0) + 1), true));
    const decoded = (
      decodeMessage(encodeMessage({ type: 't', __asgi_channel__: names }, CODEC), CODEC) as unknown as {
        __asgi_channel__: string[];
      }
    ).__asgi_channel__;
    const own = local.ownNames(decoded);
    assert.deepEqual(own, names);
    local.pushDroppingOldest({ type: 't' }, own, Date.now());
    assert.equal(got.size, 40);
    for (const n of names.slice(0, 40)) assert.equal(got.get(n), 1, n);
    // the ten names without a listener were buffered, each for its own channel
    assert.equal(local.queued, 10);
  });
});
