// The WebSocket write path, with its two fast paths (general features of the server, on for
// every app):
//
// 1. Write coalescing. The first frame written to a socket corks it; corked sockets are
//    uncorked together once the current pass of the event loop has handled its I/O (a
//    setImmediate), so all frames a socket gets while its reads — and whatever else became
//    ready at the same time — are handled leave in one writev, and the peer reads them in one
//    segment. A turn that writes to many sockets (BROADCAST_SOCKETS or more: a group message)
//    is flushed sooner, as soon as that turn's callbacks and promise continuations have run
//    (process.nextTick), so a broadcast does not wait behind other I/O. Measured against the
//    alternatives (a nextTick per read; the first frame of a read written at once): one flush
//    per loop pass costs the least per frame, and a lone frame leaves within the same pass of
//    the loop, before it waits for I/O again.
//    A flush of more than FLUSH_SLICE sockets is spread over passes of the loop, FLUSH_SLICE
//    sockets a pass: a write to a socket is a system call of several µs, so a broadcast to
//    1000 sockets is milliseconds of writes, and the loop reads in between. What arrives
//    meanwhile (the next group message, from a client or from Redis) is written to the sockets
//    still held and leaves in the same writev as the frames before it. The flush never takes
//    less than half of the loop's time: once the other work between its slices has taken as
//    long as the slices, the rest is flushed at once. (Closed-loop fan-out to 1000 sockets:
//    ≈2.2 → ≈3.5 deliveries per write, 25–60% more deliveries/s, p50 latency ≈40% lower.)
// 2. Shared frames. The payloads framed since the last flush are remembered with their frame
//    bytes (up to FRAME_CACHE_SIZE of them); sending one again (the same string, or the same
//    Buffer with the same bytes, as happens when a group message is delivered to every member
//    as one shared object) reuses those bytes instead of framing again: a broadcast to N
//    sockets frames once and writes the same Buffer N times. Several broadcasts can be in one
//    turn (messages that arrived together reach each member one after the other, so members
//    interleave them): each is still framed once. The cache is dropped when a flush is done
//    (a flush spread over passes keeps it to its end).
//
// Frames are built with ws's public `Sender.frame` and written straight to the socket that
// `handleUpgrade` was given (ws's own `send` would frame once per socket and write without
// corking). Bypassing ws's send queue is safe because that queue is only used while
// permessage-deflate compresses (it is off on this server) or a Blob is read (never sent
// here); ws writes its own control frames (pong, close) to the same socket synchronously, so
// everything leaves in call order.
//
// Payloads up to COPY_LIMIT bytes are copied into one Buffer with their header (one chunk per
// frame in the writev). Larger ones are written as header + payload without a copy, as ws.send
// does: a Buffer sent that way must not be changed until it has been flushed (as with any
// Buffer given to a stream's write()).
import type { Writable } from 'node:stream';
import * as ws from 'ws';

// `Sender.frame` is exported by ws but not declared by @types/ws.
interface FrameOptions {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
}
const Sender = (ws as unknown as { Sender?: { frame?(data: Buffer, options: FrameOptions): Buffer[] } }).Sender;
if (typeof Sender?.frame !== 'function') {
  throw new Error("the installed 'ws' does not export Sender.frame; Canal needs ws 8.x");
}
const frame = Sender.frame.bind(Sender);

const OPCODE_TEXT = 1;
const OPCODE_BINARY = 2;
const TEXT_OPTIONS: FrameOptions = { fin: true, rsv1: false, opcode: OPCODE_TEXT, mask: false, readOnly: false };
const BINARY_OPTIONS: FrameOptions = { fin: true, rsv1: false, opcode: OPCODE_BINARY, mask: false, readOnly: false };
const COPY_LIMIT = 64 * 1024;

/** A turn that corks this many sockets is flushed at its own end rather than the loop pass's. */
const BROADCAST_SOCKETS = 16;

/** A flush of more sockets than this is spread over passes of the loop, this many at a time. */
const FLUSH_SLICE = 32;

