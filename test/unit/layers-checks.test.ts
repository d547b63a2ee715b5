// Name rules, the message walk (validation, exact msgpack size, copies) and option parsing that
// every backend shares.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Packr } from 'msgpackr';
import { checkChannelName, checkGroupName, isProcessLocal, nonLocalPart } from '../../src/layers/names.ts';
import { checkMessage, inspectMessage } from '../../src/layers/message-check.ts';
import { parseLayerOptions } from '../../src/layers/base-layer.ts';

// Plain msgpack with the smallest headers, as Python's msgpack (and the Redis codec) writes it.
const packr = new Packr({ useRecords: false, variableMapSize: true, moreTypes: false, bundleStrings: false });

describe('channel and group names', () => {
  it('accepts the allowed characters, one ! and up to 99 characters', () => {
    for (const name of ['a', 'chat.room-1_x', 'specific.abc!', 'specific.abc!def.9', 'x'.repeat(99)])
      checkChannelName(name);
    for (const name of ['room', 'A.b-c_9', 'g'.repeat(99)]) checkGroupName(name);
  });

  it('refuses each broken rule with ERR_INVALID_CHANNEL_NAME naming the value', () => {
    const bad: unknown[] = ['', 'x'.repeat(100), 'a b', 'ünï', 'a!b!c', '!local', 'a/b', 'a:b', 42, null, undefined];
    for (const name of bad) {
      assert.throws(
        () => checkChannelName(name),
        (e: Error & { code?: string }) => {
          assert.equal(e.code, 'ERR_INVALID_CHANNEL_NAME');
          if (typeof name === 'string') assert.ok(e.message.includes(JSON.stringify(name)), e.message);
          else assert.match(e.message, new RegExp(`a ${typeof name}`));
          return true;
        },
      );
    }
    assert.throws(() => checkGroupName('g!x'), { code: 'ERR_INVALID_CHANNEL_NAME', message: /group name "g!x"/ });
    assert.throws(() => checkGroupName('g'.repeat(100)), { code: 'ERR_INVALID_CHANNEL_NAME' });
  });

  it('shortens a very long bad name in the error', () => {
    assert.throws(
      () => checkChannelName('y'.repeat(5000)),
      (e: Error) => e.message.length < 500 && e.message.includes('…'),
    );
  });

  it('tells process-local names and their non-local part', () => {
    assert.equal(isProcessLocal('specific.abc!def'), true);
    assert.equal(isProcessLocal('worker.thumbs'), false);
    assert.equal(nonLocalPart('specific.abc!def'), 'specific.abc!');
    assert.equal(nonLocalPart('worker.thumbs'), 'worker.thumbs');
  });
});

