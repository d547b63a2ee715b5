// Regression: what clients do wrong, or a layer outage, wrote one log line per request — a WARN
// for every 404 and refused Host or Origin, an ERROR with its stack for every WebSocket refused
// while the channel layer was unreachable and for every response cut at shutdown (its app
// raised ERR_SEND_AFTER_CLOSE) — so a scanner, an outage or a restart flooded the log. Client
// mistakes are now info lines, and each kind of line is written once, then counted.
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import WebSocket from 'ws';
import { createServer, type CanalServer } from '../../src/server/server.ts';
import { AllowedHostsMiddleware, OriginValidator } from '../../src/middleware/index.ts';
import { URLRouter, path } from '../../src/routing/index.ts';
import { WebsocketConsumer } from '../../src/consumers/index.ts';
import { configureChannelLayers, resetChannelLayers } from '../../src/layers/registry.ts';
import { getLogLevel, setLogLevel, setLogRepeatWindow, setLogSink } from '../../src/logging.ts';
import type { Application } from '../../src/index.ts';
import { rawRequest } from '../integration/raw-request.ts';
import { hello } from '../fixtures/hello-app.ts';

const WINDOW_MS = 400;
let lines: string[] = [];
let restore: () => void = () => {};
const servers: CanalServer[] = [];
beforeEach(() => {
  lines = [];
  const prevSink = setLogSink((l) => lines.push(l));
  const prevLevel = getLogLevel();
  const prevWindow = setLogRepeatWindow(WINDOW_MS);
  setLogLevel('info');
  restore = () => {
    setLogSink(prevSink);
    setLogLevel(prevLevel);
    setLogRepeatWindow(prevWindow);
  };
});
afterEach(() => restore());
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await resetChannelLayers();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function serve(app: Application, drainTimeoutMs = 200): Promise<{ port: number; server: CanalServer }> {
  const withoutLifespan: Application = async (scope, receive, send) =>
    scope.type === 'lifespan' ? undefined : app(scope, receive, send);
  const server = createServer(withoutLifespan, { port: 0, drainTimeoutMs });
  servers.push(server);
  return { port: (await server.listen()).port, server };
}

function refusedHandshake(url: string, origin?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, origin ? { origin } : {});
    const t = setTimeout(() => reject(new Error(`no answer to the handshake for ${url} within 5 s`)), 5000);
    ws.once('unexpected-response', (_req, res) => {
      clearTimeout(t);
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => reject(new Error(`the handshake for ${url} was accepted`)));
    ws.once('error', () => {});
  });
}

/** Lines at `level` that mention `pattern`. */
const linesLike = (level: string, pattern: RegExp) => lines.filter((l) => l.includes(` ${level} [`) && pattern.test(l));

/**
 * For one kind of line: how many lines it took, and how many events they tell of (each first
 * line one, each count line its count). Waits for the last window to close first.
 */
async function tally(level: string, first: RegExp, kind: string): Promise<{ lines: number; events: number }> {
  await sleep(WINDOW_MS + 200);
  const firsts = linesLike(level, first);
  const counts = linesLike(level, new RegExp(`${kind}: (\\d+) more in the last ${WINDOW_MS} ms`));
  const counted = counts.reduce((n, l) => n + Number(/: (\d+) more/.exec(l)![1]), 0);
  return { lines: firsts.length + counts.length, events: firsts.length + counted };
}

/** Lines a flood lasting `ms` may write for one kind: the first, then one per window. */
const bound = (ms: number) => 2 + Math.ceil(ms / WINDOW_MS);

