// Regression: the server passed requestTimeout: 0 to node:http, which turned node's headers
// timeout off as well: a client sending its request head one byte at a time held a connection
// (and its file descriptor) for ever, and nothing bounded how many such connections one client
// could open. Now the head must arrive within headersTimeoutMs (408, then closed) and
// connections past maxConnections are closed at once, with one warning line while it lasts.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { createServer, type CanalServer } from '../../src/server/server.ts';
import { getLogLevel, setLogLevel, setLogSink } from '../../src/logging.ts';
import type { Application, ServerOptions } from '../../src/index.ts';

const servers: CanalServer[] = [];
const sockets: Socket[] = [];
after(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => s.close()));
});

const hello: Application = async (scope, _receive, send) => {
  if (scope.type !== 'http') return;
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
  await send({ type: 'http.response.body', body: 'hello' });
};

async function serve(options: ServerOptions): Promise<{ port: number; server: CanalServer }> {
  const server = createServer(hello, { port: 0, drainTimeoutMs: 200, ...options });
  servers.push(server);
  const { port } = await server.listen();
  return { port, server };
}

interface Client {
  socket: Socket;
  received: () => string;
  closed: Promise<void>;
}

function open(port: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('data', (d) => chunks.push(d));
    socket.once('connect', () => {
      socket.on('error', () => {});
      resolve({ socket, received: () => Buffer.concat(chunks).toString('latin1'), closed });
    });
    socket.once('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer!: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

describe('slow request heads and connection floods', () => {
  it('a client sending its head one byte at a time is answered 408 and cut after headersTimeoutMs', async () => {
    const { port } = await serve({ headersTimeoutMs: 300 });
    const client = await open(port);
    const head = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ' + 'a'.repeat(200);
    let cut = false;
    void client.closed.then(() => (cut = true));
    const started = Date.now();
    // One byte every 20 ms: 4 s of head if nobody stops it.
    for (let i = 0; i < head.length && !cut; i++) {
      client.socket.write(head[i]!);
      await sleep(20);
    }
    await within(client.closed, 1000, 'the connection closing');
    const took = Date.now() - started;
    assert.ok(took >= 250 && took < 1500, `cut after ${took} ms (headersTimeoutMs 300)`);
    assert.match(client.received(), /^HTTP\/1\.1 408 /);
  });

  it('a connection that sends nothing at all is closed after headersTimeoutMs as well', async () => {
    const { port } = await serve({ headersTimeoutMs: 300 });
    const client = await open(port);
    await within(client.closed, 1500, 'the silent connection closing');
  });

  it('the headers timeout leaves alone a body that streams for longer, and an idle keep-alive connection', async () => {
    const echo: Application = async (scope, receive, send) => {
      if (scope.type !== 'http') return;
      let size = 0;
      for (;;) {
        const e = await receive();
        if (e.type !== 'http.request') return;
        size += e.body.length;
        if (!e.more_body) break;
      }
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: `got ${size}` });
    };
    const server = createServer(echo, { port: 0, headersTimeoutMs: 200, drainTimeoutMs: 200 });
    servers.push(server);
    const { port } = await server.listen();
    const client = await open(port);
    client.socket.write('POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n');
    for (let i = 0; i < 8; i++) {
      await sleep(100); // 800 ms of body, four headers timeouts
      client.socket.write('1\r\nx\r\n');
    }
    client.socket.write('0\r\n\r\n');
    const deadline = Date.now() + 2000;
    while (!client.received().includes('got 8')) {
      if (client.socket.destroyed || Date.now() > deadline) {
        throw new Error(`no answer to the slow body: ${JSON.stringify(client.received())}`);
      }
      await sleep(10);
    }
    await sleep(500); // idle between requests, under keepAliveTimeoutMs
    client.socket.write('POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab');
    await within(client.closed, 2000, 'the second answer');
    const answers = client.received().match(/^HTTP\/1\.1 \d{3}/gm);
    assert.deepEqual(answers, ['HTTP/1.1 200', 'HTTP/1.1 200'], client.received());
    assert.ok(client.received().includes('got 2'), client.received());
  });

  it('past maxConnections new connections are closed at once, logged once; served again once some close', async () => {
    const lines: string[] = [];
    const prevSink = setLogSink((l) => lines.push(l));
    const prevLevel = getLogLevel();
    setLogLevel('info');
    try {
      const { port, server } = await serve({ maxConnections: 3 });
      const held = [await open(port), await open(port), await open(port)];
      for (const c of held) c.socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n'); // heads not finished
      const refused: Client[] = [];
      for (let i = 0; i < 5; i++) refused.push(await open(port));
      await within(Promise.all(refused.map((c) => c.closed)), 2000, 'the connections past the limit closing');
      for (const c of refused) assert.equal(c.received(), '', 'a refused connection gets no answer');
      for (const c of held) assert.equal(c.socket.destroyed, false, 'the connections within the limit stay open');
      const warnings = lines.filter((l) => /WARN .*maxConnections/.test(l));
      assert.equal(warnings.length, 1, `one line for five refused connections:\n${lines.join('\n')}`);
      assert.match(warnings[0]!, /3 are open/);
      assert.equal(server.stats().rejected, 5);

      for (const c of held) c.socket.destroy();
      await within(Promise.all(held.map((c) => c.closed)), 1000, 'the held connections closing');
      const deadline = Date.now() + 2000;
      while ((await new Promise<number>((r, j) => server.httpServer.getConnections((e, n) => (e ? j(e) : r(n))))) > 0) {
        if (Date.now() > deadline) throw new Error('the server still counts the closed connections');
        await sleep(10);
      }
      const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'hello');
    } finally {
      setLogSink(prevSink);
      setLogLevel(prevLevel);
    }
  });
});