const corked: Writable[] = [];
let next = 0; // corked[next..] are still held; the ones before it were flushed in this flush
let flushQueued = false; // the setImmediate that ends the loop pass
let flushBegan = 0; // when the flush now spread over passes began (performance.now())
let flushSpent = 0; // the time its slices have taken so far (ms)
// The shared-frame cache: payload → header+payload, or [header, payload]; text and binary
// frames apart (the same bytes framed as text and as binary differ in their opcode).
const FRAME_CACHE_SIZE = 64;
const textFrames = new Map<string, Buffer | Buffer[]>();
const binaryFrames = new Map<Uint8Array, Buffer | Buffer[]>();

function onImmediate(): void {
  flushQueued = false;
  flush();
}

function flush(): void {
  const rest = corked.length - next;
  if (rest <= FLUSH_SLICE) {
    finishFlush();
    return;
  }
  const now = performance.now();
  if (next === 0) {
    flushBegan = now;
    flushSpent = 0;
  } else if (now - flushBegan - flushSpent >= flushSpent) {
    // Other work has had as much of the loop as this flush: the rest goes now.
    finishFlush();
    return;
  }
  const end = next + FLUSH_SLICE;
  while (next < end) corked[next++]!.uncork();
  flushSpent += performance.now() - now;
  if (!flushQueued) {
    flushQueued = true;
    setImmediate(onImmediate);
  }
}

function finishFlush(): void {
  for (let i = next; i < corked.length; i++) corked[i]!.uncork();
  if (corked.length !== 0) corked.length = 0;
  next = 0;
  if (textFrames.size > 0) textFrames.clear();
  if (binaryFrames.size > 0) binaryFrames.clear();
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Whether the cached frame still holds `payload`'s current bytes (a Buffer may have been changed since). */
function sameBytes(cached: Buffer | Buffer[], payload: Uint8Array): boolean {
  if (Array.isArray(cached)) return true; // not copied: the frame is the payload itself
  const header = cached.length - payload.byteLength;
  return header >= 2 && asBuffer(payload).equals(cached.subarray(header));
}

function frameOf(payload: string | Uint8Array, binary: boolean): Buffer | Buffer[] {
  const isText = typeof payload === 'string';
  if (isText && !binary) {
    const cached = textFrames.get(payload);
    if (cached !== undefined) return cached;
  } else if (!isText && binary) {
    const cached = binaryFrames.get(payload);
    if (cached !== undefined && sameBytes(cached, payload)) return cached;
  }
  const data = isText ? Buffer.from(payload, 'utf8') : asBuffer(payload);
  const parts = frame(data, binary ? BINARY_OPTIONS : TEXT_OPTIONS);
  const out =
    parts.length === 1
      ? parts[0]!
      : data.length <= COPY_LIMIT
        ? Buffer.concat(parts, parts[0]!.length + data.length)
        : parts;
  if (isText && !binary) {
    if (textFrames.size < FRAME_CACHE_SIZE) textFrames.set(payload, out);
  } else if (!isText && binary) {
    if (binaryFrames.size < FRAME_CACHE_SIZE || binaryFrames.has(payload)) binaryFrames.set(payload, out);
  }
  return out;
}

/** Corks `socket` until the next flush (see the file header), unless it already is. */
export function holdUntilFlush(socket: Writable): void {
  if (socket.writableCorked) return;
  socket.cork();
  if (corked.push(socket) - next === BROADCAST_SOCKETS) process.nextTick(flush);
  if (!flushQueued) {
    flushQueued = true;
    setImmediate(onImmediate);
  }
}

/** Writes one unfragmented data frame, coalesced with the other frames written to this socket before the flush. */
export function writeDataFrame(socket: Writable, payload: string | Uint8Array, binary: boolean): void {
  holdUntilFlush(socket);
  const f = frameOf(payload, binary);
  if (Array.isArray(f)) {
    socket.write(f[0]!);
    socket.write(f[1]!);
  } else {
    socket.write(f);
  }
}