describe('repeated client mistakes and outages write a bounded number of log lines', () => {
  it('40 refused Hosts and 40 paths with no route: info lines, each kind once and then counted', async () => {
    const router = URLRouter([path('ok/', hello)]);
    const { port } = await serve(AllowedHostsMiddleware(router, ['127.0.0.1']));
    const started = Date.now();
    const get = (path: string, host: string) =>
      rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    for (let i = 0; i < 40; i++) {
      assert.match(await get('/ok/', `evil${i}.example`), /^HTTP\/1\.1 400 /);
      assert.match(await get(`/nothing/${i}`, '127.0.0.1'), /^HTTP\/1\.1 404 /);
    }
    const took = Date.now() - started;
    assert.equal(linesLike('INFO', /refused GET "\/ok\/": Host "evil0\.example" is not allowed/).length, 1);
    assert.equal(linesLike('INFO', /no route for http "\/nothing\/0"/).length, 1, lines.join('\n'));
    const hosts = await tally('INFO', /refused GET "\/ok\/": Host "evil\d+/, 'requests refused for their Host');
    const routes = await tally('INFO', /no route for http "\/nothing\/\d+"/, 'HTTP requests with no route');
    assert.equal(hosts.events, 40, lines.join('\n'));
    assert.equal(routes.events, 40, lines.join('\n'));
    const all = `${lines.length} lines in ${took} ms:\n${lines.join('\n')}`;
    assert.ok(hosts.lines <= bound(took) && routes.lines <= bound(took), all);
    assert.equal(lines.length, hosts.lines + routes.lines, lines.join('\n'));
    assert.deepEqual(linesLike('WARN', /./), []);
  });

  it('10 WebSockets from a refused Origin: info lines, once and then counted', async () => {
    const { port } = await serve(OriginValidator(hello, ['example.com']));
    const started = Date.now();
    for (let i = 0; i < 10; i++) {
      assert.equal(await refusedHandshake(`ws://127.0.0.1:${port}/ws/`, 'http://evil.example'), 403);
    }
    const took = Date.now() - started;
    assert.equal(linesLike('INFO', /refused a WebSocket to "\/ws\/" from origin "http:\/\/evil\.example"/).length, 1);
    const origins = await tally('INFO', /refused a WebSocket to "\/ws\/"/, 'WebSockets refused for their Origin');
    assert.equal(origins.events, 10, lines.join('\n'));
    assert.ok(origins.lines <= bound(took), lines.join('\n'));
    assert.equal(lines.length, origins.lines);
  });

  it('8 WebSockets refused while the layer is unreachable: no ERROR, no stack; a warning, then counted', async () => {
    const options = { hosts: ['redis://127.0.0.1:1'], commandTimeoutMs: 100 };
    configureChannelLayers({ default: { backend: 'redis', options } });
    class Room extends WebsocketConsumer {
      static override groups = ['room'];
    }
    const { port } = await serve(Room.asApp());
    const started = Date.now();
    await Promise.all(Array.from({ length: 8 }, () => refusedHandshake(`ws://127.0.0.1:${port}/ws/`)));
    const took = Date.now() - started;
    const failed = await tally(
      'WARN',
      /WebSocket \/ws\/: the application failed, the channel layer is unreachable/,
      'applications that failed on an unreachable channel layer',
    );
    const leaving = await tally('WARN', /could not leave group room/, 'consumers that could not leave a group');
    assert.deepEqual(linesLike('ERROR', /./), [], lines.join('\n'));
    assert.ok(!lines.some((l) => l.includes('\n')), `no stack:\n${lines.join('\n')}`);
    assert.equal(failed.events, 8, lines.join('\n'));
    const all = `${lines.length} lines in ${took} ms:\n${lines.join('\n')}`;
    assert.ok(failed.lines <= bound(took) && leaving.lines <= bound(took), all);
  });

  it('6 streamed responses cut at shutdown: no ERROR; an info line, then counted', async () => {
    let streaming = 0;
    const stream: Application = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/octet-stream']] });
      streaming++;
      for (;;) {
        await send({ type: 'http.response.body', body: Buffer.alloc(16), more_body: true });
        await sleep(20);
      }
    };
    const { port, server } = await serve(stream, 100);
    const sockets = Array.from({ length: 6 }, () => {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => {});
      s.on('data', () => {});
      s.write('GET /download HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      return s;
    });
    const deadline = Date.now() + 3000;
    while (streaming < 6) {
      if (Date.now() > deadline) throw new Error(`only ${streaming} of 6 responses started`);
      await sleep(10);
    }
    await server.close();
    for (const s of sockets) s.destroy();
    assert.deepEqual(linesLike('ERROR', /./), [], lines.join('\n'));
    assert.equal(server.stats().appErrors, 0, 'a send that found the client gone is not an app error');
    const cut = await tally(
      'INFO',
      /GET \/download: the connection ended .* ERR_SEND_AFTER_CLOSE/,
      'applications that raised on a send after their connection ended',
    );
    assert.equal(cut.events, 6, lines.join('\n'));
    assert.ok(cut.lines <= 2, lines.join('\n'));
  });
});
