// The WebSocket write path: every data frame the server sends goes through writeDataFrame.
//
// - Coalescing: a socket is corked at its first frame and uncorked at the end of the event
//   loop's pass (setImmediate), so its frames of one pass leave in one writev. A turn that corks
//   BROADCAST_SOCKETS sockets (a group message) is flushed at its own end (nextTick) instead.
//   A flush of more than FLUSH_SLICE sockets goes FLUSH_SLICE a pass, so the loop reads in
//   between; what arrives meanwhile joins the sockets still held. It keeps at least half of
//   the loop's time: once other work has taken as long as its slices, the rest goes at once.
// - Shared frames: a payload framed since the last flush (the same string, or the same Buffer
//   with the same bytes; FRAME_CACHE_SIZE of them) is not framed again, so a broadcast frames
//   once and writes the same bytes to every socket.
// - Frames are built with ws's `Sender.frame` and written to the socket handleUpgrade was given.
//   That keeps call order with ws's own writes only while ws's send queue is unused: it is
//   used for permessage-deflate and Blobs (never sent here), and ws writes its control frames
//   (pong, close) synchronously to the same socket. A socket that negotiated permessage-deflate
//   therefore never comes here: all its data frames go through ws.send (websocket-connection.ts).
// - Payloads over COPY_LIMIT are written as header + payload without a copy, as ws.send does:
//   such a Buffer must not change until it is flushed.
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

/**
 * Writes one unfragmented data frame, coalesced with the other frames written to this socket
 * before the flush. Returns the payload's length in bytes.
 */
export function writeDataFrame(socket: Writable, payload: string | Uint8Array, binary: boolean): number {
  holdUntilFlush(socket);
  const f = frameOf(payload, binary);
  if (Array.isArray(f)) {
    socket.write(f[0]!);
    socket.write(f[1]!);
    return f[1]!.length;
  }
  socket.write(f);
  // An unmasked header is 2 bytes for payloads up to 125, 4 up to 65535, else 10.
  const n = f.length;
  return n <= 127 ? n - 2 : n <= 65539 ? n - 4 : n - 10;
}
