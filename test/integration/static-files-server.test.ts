// StaticFiles under the real server: fetch with validators and ranges, traversal attempts as
// raw request lines (fetch would normalise them), a large file through a slow reader
// (backpressure: what the app has handed over stays bounded, whatever the file's size), and a
// client that leaves mid-file (the app stops and returns).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync, writeSync, ftruncateSync } from 'node:fs';
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
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

/** Opens a socket, sends a GET and counts bytes; `onData` sees the running total. */
function rawGet(target: string, onData: (total: number, socket: Socket, chunk: Buffer) => void): Socket {
  let total = 0;
  const socket = connect(port, '127.0.0.1', () => socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
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
    for (const target of ['/static/../secret.txt', '/static/%2e%2e/secret.txt', '/static/..%2fsecret.txt', '/static/..%5csecret.txt', '/static/app.js%00', '/static/link-out.txt', '/static//etc/passwd']) {
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
