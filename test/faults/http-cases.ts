// Generated HTTP/1.x requests for the fuzz suite: a request built from parts that are often
// legal and sometimes not (methods, targets, versions, header names and values, framing of the
// body, WebSocket upgrade headers), then, for some, mutated at the byte level.
import type { Rand } from './fuzz-setup.ts';

export interface HttpCase {
  bytes: Buffer;
  /** Write the bytes in pieces at these offsets, with a short pause between them. */
  splits: number[];
  /** End our side after writing (a half-close), or keep it open until the server answers. */
  halfClose: boolean;
  /** For a plain valid request: what the server answers (the app: `METHOD path body-length`). */
  expect: Expect | null;
}

export type Expect = { status: 200; body: string } | { status: 413 };

/** The server's maxRequestBodyBytes in the fuzz suite; some bodies are made larger. */
export const BODY_LIMIT = 64 * 1024;

interface Built {
  bytes: Buffer;
  /** Set when nothing in the request is out of the ordinary. */
  expect: Expect | null;
}

const METHODS = ['GET', 'POST', 'PUT', 'HEAD', 'OPTIONS', 'DELETE', 'PATCH', 'QUERY', 'PROPFIND'];
const WILD_METHODS = ['TRACE', 'CONNECT', 'get', 'G@T', 'PRI', '', 'GET\u0000'];
const WILD_VERSIONS = ['HTTP/2.0', 'HTTP/1.2', 'HTTP/x', 'HTTP/1.1 x', '', 'HTTP/0.9', 'http/1.1'];
const WEIRD_TARGETS = [
  '*',
  'http://example.com/abs?x=1',
  'http://example.com',
  '//double//slash',
  '/%zz',
  '/%',
  '/%00',
  '/%ff%fe',
  '/%c3%28',
  '/%ed%a0%80',
  '/a/../../etc/passwd',
  '/?%ff=%fe&&=&a',
  '/ws',
  '/json',
  '/with space',
  '',
  'no-slash',
  '/\u00e9t\u00e9',
];
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

function target(r: Rand, wild: boolean): { t: string; plain: boolean } {
  if (r.chance(wild ? 0.35 : 0.08)) return { t: r.pick(WEIRD_TARGETS), plain: false };
  let t = '/';
  const parts = r.int(0, 4);
  for (let i = 0; i < parts; i++) t += encodeURIComponent(r.text(r.int(0, 8), r.chance(0.3))) + '/';
  if (r.chance(0.4))
    t +=
      '?' +
      encodeURIComponent(r.text(r.int(0, 20)))
        .replace(/%3D/g, '=')
        .replace(/%26/g, '&');
  if (wild && r.chance(0.05)) t += 'x'.repeat(r.int(1000, 20000)); // past the head limit
  return { t, plain: true };
}

type Framing = 'length' | 'chunked' | 'none';
interface Head {
  lines: string[];
  framed: Framing;
  /** Nothing out of the ordinary: the request must reach the app. */
  plain: boolean;
}

function headerLines(r: Rand, body: Buffer, ws: boolean, wild: boolean): Head {
  let plain = !ws && !wild;
  const lines: string[] = [];
  if (r.chance(0.9)) lines.push(`Host: ${r.chance(0.9) ? '127.0.0.1' : r.text(r.int(0, 30))}`);
  else plain = false; // HTTP/1.1 needs a Host header: node:http answers 400
  let framed: 'length' | 'chunked' | 'none' = 'none';
  if (body.length > 0 || r.chance(0.2)) {
    const f = r.int(0, wild ? 9 : 7);
    if (f < 5) {
      framed = 'length';
      lines.push(`Content-Length: ${body.length}`);
    } else if (f < 8) {
      framed = 'chunked';
      lines.push('Transfer-Encoding: chunked');
    } else {
      plain = false;
      lines.push(
        r.pick([
          `Content-Length: -1`,
          `Content-Length: 99999999999999999999`,
          `Content-Length: ${body.length}\r\nContent-Length: ${body.length + 1}`,
          `Content-Length: 1e3`,
          `Content-Length: ${body.length}\r\nTransfer-Encoding: chunked`,
          `Transfer-Encoding: gzip`,
          `Transfer-Encoding: chunked, identity`,
          `Transfer-Encoding: xchunked`,
          `Content-Length: 0x10`,
          `Content-Length:  ${body.length} `,
        ]),
      );
    }
  }
  if (ws || r.chance(0.08)) {
    plain = false;
    const odd = wild ? 0.15 : 0.03;
    lines.push('Upgrade: ' + (!r.chance(odd) ? 'websocket' : r.pick(['WebSocket', 'h2c', 'websocket, foo', ''])));
    lines.push('Connection: ' + (!r.chance(odd) ? 'Upgrade' : r.pick(['keep-alive, Upgrade', 'close', 'upgrade'])));
    if (!r.chance(odd)) lines.push(`Sec-WebSocket-Key: ${!r.chance(odd) ? KEY : r.text(r.int(0, 30))}`);
    const version = !r.chance(odd) ? '13' : r.pick(['8', '12', '', 'x', '13, 8']);
    if (!r.chance(odd)) lines.push(`Sec-WebSocket-Version: ${version}`);
    const protocols = r.pick(['chat', 'chat, superchat', ',,', r.text(r.int(0, 20))]);
    if (r.chance(0.3)) lines.push(`Sec-WebSocket-Protocol: ${protocols}`);
    if (r.chance(0.2)) lines.push(`Sec-WebSocket-Extensions: ${r.pick(['permessage-deflate', 'x; y=1', r.text(10)])}`);
  }
  const extra = r.int(0, wild && r.chance(0.1) ? 120 : 6); // more than 100 lines gets 431
  for (let i = 0; i < extra; i++) {
    const kind = wild ? r.int(0, 9) : r.pick([0, 0, 0, 8, 9]);
    if (kind < 5) lines.push(`X-${r.text(r.int(1, 10)).replace(/[^A-Za-z0-9-]/g, 'a')}: ${r.text(r.int(0, 40))}`);
    else if (kind === 5)
      lines.push(`${r.text(r.int(0, 12))}: ${r.text(r.int(0, 12))}`); // any name, legal or not
    else if (kind === 6) lines.push(`X-Ctl: a${String.fromCharCode(r.pick([0, 1, 0x7f, 0x0b]))}b`);
    else if (kind === 7)
      lines.push(`X-Folded: one\r\n two`); // obsolete line folding
    else if (kind === 8) lines.push(`Cookie: ${r.text(r.int(0, 60))}`);
    else {
      const line = r.pick(['Expect: 100-continue', 'Connection: close', 'Connection: keep-alive', 'Accept: */*']);
      if (line.startsWith('Expect')) plain = false; // answered 100 first
      lines.push(line);
    }
  }
  if (wild && r.chance(0.04)) lines.push(`X-Big: ${'b'.repeat(r.int(8000, 20000))}`);
  return { lines, framed, plain };
}

