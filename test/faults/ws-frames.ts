// WebSocket frames as bytes (RFC 6455 §5.2), built by hand so the fuzz suite can send what no
// client library would, and a reader for the frames the server sends back. The case generator
// keeps a model of the protocol, so each case knows what a correct server must answer.
import type { Rand } from './fuzz-setup.ts';

export interface FrameSpec {
  fin: boolean;
  /** RSV1..3 as the bits 0b100, 0b010, 0b001. */
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Buffer;
  /** How the length is written: the shortest form, or a longer one than needed. */
  lengthForm?: 'shortest' | '16' | '64';
  /** A length to claim instead of the payload's (for oversize frames; the payload is not sent). */
  claimedLength?: bigint;
}

export function frameBytes(spec: FrameSpec, mask: Buffer): Buffer {
  const len = spec.claimedLength ?? BigInt(spec.payload.length);
  const form = spec.lengthForm ?? 'shortest';
  let head: Buffer;
  const b0 = (spec.fin ? 0x80 : 0) | ((spec.rsv & 7) << 4) | (spec.opcode & 0x0f);
  const m = spec.masked ? 0x80 : 0;
  if (form === 'shortest' && len < 126n) {
    head = Buffer.from([b0, m | Number(len)]);
  } else if ((form === 'shortest' || form === '16') && len < 65536n) {
    head = Buffer.alloc(4);
    head[0] = b0;
    head[1] = m | 126;
    head.writeUInt16BE(Number(len), 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = b0;
    head[1] = m | 127;
    head.writeBigUInt64BE(len, 2);
  }
  if (spec.claimedLength !== undefined) return spec.masked ? Buffer.concat([head, mask]) : head;
  if (!spec.masked) return Buffer.concat([head, spec.payload]);
  const body = Buffer.from(spec.payload);
  for (let i = 0; i < body.length; i++) body[i] = body[i]! ^ mask[i & 3]!;
  return Buffer.concat([head, mask, body]);
}

export interface ServerFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

/** Reads whole frames from what the server sent; `rest` holds an incomplete tail. */
export function readFrames(bytes: Buffer): { frames: ServerFrame[]; rest: Buffer } {
  const frames: ServerFrame[] = [];
  let at = 0;
  for (;;) {
    if (bytes.length - at < 2) break;
    const b0 = bytes[at]!;
    const b1 = bytes[at + 1]!;
    let len = b1 & 0x7f;
    let head = 2;
    if (len === 126) {
      if (bytes.length - at < 4) break;
      len = bytes.readUInt16BE(at + 2);
      head = 4;
    } else if (len === 127) {
      if (bytes.length - at < 10) break;
      len = Number(bytes.readBigUInt64BE(at + 2));
      head = 10;
    }
    const masked = (b1 & 0x80) !== 0;
    if (masked) head += 4;
    if (bytes.length - at < head + len) break;
    const payload = bytes.subarray(at + head, at + head + len);
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, masked, payload });
    at += head + len;
  }
  return { frames, rest: bytes.subarray(at) };
}

const BAD_UTF8 = [
  [0xc0, 0x80], // overlong NUL
  [0xed, 0xa0, 0x80], // a surrogate
  [0xf5, 0x80, 0x80, 0x80], // past U+10FFFF
  [0xf4, 0x90, 0x80, 0x80],
  [0xff],
  [0xe2, 0x82], // cut short
  [0xe0, 0x80, 0x80], // overlong
  [0x80], // a lone continuation byte
];

export interface Expected {
  /** Data messages the server must echo, in order (text as strings). */
  echoes: (string | Buffer)[];
  /** Payloads of the pongs the server must send, in order. */
  pongs: Buffer[];
  /** The close code the server must send; null: the sequence is valid and we close it ourselves. */
  closeCode: number | null;
  /** Also accepted instead of closeCode (where the RFC leaves the server a choice). */
  orElse?: number[];
}

export interface FrameCase {
  frames: FrameSpec[];
  expected: Expected;
  /** Our own close frame, sent once the echoes are in (valid sequences only). */
  finalClose: FrameSpec | null;
  /** Write everything in one go, or frame by frame in pieces. */
  pieces: boolean;
}

function validText(r: Rand, n: number): Buffer {
  return Buffer.from(r.text(n, r.chance(0.4)), 'utf8');
}

function withBadUtf8(r: Rand): Buffer {
  const good = validText(r, r.int(0, 20));
  const at = r.int(0, good.length);
  return Buffer.concat([good.subarray(0, at), Buffer.from(r.pick(BAD_UTF8)), good.subarray(at)]);
}

function data(fin: boolean, opcode: number, payload: Buffer): FrameSpec {
  return { fin, rsv: 0, opcode, masked: true, payload };
}

/** A close frame's payload: a code (two bytes) and a reason. */
function closePayload(code: number, reason: Buffer): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return Buffer.concat([b, reason]);
}

/**
 * A sequence of frames after the handshake: valid steps, then (for most cases) one fault. The
 * model says what the server must answer: the echoes and pongs for the valid steps, then the
 * close code for the fault (1002 protocol error, 1007 bad UTF-8, 1009 too big).
 */
