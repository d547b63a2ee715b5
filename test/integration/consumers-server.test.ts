// Consumers behind the real interface server, on real sockets: a group chat between two
// WebSocket clients, a refused handshake, malformed JSON, SSE over HTTP, and a long-poll whose
// client goes away.
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import WebSocket from 'ws';
import { createServer, type CanalServer } from '../../src/server/server.ts';
import { DenyConnection } from '../../src/errors.ts';
import { HttpConsumer, JsonWebsocketConsumer, WebsocketConsumer, type Frame } from '../../src/consumers/index.ts';
import { resetChannelLayers } from '../../src/layers/registry.ts';
import type { Application } from '../../src/asgi/types.ts';
import { until, useWatchedLayer } from '../unit/consumers-helpers.ts';

const servers: CanalServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});
afterEach(() => resetChannelLayers());

type ChatMessage = { type: 'chat.message'; text: string };

class Chat extends WebsocketConsumer<ChatMessage> {
  static override groups = ['room'];
  override async receive(frame: Frame): Promise<void> {
    await this.channelLayer.groupSend('room', { type: 'chat.message', text: frame.text ?? '' });
  }
  async chat_message(event: ChatMessage): Promise<void> {
    await this.send({ text: event.text });
  }
}

class Private extends WebsocketConsumer {
  override async connect(): Promise<void> {
    throw new DenyConnection();
  }
}

class Api extends JsonWebsocketConsumer {
  override async receiveJson(content: unknown): Promise<void> {
    await this.sendJson({ ok: content });
  }
}

class Ticks extends HttpConsumer {
  override async handle(): Promise<void> {
    await this.channelLayer.groupAdd('ticks', this.channelName);
    await this.startEventStream();
    await this.sendEvent({ data: 'ready' });
  }
  async tick(event: { n: number }): Promise<void> {
    await this.sendEvent({ data: `tick ${event.n}` });
  }
  override async disconnect(): Promise<void> {
    disconnected.push('ticks');
    await this.channelLayer.groupDiscard('ticks', this.channelName);
  }
}
const disconnected: string[] = [];

const app: Application = async (scope, receive, send) => {
  if (scope.type === 'lifespan') return;
  if (scope.type === 'http') return Ticks.asApp()(scope, receive, send);
  if (scope.type !== 'websocket') return;
  if (scope.path === '/chat/') return Chat.asApp()(scope, receive, send);
  if (scope.path === '/api/') return Api.asApp()(scope, receive, send);
  return Private.asApp()(scope, receive, send);
};

async function serve(): Promise<number> {
  const server = createServer(app, { port: 0, host: '127.0.0.1' });
  servers.push(server);
  return (await server.listen()).port;
}

/** Opens a client and buffers its messages; every wait has a timeout. */
function client(port: number, path: string) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
  const inbox: string[] = [];
  ws.on('message', (data) => inbox.push(String(data)));
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  opened.catch(() => undefined); // a refused handshake is asserted elsewhere, not an unhandled rejection
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  return {
    ws,
    opened,
    closed,
    async next(timeoutMs = 2000): Promise<string> {
      await until(() => inbox.length > 0, timeoutMs);
      return inbox.shift()!;
    },
  };
}

function within<T>(p: Promise<T>, ms = 2000): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`no result within ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(t));
}

describe('consumers on the real server', () => {
  test('two WebSocket clients chat through a group', async () => {
    const layer = useWatchedLayer();
    const port = await serve();
    const a = client(port, '/chat/');
    const b = client(port, '/chat/');
    await within(Promise.all([a.opened, b.opened]));
    await until(() => layer.count('room') === 2);
    a.ws.send('hello from a');
    assert.equal(await a.next(), 'hello from a');
    assert.equal(await b.next(), 'hello from a');
    b.ws.close(1000);
    await within(b.closed);
    await until(() => layer.count('room') === 1);
    a.ws.close(1000);
    await within(a.closed);
    await until(() => layer.count('room') === 0);
  });

  test('DenyConnection answers the handshake with 403', async () => {
    const port = await serve();
    const c = client(port, '/private/');
    const status = await within(
      new Promise<number>((resolve) => c.ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))),
    );
    assert.equal(status, 403);
    c.ws.terminate();
  });

  test('malformed JSON closes the socket with 1007 and a reason; the server keeps serving', async () => {
    const port = await serve();
    const bad = client(port, '/api/');
    await within(bad.opened);
    bad.ws.send('{oops');
    const { code, reason } = await within(bad.closed);
    assert.equal(code, 1007);
    assert.match(reason, /^invalid JSON/);
    const good = client(port, '/api/');
    await within(good.opened);
    good.ws.send('[1,2]');
    assert.equal(await good.next(), '{"ok":[1,2]}');
    good.ws.close();
    await within(good.closed);
  });

  test('SSE over HTTP: events from group messages, and disconnect() when the client goes away', async () => {
    disconnected.length = 0;
    const layer = useWatchedLayer();
    const port = await serve();
    let body = '';
    const req = request({ host: '127.0.0.1', port, path: '/ticks' });
    const res = await within(
      new Promise<import('node:http').IncomingMessage>((resolve, reject) =>
        req.once('response', resolve).once('error', reject).end(),
      ),
    );
    assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
    res.on('data', (d) => (body += String(d)));
    res.on('error', () => undefined);
    await until(() => body.includes('data: ready\n\n'), 2000);
    await until(() => layer.count('ticks') === 1);
    await layer.groupSend('ticks', { type: 'tick', n: 1 });
    await until(() => body.includes('data: tick 1\n\n'), 2000);
    req.destroy();
    await until(() => disconnected.length === 1, 2000);
    assert.equal(layer.count('ticks'), 0);
  });
});
