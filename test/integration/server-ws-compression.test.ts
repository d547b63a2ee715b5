// permessage-deflate (websocketCompression, canal serve --ws-per-message-deflate) on real
// sockets: negotiated only when on, large messages compressed on the wire (RSV1, fewer bytes),
// small ones not, and a broadcast to compressing and plain sockets alike arrives intact.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { Application, Send, WebsocketSendEvent } from '../../src/index.ts';
import { InvalidOptionError } from '../../src/errors.ts';
import { resolveServerOptions } from '../../src/server/options.ts';
import { FIXTURES, serve as serveCli, stop } from './cli-helpers.ts';
import { echo, messages, opened, rawHandshake, serve, within } from './server-ws-helpers.ts';

/** Opens a `ws` client (which offers permessage-deflate unless told not to) and keeps the 101's headers. */
async function open(url: string, deflate = true): Promise<{ ws: WebSocket; extensionsHeader: string | undefined }> {
  const ws = new WebSocket(url, { perMessageDeflate: deflate });
  let extensionsHeader: string | undefined;
  ws.once('upgrade', (res: IncomingMessage) => {
    extensionsHeader = res.headers['sec-websocket-extensions'] as string | undefined;
  });
  await opened(ws);
  return { ws, extensionsHeader };
}

/** Bytes the client has read from its TCP socket so far (frames as they were on the wire). */
function bytesRead(ws: WebSocket): number {
  return (ws as unknown as { _socket: { bytesRead: number } })._socket.bytesRead;
}

/** A 10 KB JSON document, repetitive as real JSON is. */
function tenKilobytesOfJson(): string {
  const rows = Array.from({ length: 150 }, (_, i) => ({
    id: i,
    user: `user-${i % 7}`,
    text: 'hello there, how are you',
    ok: true,
  }));
  const s = JSON.stringify({ type: 'history', rows });
  assert.ok(s.length > 9000 && s.length < 12000, `payload is ${s.length} bytes`);
  return s;
}