export function frameCase(r: Rand, maxMessageBytes: number): FrameCase {
  const frames: FrameSpec[] = [];
  const expected: Expected = { echoes: [], pongs: [], closeCode: null };
  const steps = r.int(0, 4);
  for (let s = 0; s < steps; s++) {
    const kind = r.int(0, 5);
    if (kind === 0) {
      const p = validText(r, r.int(0, 200));
      frames.push(data(true, 1, p));
      expected.echoes.push(p.toString('utf8'));
    } else if (kind === 1) {
      const p = r.bytes(r.int(0, r.chance(0.1) ? 70_000 : 300));
      if (p.length > maxMessageBytes) continue;
      frames.push(data(true, 2, p));
      expected.echoes.push(p);
    } else if (kind === 2 || kind === 3) {
      // a fragmented message, the UTF-8 of a text one cut anywhere, maybe a ping in between
      const text = kind === 2;
      const whole = text ? validText(r, r.int(1, 300)) : r.bytes(r.int(1, 300));
      const inner = Array.from({ length: r.int(1, 3) }, () => r.int(0, whole.length)).sort((a, b) => a - b);
      const cuts = [0, ...inner, whole.length];
      for (let i = 0; i + 1 < cuts.length; i++) {
        frames.push(data(i + 2 === cuts.length, i === 0 ? (text ? 1 : 2) : 0, whole.subarray(cuts[i], cuts[i + 1])));
        if (r.chance(0.2) && i + 2 < cuts.length) {
          const ping = r.bytes(r.int(0, 125));
          frames.push(data(true, 9, ping));
          expected.pongs.push(ping);
        }
      }
      expected.echoes.push(text ? whole.toString('utf8') : whole);
    } else if (kind === 4) {
      const ping = r.bytes(r.int(0, 125));
      frames.push(data(true, 9, ping));
      expected.pongs.push(ping);
    } else {
      frames.push(data(true, 10, r.bytes(r.int(0, 125)))); // an unasked-for pong is ignored
    }
  }
  if (r.chance(0.2)) {
    // valid to the end; we close with a code the server echoes
    const code = r.chance(0.2) ? null : r.pick([1000, 1001, 1003, 1008, 1011, 3000, 4000 + r.int(0, 999)]);
    const reason = code === null ? Buffer.alloc(0) : validText(r, r.int(0, 40));
    const finalClose = data(true, 8, code === null ? Buffer.alloc(0) : closePayload(code, reason));
    return { frames, expected, finalClose, pieces: r.chance(0.5) };
  }
  const fault = r.int(0, 13);
  const ok = (c: number, orElse?: number[]) => {
    expected.closeCode = c;
    if (orElse) expected.orElse = orElse;
  };
  switch (fault) {
    case 0:
      frames.push({ ...data(true, r.pick([1, 2]), validText(r, 10)), rsv: r.int(1, 7) });
      ok(1002);
      break;
    case 1:
      frames.push(data(true, r.pick([3, 4, 5, 6, 7, 11, 12, 13, 14, 15]), r.bytes(r.int(0, 20))));
      ok(1002);
      break;
    case 2:
      frames.push({ ...data(true, 1, validText(r, 10)), masked: false });
      ok(1002);
      break;
    case 3:
      frames.push(data(true, r.pick([8, 9, 10]), r.bytes(r.int(126, 300))));
      ok(1002);
      break;
    case 4:
      frames.push(data(false, r.pick([9, 10]), r.bytes(r.int(0, 10))));
      ok(1002);
      break;
    case 5:
      frames.push(data(r.chance(0.5), 0, validText(r, 10))); // a continuation with nothing to continue
      ok(1002);
      break;
    case 6:
      frames.push(data(false, 1, validText(r, 5)), data(true, r.pick([1, 2]), validText(r, 5)));
      ok(1002);
      break;
    case 7: {
      const bad = withBadUtf8(r);
      if (r.chance(0.5)) frames.push(data(true, 1, bad));
      else frames.push(data(false, 1, bad.subarray(0, 3)), data(true, 0, bad.subarray(3)));
      ok(1007);
      break;
    }
    case 8: {
      const code = r.pick([0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535]); // not for the wire
      frames.push(data(true, 8, closePayload(code, Buffer.alloc(0))));
      ok(1002);
      break;
    }
    case 9:
      frames.push(data(true, 8, Buffer.from([r.int(0, 255)])));
      ok(1002);
      break;
    case 10:
      frames.push(data(true, 8, closePayload(1000, withBadUtf8(r))));
      ok(1007);
      break;
    case 11: {
      const claimed = r.pick([BigInt(maxMessageBytes + 1), 2n ** 32n, 2n ** 53n, 2n ** 63n + 5n]);
      frames.push({ ...data(true, r.pick([1, 2]), Buffer.alloc(0)), claimedLength: claimed });
      ok(1009);
      break;
    }
    case 12: {
      // fragments that together pass the limit
      const piece = Math.ceil(maxMessageBytes / 2) + 1;
      frames.push(data(false, 2, Buffer.alloc(piece, 1)), data(true, 0, Buffer.alloc(piece, 2)));
      ok(1009);
      break;
    }
    default: {
      // a length in a longer form than needed: RFC 6455 says the shortest MUST be used, ws reads it
      const p = validText(r, r.int(0, 100));
      frames.push({ ...data(true, 1, p), lengthForm: r.pick(['16', '64'] as const) });
      expected.echoes.push(p.toString('utf8'));
      const finalClose = data(true, 8, closePayload(1000, Buffer.alloc(0)));
      return { frames, expected, finalClose, pieces: r.chance(0.5) };
    }
  }
  return { frames, expected, finalClose: null, pieces: r.chance(0.5) };
}
