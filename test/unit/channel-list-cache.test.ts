// The member lists of group messages read from Redis are decoded once per list: a message that
// ends with a list seen before is split into its other entries and that list. What users rely
// on: the split message is exactly what decoding it whole gives, and no message is ever split
// wrongly, whatever bytes its values hold or whatever its channels are called.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChannelListCache } from '../../src/layers/redis/channel-list-cache.js';
import { decodeMessage, encodeMessage, packMessage } from '../../src/layers/redis/codec.js';

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
    assert.equal(cache.take(encodeMessage({ type: 't', __asgi_channel__: [...list.slice(0, 19), 'specific.p1!other'] }, CODEC)), null);
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
    assert.equal(cache.take(encodeMessage({ type: 't', __asgi_channel__: lists[0]! }, CODEC)), null, 'the oldest is gone');
    for (const list of lists.slice(1)) assert.ok(cache.take(encodeMessage({ type: 't', __asgi_channel__: list }, CODEC)));
  });
});
