// releaseZlibBetweenMessages against the installed ws: without context takeover, a socket holds
// no zlib stream between messages, and messages both ways still arrive intact.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import {
  checkWebsocketCompression,
  perMessageDeflateFor,
  releaseZlibBetweenMessages,
} from '../../src/server/websocket-compression.ts';

type Ext = { _deflate: unknown; _inflate: unknown };
const extOf = (ws: WebSocket) =>
  (ws as unknown as { _extensions: Record<string, Ext> })._extensions['permessage-deflate']!;

describe('releaseZlibBetweenMessages', () => {
  for (const takeover of [false, true]) {
    const what = takeover ? 'keeps the zlib streams with' : 'closes the zlib streams without';
    it(`${what} context takeover`, async () => {
      const settings = checkWebsocketCompression({
        threshold: 0,
        serverNoContextTakeover: !takeover,
        clientNoContextTakeover: !takeover,
      });
      assert.ok(settings);
      const wss = new WebSocketServer({
        port: 0,
        host: '127.0.0.1',
        perMessageDeflate: perMessageDeflateFor(settings),
      });
      const serverSide = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
      await new Promise((r) => wss.once('listening', r));
      const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
      const server = await serverSide;
      releaseZlibBetweenMessages(server);
      server.on('message', (data, isBinary) => server.send(data, { binary: isBinary }));
      await new Promise((r) => client.once('open', r));
      const payload = JSON.stringify({ rows: Array.from({ length: 200 }, (_, i) => ({ i, text: 'hello' })) });
      const got: string[] = [];
      const all = new Promise<void>((resolve) => client.on('message', (d) => got.push(String(d)) === 3 && resolve()));
      for (let i = 0; i < 3; i++) client.send(payload);
      await all;
      assert.deepEqual(got, [payload, payload, payload]);
      const ext = extOf(server);
      assert.equal(ext._deflate === null, !takeover);
      assert.equal(ext._inflate === null, !takeover);
      client.close();
      await new Promise((r) => wss.close(r));
    });
  }
});
