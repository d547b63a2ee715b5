// The WebSocket write path, with its two fast paths (general features of the server):
//
// 1. Write coalescing. The first frame written to a socket in one turn of the event loop corks
//    the socket; every corked socket is uncorked once, after the turn's callbacks and promise
//    continuations have run (a process.nextTick queued from inside them runs after the
//    microtask queue drains). All frames a socket gets while one read — or one layer
//    delivery — is handled leave in one writev. A socket sent one frame per turn pays one
//    cork/uncork pair.
// 2. Shared frames. The last payload framed in this turn is remembered with its frame bytes;
//    sending the same payload (the same string or Buffer, as happens when a group message is
//    delivered to every member as one shared object) reuses those bytes instead of framing
//    again. The cache is dropped at the end of the turn.
//
// Frames are built with ws's public `Sender.frame` and written straight to the socket that
// `handleUpgrade` was given. That bypasses ws's own send queue, which only matters with
// permessage-deflate (off here): ws writes its control frames (pong, close) to the same socket
// in call order, so ordering is kept.
import type { Duplex } from 'node:stream';
import * as ws from 'ws';

// `Sender.frame` is exported by ws but not declared by @types/ws.
interface FrameOptions {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
}
const Sender = (ws as unknown as { Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] } }).Sender;

const OPCODE_TEXT = 1;
const OPCODE_BINARY = 2;

const corked: Duplex[] = [];
let flushQueued = false;
let lastPayload: string | Uint8Array | null = null;
let lastFrame: Buffer | null = null;

function flush(): void {
  flushQueued = false;
  lastPayload = null;
  lastFrame = null;
  for (let i = 0; i < corked.length; i++) corked[i]!.uncork();
  corked.length = 0;
}

function frameOf(payload: string | Uint8Array, opcode: number): Buffer {
  if (payload === lastPayload && lastFrame !== null && lastFrame[0] === (0x80 | opcode)) return lastFrame;
  const parts = Sender.frame(typeof payload === 'string' ? Buffer.from(payload, 'utf8') : (payload as Buffer), {
    fin: true,
    rsv1: false,
    opcode,
    mask: false,
    readOnly: false,
  });
  const frame = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  lastPayload = payload;
  lastFrame = frame;
  return frame;
}

/** Writes one unfragmented data frame, coalesced with the turn's other writes to this socket. */
export function writeDataFrame(socket: Duplex, payload: string | Uint8Array, binary: boolean): void {
  if (!socket.writableCorked) {
    socket.cork();
    corked.push(socket);
    if (!flushQueued) {
      flushQueued = true;
      process.nextTick(flush);
    }
  }
  socket.write(frameOf(payload, binary ? OPCODE_BINARY : OPCODE_TEXT));
}