describe('WebSocket compression', () => {
  it('is negotiated with a client offering it when on, and not when off', async () => {
    const on = await serve(echo(), { websocketCompression: true });
    const a = await open(on.url);
    assert.equal(a.ws.extensions, 'permessage-deflate');
    assert.match(a.extensionsHeader ?? '', /^permessage-deflate\b/);
    assert.match(a.extensionsHeader!, /server_no_context_takeover/);
    assert.match(a.extensionsHeader!, /client_no_context_takeover/);
    a.ws.close();

    const off = await serve(echo());
    const b = await open(off.url);
    assert.equal(b.ws.extensions, '');
    assert.equal(b.extensionsHeader, undefined);
    b.ws.close();
  });

  it('echoes a 10 KB JSON message compressed: fewer bytes on the wire than the payload', async () => {
    const { url } = await serve(echo(), { websocketCompression: true });
    const { ws } = await open(url);
    const payload = tenKilobytesOfJson();
    const before = bytesRead(ws);
    const got = messages(ws, 2);
    ws.send(payload);
    ws.send(payload); // a second message: no context carried over, the same result
    assert.deepEqual(await got, [payload, payload]);
    const wire = bytesRead(ws) - before;
    assert.ok(wire < payload.length / 2, `${wire} bytes on the wire for 2 × ${payload.length}`);
    ws.close();
  });

  it('sets RSV1 on messages at the threshold and above, and sends smaller ones plain', async () => {
    const small = 'x'.repeat(100);
    const large = 'y'.repeat(2000);
    const app: Application = async (_scope, receive, send) => {
      await receive();
      await send({ type: 'websocket.accept' });
      await send({ type: 'websocket.send', text: small });
      await send({ type: 'websocket.send', text: large });
      await send({ type: 'websocket.send', bytes: Buffer.from(large) });
      await send({ type: 'websocket.send', text: small });
      await receive(); // the disconnect
    };
    const { port } = await serve(app, { websocketCompression: { threshold: 1024 } });
    const { sock, response } = rawHandshake(port, '/', 'Sec-WebSocket-Extensions: permessage-deflate\r\n');
    let bytes = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => (bytes = Buffer.concat([bytes, d])));
    const head = await response;
    assert.match(head, /^HTTP\/1\.1 101 /);
    assert.match(head, /sec-websocket-extensions: permessage-deflate/i);
    // The frames after the head: first byte FIN|RSV1|opcode, second the (unmasked) length.
    const frames: { rsv1: boolean; opcode: number; length: number }[] = [];
    await within(
      (async () => {
        for (;;) {
          frames.length = 0;
          let at = bytes.indexOf('\r\n\r\n') + 4;
          while (at + 2 <= bytes.length) {
            let len = bytes[at + 1]! & 0x7f;
            let hdr = 2;
            if (len === 126) {
              if (at + 4 > bytes.length) break;
              len = bytes.readUInt16BE(at + 2);
              hdr = 4;
            }
            if (at + hdr + len > bytes.length) break;
            frames.push({ rsv1: (bytes[at]! & 0x40) !== 0, opcode: bytes[at]! & 0x0f, length: len });
            at += hdr + len;
          }
          if (frames.length === 4) return;
          await new Promise((r) => setTimeout(r, 10));
        }
      })(),
      3000,
      'four frames',
    );
    assert.deepEqual(
      frames.map((f) => [f.rsv1, f.opcode]),
      [
        [false, 1],
        [true, 1],
        [true, 2],
        [false, 1],
      ],
    );
    assert.equal(frames[0]!.length, 100);
    assert.ok(frames[1]!.length < 100, `2000 repeated bytes compress to ${frames[1]!.length}`);
    sock.destroy();
  });

  it('compresses everything at threshold 0, and nothing for a client that did not offer it', async () => {
    const { url } = await serve(echo(), { websocketCompression: { threshold: 0 } });
    const { ws } = await open(url);
    const before = bytesRead(ws);
    const got = messages(ws, 1);
    ws.send('z'.repeat(120));
    assert.deepEqual(await got, ['z'.repeat(120)]);
    assert.ok(bytesRead(ws) - before < 120, 'a 120-byte message compressed');
    ws.close();

    const plain = await open(url, false);
    assert.equal(plain.ws.extensions, '');
    const before2 = bytesRead(plain.ws);
    const got2 = messages(plain.ws, 1);
    plain.ws.send('z'.repeat(120));
    assert.deepEqual(await got2, ['z'.repeat(120)]);
    assert.equal(bytesRead(plain.ws) - before2, 122);
    plain.ws.close();
  });

  it('a group broadcast reaches compressing and plain sockets intact and in order', async () => {
    const members: Send[] = [];
    const big = tenKilobytesOfJson();
    const bin = randomBytes(3000);
    const steps: WebsocketSendEvent[] = [
      { type: 'websocket.send', text: 'first' },
      { type: 'websocket.send', text: big },
      { type: 'websocket.send', bytes: bin },
      { type: 'websocket.send', text: 'last ✓' },
    ];
    const app: Application = async (_scope, receive, send) => {
      for (;;) {
        const e = await receive();
        if (e.type === 'websocket.connect') {
          members.push(send);
          await send({ type: 'websocket.accept' });
        } else if (e.type === 'websocket.receive') {
          // member-major for each step, as a group delivery is, with the same event objects
          for (let round = 0; round < 3; round++) for (const step of steps) for (const m of members) void m(step);
        } else if (e.type === 'websocket.disconnect') {
          members.splice(members.indexOf(send), 1);
          return;
        }
      }
    };
    const { url } = await serve(app, { websocketCompression: true });
    const clients = await Promise.all(Array.from({ length: 6 }, (_, i) => open(url, i % 2 === 0)));
    assert.deepEqual(
      clients.map((c) => c.ws.extensions),
      ['permessage-deflate', '', 'permessage-deflate', '', 'permessage-deflate', ''],
    );
    const all = clients.map((c) => messages(c.ws, 12));
    clients[1]!.ws.send('go');
    const expected = [0, 1, 2].flatMap(() => ['first', big, bin, 'last ✓']);
    for (const got of await Promise.all(all)) {
      assert.equal(got.length, 12);
      for (let i = 0; i < 12; i++) {
        if (Buffer.isBuffer(expected[i])) assert.ok(bin.equals(got[i] as Buffer));
        else assert.equal(got[i], expected[i]);
      }
    }
    for (const c of clients) c.ws.close();
  });

  it('checks its settings', () => {
    assert.equal(resolveServerOptions({}).websocketCompression, false);
    assert.deepEqual(resolveServerOptions({ websocketCompression: true }).websocketCompression, {
      threshold: 1024,
      level: 1,
      memLevel: 8,
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
    });
    assert.equal(resolveServerOptions({ websocketCompression: { level: 6 } }).websocketCompression && 6, 6);
    const bad: [unknown, RegExp][] = [
      ['yes', /must be false, true or \{ threshold/],
      [{ level: 10 }, /websocketCompression\.level' must be a whole number from 0 to 9, not 10/],
      [{ memLevel: 0 }, /memLevel' must be a whole number from 1 to 9, not 0/],
      [{ threshold: -1 }, /threshold' must be a whole number from 0 up, not -1/],
      [{ serverNoContextTakeover: 'no' }, /serverNoContextTakeover' must be true or false/],
      [{ windowBits: 9 }, /unknown option 'websocketCompression\.windowBits'/],
    ];
    for (const [value, message] of bad) {
      assert.throws(
        () => resolveServerOptions({ websocketCompression: value as never }),
        (err: Error) => err instanceof InvalidOptionError && message.test(err.message),
        String(JSON.stringify(value)),
      );
    }
  });

  it('canal serve --ws-per-message-deflate negotiates it; without the flag it is off', async () => {
    const app = `${join(FIXTURES, 'hello-app.ts')}:hello`;
    for (const [flags, want] of [
      [['--ws-per-message-deflate'], 'permessage-deflate'],
      [[], ''],
    ] as const) {
      const cli = await serveCli([app, '--port', '0', ...flags]);
      try {
        const { ws, extensionsHeader } = await open(cli.url.replace('http', 'ws') + '/');
        assert.equal(ws.extensions, want);
        assert.equal(extensionsHeader === undefined, want === '');
        ws.close();
      } finally {
        await stop(cli);
      }
    }
  });
});
