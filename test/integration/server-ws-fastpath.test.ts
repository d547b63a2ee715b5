// The write fast paths on real sockets: group broadcasts (one shared event object delivered to
// every member, as a channel layer does) arrive complete and in order at every socket, text
// and binary, small and large, interleaved with per-socket frames.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import type { Application, Send, WebsocketSendEvent } from '../../src/index.ts';
import { echo, messages, opened, serve, within } from './server-ws-helpers.ts';

/**
 * Members join on connect. A text 'go:<n>' from any member makes the app send, in one turn, to
 * every member: the shared frames of `plan(n)`, each member's own frame where the plan says 'own'.
 */
function groupApp(plan: (n: number) => (WebsocketSendEvent | 'own')[]): Application {
  const members: { send: Send; id: number }[] = [];
  let nextId = 0;
  return async (_scope, receive, send) => {
    const me = { send, id: nextId++ };
    for (;;) {
      const e = await receive();
      if (e.type === 'websocket.connect') {
        members.push(me);
        await send({ type: 'websocket.accept' });
        await send({ type: 'websocket.send', text: `id:${me.id}` });
      } else if (e.type === 'websocket.receive' && e.text?.startsWith('go:')) {
        const steps = plan(Number(e.text.slice(3)));
        // member-major for each step, as a group delivery is: every member gets step k before step k+1
        for (const step of steps) {
          for (const m of members) {
            void m.send(step === 'own' ? { type: 'websocket.send', text: `own:${m.id}` } : step);
          }
        }
      } else if (e.type === 'websocket.disconnect') {
        members.splice(members.indexOf(me), 1);
        return;
      }
    }
  };
}

async function join(url: string, count: number): Promise<{ ws: WebSocket; id: number }[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const ws = new WebSocket(url + '/group/');
      const first = messages(ws, 1);
      await opened(ws);
      const [hello] = await first;
      return { ws, id: Number((hello as string).slice(3)) };
    }),
  );
}

describe('WebSocket fast paths: broadcasts and coalesced writes', () => {
  it('a broadcast reaches every socket intact, text and binary, small and large', async () => {
    const small = { type: 'websocket.send' as const, text: 'héllo, group ✓' };
    const bin = { type: 'websocket.send' as const, bytes: randomBytes(1000) };
    const large = { type: 'websocket.send' as const, bytes: randomBytes(200_000) };
    const largeText = { type: 'websocket.send' as const, text: 'ü'.repeat(40_000) };
    const { url } = await serve(groupApp(() => [small, bin, large, largeText]));
    const clients = await join(url, 40);
    const all = clients.map((c) => messages(c.ws, 4));
    clients[0]!.ws.send('go:0');
    for (const got of await within(Promise.all(all), 8000, 'broadcasts')) {
      assert.equal(got[0], small.text);
      assert.ok(Buffer.isBuffer(got[1]) && got[1].equals(bin.bytes), 'binary frame intact');
      assert.ok(Buffer.isBuffer(got[2]) && got[2].equals(large.bytes), 'large binary frame intact');
      assert.equal(got[3], largeText.text);
    }
    for (const c of clients) c.ws.close();
  });

  it('shared and per-socket frames interleaved in one turn keep their order at every socket', async () => {
    const a = { type: 'websocket.send' as const, text: 'shared A' };
    const b = { type: 'websocket.send' as const, bytes: Buffer.from('shared B') };
    const { url } = await serve(groupApp(() => [a, 'own', a, b, 'own', { type: 'websocket.send', text: 'shared A' }]));
    const clients = await join(url, 12);
    const all = clients.map((c) => messages(c.ws, 6));
    clients[5]!.ws.send('go:0');
    const got = await within(Promise.all(all), 5000, 'interleaved frames');
    clients.forEach((c, i) => {
      const own = `own:${c.id}`;
      assert.deepEqual(
        got[i]!.map((m) => (Buffer.isBuffer(m) ? `bytes:${m.toString()}` : m)),
        ['shared A', own, 'shared A', 'bytes:shared B', own, 'shared A'],
      );
    });
    for (const c of clients) c.ws.close();
  });

  it('hundreds of frames per socket in one turn arrive complete and in order', async () => {
    const steps = Array.from({ length: 300 }, (_, k) => ({ type: 'websocket.send' as const, text: `n${k}` }));
    const { url } = await serve(groupApp(() => steps));
    const clients = await join(url, 10);
    const all = clients.map((c) => messages(c.ws, 300));
    clients[0]!.ws.send('go:0');
    for (const got of await within(Promise.all(all), 8000, 'bursts')) {
      assert.deepEqual(
        got,
        steps.map((s) => s.text),
      );
    }
    for (const c of clients) c.ws.close();
  });

  it('echo with many frames in flight answers every frame, in order', async () => {
    const { url } = await serve(echo());
    const ws = new WebSocket(url + '/');
    await opened(ws);
    const want = Array.from({ length: 1000 }, (_, i) => (i % 3 === 0 ? Buffer.from(`b${i}`) : `t${i}`));
    const got = messages(ws, want.length);
    for (const m of want) ws.send(m);
    assert.deepEqual(
      (await got).map((m) => (Buffer.isBuffer(m) ? `B:${m}` : m)),
      want.map((m) => (Buffer.isBuffer(m) ? `B:${m}` : m)),
    );
    ws.close();
  });
});