function chunked(r: Rand, body: Buffer, wild: boolean): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < body.length) {
    const n = Math.min(body.length - at, r.int(1, 64));
    const size = `${n.toString(16)}${r.chance(0.05) ? ';ext=1' : ''}\r\n`;
    parts.push(Buffer.from(size), body.subarray(at, at + n), Buffer.from('\r\n'));
    at += n;
  }
  const broken = ['zz\r\n', 'f'.repeat(17) + '\r\n', '-1\r\n', '5\r\nab\r\n'];
  if (wild && r.chance(0.2)) parts.push(Buffer.from(r.pick(broken)));
  parts.push(Buffer.from(r.chance(0.9) ? '0\r\n\r\n' : '0\r\nX-Trailer: t\r\n\r\n'));
  return Buffer.concat(parts);
}

/** A request; a `wild` one breaks some rule of HTTP/1.1 more often than not. */
function request(r: Rand, wild: boolean): Built {
  const ws = r.chance(0.15);
  const method = r.chance(wild ? 0.3 : 0) ? r.pick(WILD_METHODS) : ws ? 'GET' : r.pick(METHODS);
  const size = r.chance(0.1) ? r.int(BODY_LIMIT - 100, BODY_LIMIT + 1000) : r.int(0, 300);
  const body = r.chance(0.4) ? r.bytes(size) : Buffer.alloc(0);
  const { lines, framed, plain } = headerLines(r, body, ws, wild);
  const eol = wild && r.chance(0.2) ? '\n' : '\r\n';
  const version = wild && r.chance(0.3) ? r.pick(WILD_VERSIONS) : r.chance(0.9) ? 'HTTP/1.1' : 'HTTP/1.0';
  const { t, plain: plainTarget } = target(r, wild);
  const line = `${method} ${t} ${version}`;
  const head = Buffer.from([line, ...lines].join(eol) + eol + eol, 'latin1');
  const stray = wild && r.chance(0.2);
  const payload = framed === 'chunked' ? chunked(r, body, wild) : framed === 'length' || stray ? body : Buffer.alloc(0);
  const bytes = Buffer.concat([head, payload]);
  const simple = plain && plainTarget && !stray && method !== 'HEAD';
  if (!simple) return { bytes, expect: null };
  if (body.length > BODY_LIMIT) return { bytes, expect: { status: 413 } };
  return { bytes, expect: { status: 200, body: `${method} ${decodeURIComponent(t.split('?')[0]!)} ${body.length}` } };
}

function mutate(r: Rand, bytes: Buffer): Buffer {
  let b = bytes;
  const ops = r.int(1, 4);
  for (let i = 0; i < ops && b.length > 0; i++) {
    const at = r.int(0, b.length - 1);
    switch (r.int(0, 4)) {
      case 0: // flip bits of one byte
        b = Buffer.from(b);
        b[at] = b[at]! ^ (1 << r.int(0, 7));
        break;
      case 1: {
        // insert bytes, often line breaks, NUL or high bytes
        const extra = Buffer.from(r.pick([[13], [10], [0], [0xff, 0xfe], [32], [58], [...r.bytes(r.int(1, 8))]]));
        b = Buffer.concat([b.subarray(0, at), extra, b.subarray(at)]);
        break;
      }
      case 2: // delete a range
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + r.int(1, 16)))]);
        break;
      case 3: // cut the end off
        b = b.subarray(0, at);
        break;
      default: // repeat a range
        b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + r.int(1, 40)), b.subarray(at)]);
    }
  }
  return b;
}

export function httpCase(r: Rand): HttpCase {
  const wild = r.chance(0.5);
  const first = request(r, wild);
  let bytes = first.bytes;
  let expect = first.expect;
  if (r.chance(0.15)) {
    bytes = Buffer.concat([bytes, request(r, wild && r.chance(0.5)).bytes]); // pipelined
    expect = null;
  }
  if (wild && r.chance(0.5)) bytes = mutate(r, bytes);
  if (wild && r.chance(0.05)) bytes = r.bytes(r.int(1, 200)); // not HTTP at all
  const splits: number[] = [];
  if (r.chance(0.25) && bytes.length > 2) {
    const n = r.int(1, 4);
    for (let i = 0; i < n; i++) splits.push(r.int(1, bytes.length - 1));
    splits.sort((a, b) => a - b);
  }
  return { bytes, splits, halfClose: r.chance(0.5), expect };
}
