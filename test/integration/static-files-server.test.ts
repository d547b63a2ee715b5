// StaticFiles under the real server: fetch with validators and ranges, traversal attempts as
// raw request lines (fetch would normalise them), several ranges as multipart/byteranges
// (the body taken apart by the boundary and checked byte for byte), a large file through a slow reader
// (backpressure: what the app has handed over stays bounded, whatever the file's size), and a
// client that leaves mid-file (the app stops and returns).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
  ftruncateSync,
} from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Application } from '../../src/asgi/types.ts';
import { path } from '../../src/routing/path-pattern.ts';
import { URLRouter } from '../../src/routing/url-router.ts';
import { createServer, type CanalServer } from '../../src/server/server.ts';
import { StaticFiles } from '../../src/static/static-files.ts';
import { rawRequest } from './raw-request.ts';

const BIG = 64 * 1024 * 1024;
/** 1000 bytes counting 0…255 over and over: CR, LF and '-' turn up inside the parts. */
const BYTES = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 256));
let base: string;
let server: CanalServer;
let url: string;
let port: number;
/** Body bytes the static app has handed to the server's send (counted as it calls send). */
let handed = 0;
/** Resolves when the current request's static app returns. */
let appReturned: Promise<void> = Promise.resolve();

before(async () => {
  base = mkdtempSync(join(tmpdir(), 'canal-static-server-'));
  const pub = join(base, 'public');
  mkdirSync(pub);
  writeFileSync(join(pub, 'app.js'), 'console.log("hi")');
  writeFileSync(join(pub, 'bytes.bin'), BYTES);
  writeFileSync(join(base, 'secret.txt'), 'TOP SECRET');
  symlinkSync(join(base, 'secret.txt'), join(pub, 'link-out.txt'));
  // A sparse 64 MiB file (no disk cost) ending in a marker, to check the tail arrives intact.
  const fd = openSync(join(pub, 'big.bin'), 'w');
  ftruncateSync(fd, BIG);
  writeSync(fd, 'END', BIG - 3);
  closeSync(fd);

  const statics = StaticFiles({ directory: pub });
  const router = URLRouter([path('static/', statics)]);
  const app: Application = async (scope, receive, send) => {
    if (scope.type === 'lifespan') return;
    handed = 0;
    const run = router(scope, receive, async (event) => {
      if (event.type === 'http.response.body' && event.body) handed += event.body.length;
      await send(event);
    });
    appReturned = run;
    await run;
  };
  server = createServer(app, { port: 0, drainTimeoutMs: 2000 });
  ({ port } = await server.listen());
  url = `http://127.0.0.1:${port}`;
});
after(async () => {
  await server.close();
  rmSync(base, { recursive: true, force: true });
});

const raw = (request: string, ms = 2000) => rawRequest(port, request, ms);

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

/** Opens a socket, sends a GET and counts bytes; `onData` sees the running total. */
function rawGet(target: string, onData: (total: number, socket: Socket, chunk: Buffer) => void): Socket {
  let total = 0;
  const socket = connect(port, '127.0.0.1', () =>
    socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
  );
  socket.on('data', (chunk: Buffer) => {
    total += chunk.length;
    onData(total, socket, chunk);
  });
  socket.on('error', () => {});
  return socket;
}

