// The msgpack mapping between Canal and Python's msgpack (docs/redis-layers.md, one test per
// row), the Fernet tokens against Python's cryptography, and the consistent hash against
// channels_redis' own function.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { packMessage, unpackMessage } from '../../src/layers/redis/codec.ts';
import { MultiFernet } from '../../src/layers/redis/fernet.ts';
import { consistentHash } from '../../src/layers/redis/consistent-hash.ts';

/** Runs Python with msgpack; the script reads hex on stdin and prints a result. */
function python(script: string, input = ''): string {
  const r = spawnSync('/usr/bin/python3', ['-c', script], { input, encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(
      `python3 with msgpack and cryptography is needed ` +
        `(apt-get install python3-msgpack python3-cryptography): ${r.stderr || r.error?.message}`,
    );
  }
  return r.stdout.trim();
}

/** What Python's msgpack reads from Canal's bytes, as repr(). */
function pythonReads(value: unknown): string {
  const hex = packMessage({ type: 't', v: value }).toString('hex');
  return python(
    'import msgpack,sys; print(repr(msgpack.unpackb(bytes.fromhex(sys.stdin.read()), raw=False)["v"]))',
    hex,
  );
}

/** What Canal reads from the bytes Python's msgpack writes for a Python expression. */
function canalReads(expr: string): unknown {
  const hex = python(
    `import msgpack,datetime; print(msgpack.packb({"type": "t", "v": ${expr}}, use_bin_type=True, ` +
      `datetime=True).hex())`,
  );
  return (unpackMessage(Buffer.from(hex, 'hex')) as { v: unknown }).v;
}

describe('msgpack mapping, Canal → Python', () => {
  it('whole numbers of any safe size are ints', () => {
    assert.equal(pythonReads(42), '42');
    assert.equal(pythonReads(-7), '-7');
    assert.equal(pythonReads(2 ** 40), String(2 ** 40));
    assert.equal(pythonReads(-(2 ** 40)), String(-(2 ** 40)));
    assert.equal(pythonReads(Number.MAX_SAFE_INTEGER), String(Number.MAX_SAFE_INTEGER));
  });
  it('bigints within 64 bits are ints', () => {
    assert.equal(pythonReads(2n ** 63n - 1n), String(2n ** 63n - 1n));
    assert.equal(pythonReads(2n ** 64n - 1n), String(2n ** 64n - 1n));
    assert.equal(pythonReads(-(2n ** 63n)), String(-(2n ** 63n)));
  });
  it('fractions are floats', () => assert.equal(pythonReads(1.5), '1.5'));
  it('strings, bytes, arrays, objects, null, booleans', () => {
    assert.equal(pythonReads('héllo ✓'), "'héllo ✓'");
    assert.equal(pythonReads(Buffer.from([0, 255])), "b'\\x00\\xff'");
    assert.equal(pythonReads(new Uint8Array([1, 2])), "b'\\x01\\x02'");
    assert.equal(pythonReads([1, 'a', null, true]), "[1, 'a', None, True]");
    assert.equal(pythonReads({ a: { b: [] } }), "{'a': {'b': []}}");
  });
  it('maps use the smallest header, as Python writes them', () => {
    const js = packMessage({ type: 'x', a: 1 }).toString('hex');
    const py = python('import msgpack; print(msgpack.packb({"type": "x", "a": 1}, use_bin_type=True).hex())');
    assert.equal(js, py);
  });
});

describe('msgpack mapping, Python → Canal', () => {
  it('ints within ±2^53 are numbers, beyond are bigints', () => {
    assert.equal(canalReads('2**40'), 2 ** 40);
    assert.equal(canalReads('-5'), -5);
    assert.equal(canalReads('2**60'), 2n ** 60n);
    assert.equal(canalReads('-2**63'), -(2n ** 63n));
    assert.equal(canalReads('2**64-1'), 2n ** 64n - 1n);
  });
  it('floats are numbers; a whole float becomes a whole number', () => {
    assert.equal(canalReads('1.5'), 1.5);
    assert.equal(canalReads('2.0'), 2);
    assert.equal(pythonReads(canalReads('2.0')), '2', 'and goes back as an int');
  });
  it('bytes are Buffers, tuples arrays, other keys strings', () => {
    const b = canalReads("b'\\x00\\x01'");
    assert.ok(Buffer.isBuffer(b));
    assert.deepEqual([...(b as Buffer)], [0, 1]);
    assert.deepEqual(canalReads('(1, 2)'), [1, 2]);
    assert.deepEqual(canalReads("{1: 'a'}"), { '1': 'a' });
    assert.equal(canalReads('None'), null);
  });
  it('msgpack timestamps are Dates', () => {
    const d = canalReads('datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)');
    assert.ok(d instanceof Date);
    assert.equal((d as Date).toISOString(), '2026-01-02T03:04:05.000Z');
  });
});

describe('Fernet, as channels_redis encrypts', () => {
  const keys = ['current-key', 'old-key'];
  const setup = `
import sys, base64, hashlib
from cryptography.fernet import Fernet, MultiFernet
def f(k): return Fernet(base64.urlsafe_b64encode(hashlib.sha256(k.encode()).digest()))
`;
  it('Python decrypts what Canal encrypts, with any of its keys', () => {
    const token = new MultiFernet(keys).encrypt(Buffer.from('secret message')).toString('latin1');
    assert.equal(
      python(
        setup + 'print(MultiFernet([f("old-key"), f("current-key")]).decrypt(sys.stdin.read().encode(), 70).decode())',
        token,
      ),
      'secret message',
    );
  });
  it('Canal decrypts what Python encrypts with an older key (rotation)', () => {
    const token = python(setup + 'print(f("old-key").encrypt(b"from python").decode())');
    assert.equal(new MultiFernet(keys).decrypt(Buffer.from(token, 'latin1'), 70).toString(), 'from python');
  });
  it('refuses tampered, unknown-key and expired tokens', () => {
    const f = new MultiFernet(keys);
    const token = f.encrypt(Buffer.from('x'));
    const bad = Buffer.from(token);
    bad[20] = bad[20] === 0x41 ? 0x42 : 0x41;
    assert.throws(() => f.decrypt(bad), { code: 'ERR_INVALID_MESSAGE' });
    assert.throws(() => new MultiFernet(['other']).decrypt(token), /every key/);
    const old = f.encrypt(Buffer.from('x'), Math.floor(Date.now() / 1000) - 100);
    assert.throws(() => f.decrypt(old, 70), /expired/);
  });
});

describe('consistent hash', () => {
  it('matches channels_redis for many names and ring sizes', () => {
    const names = [
      'room',
      'chat.lobby',
      'specific.abc!',
      'thumbnails',
      'é-ü',
      'asgi:group:x',
      ...Array.from({ length: 40 }, (_, i) => `g${i * 7919}`),
    ];
    const py = python(
      'import json,sys\nfrom channels_redis.utils import _consistent_hash\n' +
        'names=json.loads(sys.stdin.read())\n' +
        'print(json.dumps([[_consistent_hash(n, r) for r in (1,2,3,5,8)] for n in names]))',
      JSON.stringify(names),
    );
    const js = names.map((n) => [1, 2, 3, 5, 8].map((r) => consistentHash(n, r)));
    assert.deepEqual(js, JSON.parse(py));
  });
});
