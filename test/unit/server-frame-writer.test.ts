// The WebSocket write path's fast paths, observed on in-memory sockets: frames sent to one
// socket before a flush leave in one writev; a payload sent to many sockets is framed once;
// nothing stays corked past the loop pass, and a broadcast is flushed at the end of its turn.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import * as ws from 'ws';

// ws's frame parser, exported by ws but not declared by @types/ws.
interface ParserLike {
  on(event: 'message', fn: (data: Buffer, binary: boolean) => void): void;
  on(event: 'error', fn: (err: Error) => void): void;
  end(chunk: Buffer, cb: () => void): void;
}
const Receiver = (ws as unknown as { Receiver: new (options: { isServer: boolean }) => ParserLike }).Receiver;
import { writeDataFrame } from '../../src/server/frame-writer.ts';

/** A socket stand-in that records every write call the stream machinery makes. */
class RecordingSocket extends Writable {
  calls: Buffer[][] = [];
  constructor() {
    super({ highWaterMark: 1 << 20 });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.calls.push([chunk]);
    cb();
  }
  override _writev(chunks: { chunk: Buffer }[], cb: () => void): void {
    this.calls.push(chunks.map((c) => c.chunk));
    cb();
  }
  /** Everything written, decoded by ws's own parser as a client would. */
  messages(): Promise<{ data: string; binary: boolean }[]> {
    const out: { data: string; binary: boolean }[] = [];
    const receiver = new Receiver({ isServer: false });
    receiver.on('message', (data: Buffer, binary: boolean) =>
      out.push({ data: binary ? data.toString('hex') : data.toString(), binary }),
    );
    return new Promise((resolve, reject) => {
      receiver.on('error', reject);
      receiver.end(Buffer.concat(this.calls.flat()), () => resolve(out));
    });
  }
}

/** A socket whose every write takes `ms` of CPU, as a write to a real socket takes time. */
class SlowSocket extends RecordingSocket {
  private readonly ms: number;
  constructor(ms: number) {
    super();
    this.ms = ms;
  }
  override _writev(chunks: { chunk: Buffer }[], cb: () => void): void {
    const until = performance.now() + this.ms;
    while (performance.now() < until);
    super._writev(chunks, cb);
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this._writev([{ chunk }], cb);
  }
}

const endOfTurn = () => new Promise((r) => setImmediate(r));
const afterTicks = () => new Promise((r) => process.nextTick(r));