describe('StaticFiles under the server', () => {
  test('fetch: type, validators, 304 and a range', async () => {
    const res = await fetch(`${url}/static/app.js`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(res.headers.get('content-length'), '17');
    assert.equal(await res.text(), 'console.log("hi")');
    const etag = res.headers.get('etag')!;
    const again = await fetch(`${url}/static/app.js`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), '');
    const part = await fetch(`${url}/static/app.js`, { headers: { range: 'bytes=0-6' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), 'bytes 0-6/17');
    assert.equal(await part.text(), 'console');
    const head = await fetch(`${url}/static/app.js`, { method: 'HEAD' });
    assert.equal(head.headers.get('content-length'), '17');
    assert.equal((await fetch(`${url}/static/app.js`, { method: 'POST' })).status, 405);
  });

  test('traversal attempts on the wire are 404 and leak nothing', async () => {
    for (const target of [
      '/static/../secret.txt',
      '/static/%2e%2e/secret.txt',
      '/static/..%2fsecret.txt',
      '/static/..%5csecret.txt',
      '/static/app.js%00',
      '/static/link-out.txt',
      '/static//etc/passwd',
    ]) {
      const reply = await raw(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.match(reply, /^HTTP\/1\.1 404/, target);
      assert.doesNotMatch(reply, /TOP SECRET|root:/, target);
    }
  });

  test('a slow reader holds back the reads: what the app hands over stays bounded', async () => {
    let paused = false;
    let tail = Buffer.alloc(0);
    let total = 0;
    let ended!: () => void;
    const done = new Promise<void>((r) => (ended = r));
    const socket = rawGet('/static/big.bin', (n, s, chunk) => {
      total = n;
      tail = Buffer.concat([tail, chunk]).subarray(-16);
      if (!paused && n >= 1024 * 1024) {
        paused = true;
        s.pause();
      }
    });
    socket.on('end', () => ended());
    try {
      await within(
        (async () => {
          while (!paused) await sleep(5);
        })(),
        5000,
        'the first MiB did not arrive',
      );
      await sleep(400);
      const stalled = handed;
      await sleep(400);
      // Socket buffers on both sides hold a few MiB; without backpressure the app would have
      // handed over all 64 MiB by now.
      assert.ok(handed < 24 * 1024 * 1024, `the app handed over ${handed} bytes to a client that read ${total}`);
      assert.equal(handed, stalled, 'nothing more is handed over while the client does not read');
      socket.resume();
      await within(done, 20_000, 'the whole file did not arrive');
      assert.ok(total > BIG, `read ${total} bytes`);
      assert.equal(tail.subarray(-3).toString(), 'END');
      assert.equal(handed, BIG);
      await within(appReturned, 2000, 'the app did not return');
    } finally {
      socket.destroy();
    }
  });

  test('a client that leaves mid-file: the app stops reading and returns', async () => {
    const socket = rawGet('/static/big.bin', (n, s) => {
      if (n >= 1024 * 1024) s.destroy();
    });
    try {
      await within(
        (async () => {
          while (!socket.destroyed) await sleep(5);
        })(),
        5000,
        'the first MiB did not arrive',
      );
      const returned = appReturned;
      await within(returned, 3000, 'the app did not return after the client left');
      assert.ok(handed < BIG / 2, `the app handed over ${handed} of ${BIG} bytes`);
      // The server still serves.
      assert.equal((await fetch(`${url}/static/app.js`)).status, 200);
    } finally {
      socket.destroy();
    }
  });
});

interface Part {
  headers: Record<string, string>;
  body: Buffer;
}

/** Takes a multipart/byteranges body apart by its boundary (RFC 9110 §14.6, RFC 2046 §5.1.1). */
function parseMultipart(contentType: string, body: Buffer): Part[] {
  const m = /^multipart\/byteranges; boundary=([^;\s]+)$/.exec(contentType);
  assert.ok(m, `content-type ${contentType}`);
  const text = '\r\n' + body.toString('latin1');
  const sections = text.split(`\r\n--${m[1]}`);
  assert.equal(sections[0], '', 'nothing before the first boundary');
  assert.equal(sections.at(-1), '--\r\n', 'the body ends with the closing delimiter');
  return sections.slice(1, -1).map((section) => {
    assert.ok(section.startsWith('\r\n'), 'a CRLF after each boundary');
    const split = section.indexOf('\r\n\r\n');
    const headers: Record<string, string> = {};
    for (const line of section.slice(2, split).split('\r\n')) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    return { headers, body: Buffer.from(section.slice(split + 4), 'latin1') };
  });
}

function ranged(file: string, range: string, init: RequestInit = {}): Promise<Response> {
  const headers = { range, ...(init.headers as Record<string, string>) };
  return fetch(`${url}/static/${file}`, { ...init, headers, signal: AbortSignal.timeout(5000) });
}

describe('StaticFiles ranges under the server', () => {
  test('two ranges: a multipart/byteranges 206, each part with its type, range and bytes', async () => {
    const res = await ranged('bytes.bin', 'bytes=10-19, 500-755');
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('content-range'), null, 'the range of each part is in the part');
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(res.headers.get('content-length'), String(body.length));
    const parts = parseMultipart(res.headers.get('content-type')!, body);
    assert.equal(parts.length, 2);
    assert.deepEqual(
      parts.map((p) => p.headers),
      [
        { 'content-type': 'application/octet-stream', 'content-range': 'bytes 10-19/1000' },
        { 'content-type': 'application/octet-stream', 'content-range': 'bytes 500-755/1000' },
      ],
    );
    assert.deepEqual(parts[0]!.body, BYTES.subarray(10, 20));
    assert.deepEqual(parts[1]!.body, BYTES.subarray(500, 756), 'bytes such as CR, LF and - arrive as they are');
  });

  test('each response has its own boundary; ranges keep the order asked, suffixes included', async () => {
    const [a, b] = await Promise.all([ranged('bytes.bin', 'bytes=-3, 0-0'), ranged('bytes.bin', 'bytes=-3, 0-0')]);
    assert.notEqual(a.headers.get('content-type'), b.headers.get('content-type'));
    const parts = parseMultipart(a.headers.get('content-type')!, Buffer.from(await a.arrayBuffer()));
    await b.arrayBuffer();
    assert.deepEqual(
      parts.map((p) => p.headers['content-range']),
      ['bytes 997-999/1000', 'bytes 0-0/1000'],
    );
    assert.deepEqual(
      parts.map((p) => [...p.body]),
      [[997 % 256, 998 % 256, 999 % 256], [0]],
    );
  });

  test('ranges across read chunks of a large file, its last bytes included', async () => {
    const res = await ranged('big.bin', `bytes=0-99, 100000-299999, ${BIG - 3}-`);
    assert.equal(res.status, 206);
    const parts = parseMultipart(res.headers.get('content-type')!, Buffer.from(await res.arrayBuffer()));
    assert.deepEqual(
      parts.map((p) => p.headers['content-range']),
      [`bytes 0-99/${BIG}`, `bytes 100000-299999/${BIG}`, `bytes ${BIG - 3}-${BIG - 1}/${BIG}`],
    );
    assert.deepEqual(
      parts.map((p) => p.body.length),
      [100, 200_000, 3],
    );
    assert.ok(parts[1]!.body.every((byte) => byte === 0));
    assert.equal(parts[2]!.body.toString(), 'END');
  });

  test('overlapping and adjacent ranges are merged; one left is a plain 206', async () => {
    const one = await ranged('bytes.bin', 'bytes=0-9, 5-14, 15-19');
    assert.equal(one.status, 206);
    assert.equal(one.headers.get('content-range'), 'bytes 0-19/1000');
    assert.equal(one.headers.get('content-type'), 'application/octet-stream');
    assert.deepEqual(Buffer.from(await one.arrayBuffer()), BYTES.subarray(0, 20));

    const two = await ranged('bytes.bin', 'bytes=900-909, 0-4, 3-8');
    const parts = parseMultipart(two.headers.get('content-type')!, Buffer.from(await two.arrayBuffer()));
    const order = parts.map((p) => p.headers['content-range']);
    assert.deepEqual(order, ['bytes 900-909/1000', 'bytes 0-8/1000'], 'in the order first asked');
    assert.deepEqual(parts[1]!.body, BYTES.subarray(0, 9));
  });

  test('a bad range: 416 with bytes */size when none is satisfiable, the whole file when malformed', async () => {
    const none = await ranged('bytes.bin', 'bytes=1000-, 2000-3000');
    assert.equal(none.status, 416);
    assert.equal(none.headers.get('content-range'), 'bytes */1000');
    await none.arrayBuffer();
    const some = await ranged('bytes.bin', 'bytes=1000-, 1-2');
    assert.equal(some.status, 206);
    assert.equal(some.headers.get('content-range'), 'bytes 1-2/1000');
    assert.deepEqual([...Buffer.from(await some.arrayBuffer())], [1, 2]);
    const malformed = await ranged('bytes.bin', 'bytes=0-1, x-2');
    assert.equal(malformed.status, 200);
    assert.deepEqual(Buffer.from(await malformed.arrayBuffer()), BYTES);
  });

  test('If-Range: several ranges only while the file is unchanged', async () => {
    const head = await fetch(`${url}/static/bytes.bin`, { method: 'HEAD', signal: AbortSignal.timeout(5000) });
    const etag = head.headers.get('etag')!;
    const fresh = await ranged('bytes.bin', 'bytes=0-1, 5-6', { headers: { 'if-range': etag } });
    assert.equal(fresh.status, 206);
    assert.match(fresh.headers.get('content-type')!, /^multipart\/byteranges; boundary=/);
    await fresh.arrayBuffer();
    const stale = await ranged('bytes.bin', 'bytes=0-1, 5-6', { headers: { 'if-range': '"old"' } });
    assert.equal(stale.status, 200);
    assert.deepEqual(Buffer.from(await stale.arrayBuffer()), BYTES);
  });

  test('HEAD with several ranges: the headers of the GET and no body', async () => {
    const get = await ranged('bytes.bin', 'bytes=0-1, 5-6');
    const length = (await get.arrayBuffer()).byteLength;
    const request = 'HEAD /static/bytes.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1, 5-6\r\nConnection: close\r\n\r\n';
    const reply = await raw(request);
    const [head, rest] = reply.split('\r\n\r\n');
    assert.match(head!, /^HTTP\/1\.1 206 /);
    assert.match(head!, /\r\ncontent-type: multipart\/byteranges; boundary=[0-9a-f]+\r\n/i);
    assert.match(head!, new RegExp(`\\r\\ncontent-length: ${length}(\\r\\n|$)`, 'i'));
    assert.equal(rest, '', 'no body');
  });
});