describe('message checks', () => {
  const refused = (message: unknown, pattern: RegExp) =>
    assert.throws(
      () => checkMessage(message, 0, 'send'),
      (e: Error & { code?: string }) =>
        e.code === 'ERR_INVALID_MESSAGE' && pattern.test(e.message) && e.message.startsWith('send: '),
    );

  it('names the path of each value that cannot be encoded', () => {
    const cycle: Record<string, unknown> = { type: 't', a: [{}] };
    (cycle.a as object[])[0] = { back: cycle };
    refused(cycle, /message\.a\[0\]\.back refers back to itself/);
    refused({ type: 't', payload: { items: [0, 1, 2, undefined] } }, /message\.payload\.items\[3\] is undefined/);
    refused({ type: 't', f() {} }, /message\.f is a function/);
    refused({ type: 't', s: Symbol.iterator }, /message\.s is a symbol/);
    refused({ type: 't', n: -Infinity }, /message\.n is -Infinity/);
    refused({ type: 't', b: 2n ** 64n }, /message\.b is 18446744073709551616n, beyond 64 bits/);
    refused({ type: 't', b: -(2n ** 63n) - 1n }, /beyond 64 bits/);
    refused({ type: 't', d: new Date(0) }, /message\.d is a Date/);
    refused({ type: 't', set: new Set() }, /message\.set is a Set/);
    refused({ type: '' }, /non-empty string 'type'/);
    refused({ kind: 'x' }, /needs a non-empty string 'type'.*got undefined/);
    refused('text', /must be a plain object.*not text/);
    refused([{ type: 't' }], /not an array/);
  });

  it('accepts the edges: 64-bit BigInts, bytes, null-prototype objects, a value shared by two branches', () => {
    const shared = { x: 1 };
    const bare = Object.assign(Object.create(null), { k: 'v' });
    checkMessage(
      {
        type: 't',
        max: 2n ** 64n - 1n,
        min: -(2n ** 63n),
        bytes: new Uint8Array(3),
        buf: Buffer.from('hi'),
        bare,
        a: shared,
        b: [shared],
      },
      0,
      'send',
    );
  });

  it('drops undefined object values, as JSON does', () => {
    const { copy } = inspectMessage({ type: 't', gone: undefined, kept: 1 }, 0, 'send', true);
    assert.deepEqual(copy, { type: 't', kept: 1 });
    assert.equal('gone' in copy, false);
  });

  it('measures the exact msgpack size of what it accepts', () => {
    const messages: Record<string, unknown>[] = [
      { type: 'chat.message' },
      {
        type: 'x',
        ints: [0, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31)],
        f: 1.5,
        neg: -0.25,
      },
      {
        type: 'x',
        s: 'a'.repeat(31),
        s2: 'b'.repeat(32),
        s3: 'c'.repeat(255),
        s4: 'd'.repeat(256),
        s5: 'e'.repeat(70000),
      },
      { type: 'x', u: 'é ✓ 😀 naïve', long: '✓'.repeat(100), nil: null, t: true, f: false },
      { type: 'x', bin: Buffer.alloc(10), bin2: Buffer.alloc(300), bin3: Buffer.alloc(70000) },
      { type: 'x', arr: new Array(15).fill(1), arr2: new Array(16).fill(1), arr3: new Array(70000).fill(0) },
      {
        type: 'x',
        map: Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`k${i}`, i])),
        map2: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i])),
      },
      { type: 'x', nested: { deep: [{ a: [1, { b: 'c' }] }] } },
    ];
    for (const m of messages)
      assert.equal(checkMessage(m, 0, 'send'), packr.pack(m).length, JSON.stringify(m).slice(0, 80));
  });

  it('raises ERR_MESSAGE_TOO_LARGE past maxBytes, naming the size, the type and the option', () => {
    const m = { type: 'big.one', blob: 'x'.repeat(100) };
    const size = checkMessage(m, 0, 'send');
    assert.equal(checkMessage(m, size, 'send'), size, 'exactly at the limit is fine');
    assert.throws(
      () => checkMessage(m, size - 1, 'groupSend'),
      (e: Error & { code?: string }) =>
        e.code === 'ERR_MESSAGE_TOO_LARGE' &&
        e.message.includes(`${size} bytes`) &&
        e.message.includes("'big.one'") &&
        e.message.includes('maxMessageBytes') &&
        e.message.startsWith('groupSend: '),
    );
  });

  it('copies deeply, keeps an own __proto__ key a key, and freezes on request', () => {
    const original = JSON.parse('{"type":"t","__proto__":{"polluted":true},"list":[{"n":1}],"bytes":null}') as Record<
      string,
      unknown
    >;
    original.bytes = Buffer.from([1, 2]);
    const { copy } = inspectMessage(original, 0, 'send', true);
    assert.notEqual(copy, original);
    assert.notEqual(copy.list, original.list);
    assert.notEqual(copy.bytes, original.bytes);
    assert.deepEqual(copy.bytes, original.bytes);
    assert.equal(Object.getPrototypeOf(copy), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(copy, '__proto__')?.value, { polluted: true });
    assert.equal(Object.isFrozen(copy), false);

    const frozen = inspectMessage(original, 0, 'groupSend', 'frozen').copy as { list: { n: number }[] };
    assert.ok(Object.isFrozen(frozen) && Object.isFrozen(frozen.list) && Object.isFrozen(frozen.list[0]));
    assert.throws(() => {
      frozen.list[0]!.n = 2;
    }, TypeError);
    assert.equal(inspectMessage(original, 0, 'send', false).copy, original, 'no copy unless asked');
  });
});

describe('layer options', () => {
  it('has channels_redis defaults', () => {
    const s = parseLayerOptions();
    assert.deepEqual([s.expiry, s.groupExpiry, s.capacity, s.maxMessageBytes], [60, 86400, 100, 1024 * 1024]);
    assert.equal(s.capacityFor('any.thing'), 100);
  });

  it('matches channelCapacity globs (* and ?) and RegExps in order', () => {
    const globs = parseLayerOptions({ capacity: 7, channelCapacity: { 'http.response!*': 10, 'ws.?': 2, 'a.b': 3 } });
    assert.equal(globs.capacityFor('http.response!abc'), 10);
    assert.equal(globs.capacityFor('http.responseX!abc'), 7, 'the dot is literal');
    assert.equal(globs.capacityFor('ws.x'), 2);
    assert.equal(globs.capacityFor('ws.xy'), 7);
    assert.equal(globs.capacityFor('a.b'), 3);
    const res = parseLayerOptions({
      channelCapacity: [
        [/^worker\./, 500],
        [/^worker\.slow/, 1],
        ['exact', 4],
      ],
    });
    assert.equal(res.capacityFor('worker.slow'), 500, 'first match wins');
    assert.equal(res.capacityFor('exact'), 4);
  });

  it('refuses unknown keys and bad values, naming the option', () => {
    assert.throws(() => parseLayerOptions({ expiri: 5 } as object), {
      code: 'ERR_INVALID_OPTION',
      message: /unknown layer option 'expiri'; known options: expiry/,
    });
    assert.throws(() => parseLayerOptions({ expiry: 0 }), {
      code: 'ERR_INVALID_OPTION',
      message: /expiry must be a number > 0, not 0/,
    });
    assert.throws(() => parseLayerOptions({ groupExpiry: -1 }), { message: /groupExpiry/ });
    assert.throws(() => parseLayerOptions({ capacity: 1.5 }), {
      message: /capacity must be a whole number > 0, not 1.5/,
    });
    assert.throws(() => parseLayerOptions({ maxMessageBytes: Number.NaN }), { message: /maxMessageBytes/ });
    assert.throws(() => parseLayerOptions({ channelCapacity: { 'a.*': 0 } }), { message: /channelCapacity\[a\.\*\]/ });
    assert.throws(() => parseLayerOptions({ channelCapacity: [[5 as unknown as string, 1]] }), {
      message: /glob strings or RegExps/,
    });
    assert.equal(
      parseLayerOptions({ prefix: 'x' } as object, ['prefix']).capacity,
      100,
      'a backend may add its own keys',
    );
  });
});