describe('frame writer', () => {
  it('sends the frames one socket gets in one turn with one writev, in order', async () => {
    const s = new RecordingSocket();
    for (let i = 0; i < 50; i++) writeDataFrame(s, `frame ${i}`, false);
    assert.equal(s.calls.length, 0, 'held until the end of the turn');
    await endOfTurn();
    assert.equal(s.calls.length, 1, 'one write for the turn');
    assert.equal(s.calls[0]!.length, 50);
    assert.equal(s.writableCorked, 0, 'uncorked after the turn');
    assert.deepEqual(
      (await s.messages()).map((m) => m.data),
      Array.from({ length: 50 }, (_, i) => `frame ${i}`),
    );
  });

  it(
    'a lone frame is held only until the end of the loop pass; ' + 'so is a frame sent from a promise continuation',
    async () => {
      const lone = new RecordingSocket();
      writeDataFrame(lone, 'x', false);
      await afterTicks();
      assert.equal(lone.calls.length, 0, 'still held after the turn: frames from other reads of this pass may join it');
      await endOfTurn();
      assert.equal(lone.calls.length, 1);

      const s = new RecordingSocket();
      await Promise.resolve();
      writeDataFrame(s, 'alone', false);
      await endOfTurn();
      assert.equal(s.calls.length, 1);
      assert.deepEqual(await s.messages(), [{ data: 'alone', binary: false }]);
      // the next turn starts a new batch
      writeDataFrame(s, 'next', false);
      await endOfTurn();
      assert.equal(s.calls.length, 2);
    },
  );

  it(
    'frames a payload sent to many sockets once, every socket gets the same bytes, ' + 'flushed at the end of the turn',
    async () => {
      const sockets = Array.from({ length: 20 }, () => new RecordingSocket());
      const text = 'broadcast ✓ '.repeat(20);
      for (const s of sockets) writeDataFrame(s, text, false);
      await afterTicks();
      assert.ok(
        sockets.every((s) => s.calls.length === 1),
        'a broadcast does not wait for the end of the loop pass',
      );
      const first = sockets[0]!.calls[0]![0]!;
      for (const s of sockets) {
        assert.equal(s.calls.length, 1);
        assert.equal(s.calls[0]![0], first, 'the very same Buffer');
        assert.deepEqual(await s.messages(), [{ data: text, binary: false }]);
      }
    },
  );

  it(
    'frames each of several broadcasts of one turn once, ' + 'when every member gets them one after the other',
    async () => {
      // Messages that arrive together reach each member in turn: member 1 gets m1, m2, m3, then
      // member 2 does, and so on. Each payload is still framed once for all members.
      const sockets = Array.from({ length: 20 }, () => new RecordingSocket());
      const texts = ['first broadcast', 'second broadcast', 'third broadcast'];
      const bytes = Buffer.from('00ff00ff', 'hex');
      for (const s of sockets) {
        for (const t of texts) writeDataFrame(s, t, false);
        writeDataFrame(s, bytes, true);
      }
      await afterTicks();
      const first = sockets[0]!.calls[0]!;
      assert.equal(first.length, 4, 'one writev of four frames per socket');
      for (const s of sockets) {
        assert.equal(s.calls.length, 1);
        for (const [i, chunk] of s.calls[0]!.entries()) {
          assert.equal(chunk, first[i], `frame ${i}: the very same Buffer for every member`);
        }
        assert.deepEqual(await s.messages(), [
          ...texts.map((data) => ({ data, binary: false })),
          { data: '00ff00ff', binary: true },
        ]);
      }
    },
  );

  it('keeps text and binary of equal content apart, and per-socket frames in order between shared ones', async () => {
    const a = new RecordingSocket();
    const b = new RecordingSocket();
    const shared = Buffer.from('cafe', 'hex');
    for (const s of [a, b]) {
      writeDataFrame(s, shared, true);
      writeDataFrame(s, s === a ? 'only a' : 'only b', false);
      writeDataFrame(s, shared, true);
      writeDataFrame(s, '\u00ca\u00fe', false);
      writeDataFrame(s, 'end', false);
    }
    await endOfTurn();
    assert.deepEqual(await a.messages(), [
      { data: 'cafe', binary: true },
      { data: 'only a', binary: false },
      { data: 'cafe', binary: true },
      { data: '\u00ca\u00fe', binary: false },
      { data: 'end', binary: false },
    ]);
    assert.deepEqual(
      (await b.messages()).map((m) => m.data),
      ['cafe', 'only b', 'cafe', '\u00ca\u00fe', 'end'],
    );
  });

  it('a Buffer changed between two sends of the same turn is framed with its bytes at each send', async () => {
    const a = new RecordingSocket();
    const b = new RecordingSocket();
    const buf = Buffer.from('0001', 'hex');
    writeDataFrame(a, buf, true);
    buf[1] = 2;
    writeDataFrame(b, buf, true);
    await endOfTurn();
    assert.deepEqual(await a.messages(), [{ data: '0001', binary: true }]);
    assert.deepEqual(await b.messages(), [{ data: '0002', binary: true }]);
  });

  it('frames large payloads (16- and 64-bit lengths) and Uint8Arrays correctly', async () => {
    const s = new RecordingSocket();
    const mid = 'm'.repeat(300);
    const big = Buffer.alloc(70_000, 7);
    const u8 = new Uint8Array([1, 2, 3]);
    writeDataFrame(s, mid, false);
    writeDataFrame(s, big, true);
    writeDataFrame(s, big, true);
    writeDataFrame(s, u8, true);
    writeDataFrame(s, '', false);
    await endOfTurn();
    const got = await s.messages();
    assert.equal(got.length, 5);
    assert.equal(got[0]!.data, mid);
    assert.equal(got[1]!.data, big.toString('hex'));
    assert.equal(got[2]!.data, big.toString('hex'));
    assert.deepEqual(got[3], { data: '010203', binary: true });
    assert.deepEqual(got[4], { data: '', binary: false });
  });

  it(
    'spreads a flush of many sockets over passes of the loop; ' + 'what is sent meanwhile joins the sockets still held',
    async () => {
      const sockets = Array.from({ length: 100 }, () => new SlowSocket(0.5));
      const written = () => sockets.filter((s) => s.calls.length > 0).length;
      for (const s of sockets) writeDataFrame(s, 'first', false);
      await afterTicks();
      const afterTurn = written();
      assert.ok(
        afterTurn > 0 && afterTurn < 100,
        `some sockets flushed at the end of the turn, not all (${afterTurn})`,
      );
      for (const s of sockets) writeDataFrame(s, 'second', false); // arrives while the flush is under way
      for (let pass = 0; pass < 100 && sockets.some((s) => s.writableCorked); pass++) await endOfTurn();
      let joined = 0;
      for (const [i, s] of sockets.entries()) {
        assert.deepEqual(
          (await s.messages()).map((m) => m.data),
          ['first', 'second'],
          `socket ${i}: both frames, in order`,
        );
        if (i < afterTurn) assert.equal(s.calls.length, 2, `socket ${i} was flushed before the second frame came`);
        else if (s.calls.length === 1) joined++;
      }
      assert.ok(joined > 0, 'the sockets still held sent both frames in one write');
    },
  );

  it('finishes a spread flush at once when other work has had as much of the loop as the flush', async () => {
    const sockets = Array.from({ length: 100 }, () => new SlowSocket(0.5));
    for (const s of sockets) writeDataFrame(s, 'x', false);
    await afterTicks();
    const held = sockets.filter((s) => s.calls.length === 0).length;
    assert.ok(held > 0, 'part of the flush is left for later passes');
    const until = performance.now() + 100; // other work, longer than the slice took
    while (performance.now() < until);
    await endOfTurn();
    assert.ok(
      sockets.every((s) => s.calls.length === 1),
      'the rest went in the next pass',
    );
  });
});
