// Shared pieces of the WebSocket server tests: a server on port 0, a timeout on every wait,
// and raw clients for what the `ws` client will not do.
import { after } from 'node:test';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { createServer, type CanalServer } from '../../src/server/server.ts';
import type { Application, ServerOptions, WebsocketScope } from '../../src/index.ts';

const servers: CanalServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

export async function serve(
  app: Application,
  options: ServerOptions = {},
): Promise<{ url: string; port: number; server: CanalServer }> {
  const server = createServer(
    async (scope, receive, send) => (scope.type === 'lifespan' ? undefined : app(scope, receive, send)),
    {
      port: 0,
      applicationCloseTimeoutMs: 1000,
      drainTimeoutMs: 500,
      ...options,
    },
  );
  servers.push(server);
  const { port } = await server.listen();
  return { url: `ws://127.0.0.1:${port}`, port, server };
}

export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, rej) => (t = setTimeout(() => rej(new Error(`${what}: nothing within ${ms} ms`)), ms))),
  ]);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(10);
  }
}

export function opened(ws: WebSocket): Promise<void> {
  return within(
    new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    }),
    3000,
    'open',
  );
}

export function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return within(
    new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }))),
    5000,
    'close',
  );
}

/** Collects `count` messages (text as strings, binary as Buffers). */
export function messages(ws: WebSocket, count: number, ms = 5000): Promise<(string | Buffer)[]> {
  const got: (string | Buffer)[] = [];
  return within(
    new Promise((resolve) => {
      const on = (data: Buffer, binary: boolean) => {
        got.push(binary ? data : data.toString());
        if (got.length === count) {
          ws.off('message', on);
          resolve(got);
        }
      };
      ws.on('message', on);
    }),
    ms,
    `${count} messages (got ${got.length})`,
  );
}

export function refusal(
  url: string,
  protocols?: string[],
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return within(
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols);
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
      });
      ws.on('open', () => reject(new Error('the handshake was accepted')));
      ws.on('error', () => {});
    }),
    3000,
    'refusal',
  );
}

/** A raw TCP client that sends a WebSocket handshake; `response` resolves with the first bytes back. */
export function rawHandshake(port: number, path = '/', extra = ''): { sock: Socket; response: Promise<string> } {
  const key = randomBytes(16).toString('base64');
  const sock = connect(port, '127.0.0.1', () =>
    sock.write(
      `GET ${path} HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
    ),
  );
  sock.on('error', () => {});
  const response = within(
    new Promise<string>((resolve) => sock.once('data', (d) => resolve(d.toString('latin1')))),
    3000,
    'handshake response',
  );
  response.catch(() => {}); // awaited by the tests that need it
  return { sock, response };
}

/** An echo app that records its scope and the disconnect it heard. */
export function echo(
  record: { scope?: WebsocketScope; disconnect?: { code: number; reason?: string } } = {},
): Application {
  return async (scope, receive, send) => {
    record.scope = scope as WebsocketScope;
    for (;;) {
      const e = await receive();
      if (e.type === 'websocket.connect') await send({ type: 'websocket.accept' });
      else if (e.type === 'websocket.receive')
        await send(
          e.text !== undefined ? { type: 'websocket.send', text: e.text } : { type: 'websocket.send', bytes: e.bytes },
        );
      else if (e.type === 'websocket.disconnect') {
        record.disconnect = { code: e.code, reason: e.reason };
        return;
      }
    }
  };
}
