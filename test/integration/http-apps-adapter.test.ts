// nodeHttpApp on its own: what the handler sees on req/res, how its output becomes events,
// backpressure both ways, disconnects, errors. Driven in-process through a small driver that
// controls receive() and send(); the last tests use the real server.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IncomingMessage, ServerResponse } from 'node:http';
import { nodeHttpApp, type NodeHttpHandler } from '../../src/adapters/node-http-app.ts';
import { httpScope } from '../../src/testing/scope-builder.ts';
import { websocketScope } from '../../src/testing/scope-builder.ts';
import { createServer, type CanalServer } from '../../src/server/server.ts';
import { setLogSink, setLogLevel, getLogLevel } from '../../src/logging.ts';
import { InvalidOptionError, UnknownScopeTypeError } from '../../src/errors.ts';
import type { Application, HttpReceiveEvent, HttpScope, SendEvent } from '../../src/asgi/types.ts';
import { HttpCommunicator } from '../../src/testing/http-communicator.ts';
import type { TestScopeOptions } from '../../src/testing/scope-builder.ts';

const TIMEOUT_MS = 2000;

function within<T>(promise: Promise<T>, what: string, ms = TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const tick = () => new Promise((r) => setTimeout(r, 20));

/** Runs an app on one HTTP scope with full control of what receive() gives and send() takes. */
function drive(handler: NodeHttpHandler, scope: HttpScope, options?: { highWaterMark?: number }) {
  const inbox: HttpReceiveEvent[] = [];
  let waiter: ((e: HttpReceiveEvent) => void) | null = null;
  const outputs: SendEvent[] = [];
  let outputWaiter: (() => void) | null = null;
  let sendGate: Promise<void> | null = null;
  const state = { receives: 0 };
  const receive = () => {
    state.receives++;
    const next = inbox.shift();
    if (next) return Promise.resolve(next);
    return new Promise<HttpReceiveEvent>((r) => (waiter = r));
  };
  const send = async (event: SendEvent) => {
    outputs.push(event);
    outputWaiter?.();
    if (sendGate) await sendGate;
  };
  const app = nodeHttpApp(handler, options);
  const done = app(scope, receive as never, send);
  done.catch(() => {}); // inspected by the tests that expect a rejection
  return {
    state,
    outputs,
    done,
    input(event: HttpReceiveEvent) {
      if (waiter) {
        const w = waiter;
        waiter = null;
        w(event);
      } else inbox.push(event);
    },
    body(text: string | Buffer, more = false) {
      this.input({ type: 'http.request', body: Buffer.from(text), more_body: more });
    },
    holdSends(): () => void {
      let open!: () => void;
      sendGate = new Promise((r) => (open = r));
      return () => {
        sendGate = null;
        open();
      };
    },
    async output(index: number): Promise<SendEvent> {
      while (outputs.length <= index) await within(new Promise<void>((r) => (outputWaiter = r)), `output #${index}`);
      return outputs[index]!;
    },
    async response(): Promise<{ status: number; headers: [string, string][]; body: string; chunks: string[] }> {
      await within(done, 'the app to return');
      const start = outputs[0];
      assert.equal(start?.type, 'http.response.start');
      const headers = [...((start as { headers: Iterable<[unknown, unknown]> }).headers ?? [])].map(
        ([k, v]) => [String(k), String(v)] as [string, string],
      );
      const chunks = outputs.slice(1).map((e) => Buffer.from((e as { body?: Uint8Array }).body ?? '').toString());
      assert.equal(
        (outputs.at(-1) as { more_body?: boolean }).more_body ?? false,
        false,
        'the last event ends the body',
      );
      return { status: (start as { status: number }).status, headers, body: chunks.join(''), chunks };
    },
  };
}

function scope(method: string, target: string, options: TestScopeOptions = {}): HttpScope {
  return httpScope(method, target, options);
}

function captureLogs(): { lines: string[]; restore: () => void } {
  const lines: string[] = [];
  const level = getLogLevel();
  const prev = setLogSink((line) => lines.push(line));
  setLogLevel('error');
  return {
    lines,
    restore: () => {
      setLogSink(prev);
      setLogLevel(level);
    },
  };
}

describe('nodeHttpApp: what the handler sees', () => {
  it('gives a real IncomingMessage built from the scope', async () => {
    let seen: Record<string, unknown> = {};
    const d = drive(
      (req, res) => {
        seen = {
          isIncoming: req instanceof IncomingMessage,
          isResponse: res instanceof ServerResponse,
          method: req.method,
          url: req.url,
          httpVersion: req.httpVersion,
          rawHeaders: req.rawHeaders,
          headers: { ...req.headers },
          remoteAddress: req.socket.remoteAddress,
          remotePort: req.socket.remotePort,
          localPort: req.socket.localPort,
          encrypted: (req.socket as { encrypted?: boolean }).encrypted,
        };
        res.end();
      },
      scope('GET', '/api/items/a%20b?x=1&x=2', {
        rootPath: '/api',
        client: ['10.1.2.3', 4567],
        headers: [
          ['Host', 'example.test'],
          ['X-Tag', 'one'],
          ['x-tag', 'two'],
          ['cookie', 'a=1'],
          ['cookie', 'b=2'],
          ['host', 'ignored.test'],
        ],
        scope: { scheme: 'https' },
      }),
    );
    d.body('');
    await d.response();
    assert.deepEqual(seen, {
      isIncoming: true,
      isResponse: true,
      method: 'GET',
      url: '/items/a%20b?x=1&x=2',
      httpVersion: '1.1',
      rawHeaders: [
        'host',
        'example.test',
        'x-tag',
        'one',
        'x-tag',
        'two',
        'cookie',
        'a=1',
        'cookie',
        'b=2',
        'host',
        'ignored.test',
      ],
      headers: { host: 'example.test', 'x-tag': 'one, two', cookie: 'a=1; b=2' },
      remoteAddress: '10.1.2.3',
      remotePort: 4567,
      localPort: 8000,
      encrypted: true,
    });
  });

  it('streams the request body in as it arrives, and ends it on the last chunk', async () => {
    const got: string[] = [];
    let ended = false;
    const d = drive(
      (req, res) => {
        req.on('data', (chunk: Buffer) => got.push(chunk.toString()));
        req.on('end', () => {
          ended = true;
          res.end(`${got.length} chunks`);
        });
      },
      scope('POST', '/up'),
    );
    d.body('one', true);
    await within(
      (async () => {
        while (got.length < 1) await tick();
      })(),
      'the first chunk',
    );
    assert.deepEqual(got, ['one']);
    assert.equal(ended, false);
    d.body('two', true);
    d.body('', true);
    d.body('three');
    const res = await d.response();
    assert.deepEqual(got, ['one', 'two', 'three']);
    assert.equal(res.body, '3 chunks');
  });

  it('pulls the body only as fast as the handler reads it', async () => {
    let request!: IncomingMessage;
    const d = drive(
      (req, res) => {
        request = req;
        req.pause();
        req.on('end', () => res.end('done'));
      },
      scope('POST', '/slow'),
    );
    const chunk = Buffer.alloc(32 * 1024, 1);
    for (let i = 0; i < 40; i++) d.input({ type: 'http.request', body: chunk, more_body: i < 39 });
    await tick();
    await tick();
    const pulledWhilePaused = d.state.receives;
    assert.ok(pulledWhilePaused <= 3, `took ${pulledWhilePaused} of 40 chunks while the handler was not reading`);
    let bytes = 0;
    request.on('data', (c: Buffer) => (bytes += c.length));
    request.resume();
    await d.response();
    assert.equal(bytes, 40 * 32 * 1024);
  });
});

describe('nodeHttpApp: the response as events', () => {
  it('keeps status, repeated headers and the chunks as written', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let finished = false;
    let closed = false;
    const d = drive(
      async (_req, res) => {
        res.on('finish', () => (finished = true));
        res.on('close', () => (closed = true));
        res.setHeader('x-one', '1');
        res.writeHead(201, 'Made', [
          ['set-cookie', 'a=1'],
          ['set-cookie', 'b=2'],
          ['content-type', 'text/plain'],
        ]);
        assert.equal(res.headersSent, true);
        assert.throws(() => res.setHeader('x-late', '1'), { code: 'ERR_HTTP_HEADERS_SENT' });
        res.write('first,');
        await gate;
        res.write(Buffer.from('second,'));
        res.end('last');
      },
      scope('GET', '/made'),
    );
    d.body('');
    // The first chunk goes out while the handler is still waiting.
    const first = await d.output(1);
    assert.deepEqual(first, { type: 'http.response.body', body: Buffer.from('first,'), more_body: true });
    release();
    const res = await d.response();
    assert.equal(res.status, 201);
    assert.deepEqual(res.headers, [
      ['x-one', '1'],
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
      ['content-type', 'text/plain'],
    ]);
    assert.deepEqual(res.chunks, ['first,', 'second,', 'last']);
    await tick();
    assert.equal(finished, true);
    assert.equal(closed, true);
  });

  it('adds a content-length when the whole body is given to end(), and drops bodies of HEAD', async () => {
    const d = drive((_req, res) => res.end('hello'), scope('GET', '/'));
    d.body('');
    const got = await d.response();
    assert.deepEqual(got.headers, [['content-length', '5']]);
    assert.equal(got.body, 'hello');

    const h = drive(
      (_req, res) => {
        res.setHeader('content-length', '5');
        res.end('hello');
      },
      scope('HEAD', '/'),
    );
    h.body('');
    const head = await h.response();
    assert.deepEqual(head.headers, [['content-length', '5']]);
    assert.equal(head.body, '');
  });

  it('sends trailers announced with a Trailer header when the server offers them', async () => {
    const handler: NodeHttpHandler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
      res.write('body');
      res.addTrailers({ 'X-Checksum': 'abc123' });
      res.end();
    };
    const res = await new HttpCommunicator(nodeHttpApp(handler), 'GET', '/t').getResponse(TIMEOUT_MS);
    assert.equal(res.text(), 'body');
    assert.deepEqual(
      res.trailers.map(([k, v]) => [k.toString(), v.toString()]),
      [['x-checksum', 'abc123']],
    );

    // Without the extension in the scope the body simply ends.
    const d = drive(handler, scope('GET', '/t', { scope: { extensions: {} } }));
    d.body('');
    const plain = await d.response();
    assert.equal(plain.body, 'body');
    assert.equal(
      d.outputs.some((e) => e.type === 'http.response.trailers'),
      false,
    );
  });

  it('applies backpressure: write() returns false past highWaterMark and drain follows', async () => {
    const results: boolean[] = [];
    let drained = false;
    let response!: ServerResponse;
    const d = drive(
      (_req, res) => {
        response = res;
        res.on('drain', () => {
          drained = true;
          res.end();
        });
        for (let i = 0; i < 4; i++) results.push(res.write(Buffer.alloc(400)));
      },
      scope('GET', '/big'),
      { highWaterMark: 1000 },
    );
    const open = d.holdSends();
    d.body('');
    await d.output(0);
    await tick();
    assert.deepEqual(results, [true, true, false, false]);
    assert.equal(response.writableNeedDrain, true);
    assert.equal(drained, false);
    open();
    const res = await d.response();
    assert.equal(drained, true);
    assert.equal(res.body.length, 1600);
  });
});

describe('nodeHttpApp inside middleware', () => {
  it("shows a header a middleware adds to http.response.start in an Express route's response", async () => {
    const { default: express } = await import('express');
    const web = express();
    web.get('/page', (_req, res) => {
      res.cookie('framework', 'yes').send('page');
    });
    const inner = nodeHttpApp(web);
    // The shape of a session middleware: wraps send and adds its cookie to the response start.
    const withCookie: Application = async (scope, receive, send) =>
      inner(scope, receive, async (event) => {
        if (event.type === 'http.response.start') {
          event = { ...event, headers: [...(event.headers ?? []), ['set-cookie', 'sessionid=abc; Path=/; HttpOnly']] };
        }
        await send(event);
      });
    const res = await new HttpCommunicator(withCookie, 'GET', '/page').getResponse(TIMEOUT_MS);
    assert.equal(res.status, 200);
    assert.equal(res.text(), 'page');
    const cookies = res.headers
      .filter(([k]) => k.toString() === 'set-cookie')
      .map(([, v]) => v.toString().split(';')[0]);
    assert.deepEqual(cookies, ['framework=yes', 'sessionid=abc']);
  });
});

describe('nodeHttpApp: disconnects', () => {
  it('aborts the request when the client leaves mid-body, and returns', async () => {
    const events: string[] = [];
    const d = drive(
      (req, res) => {
        req.on('aborted', () => events.push('req aborted'));
        req.on('close', () => events.push('req close'));
        res.on('close', () => events.push('res close'));
        req.on('data', () => {});
      },
      scope('POST', '/upload'),
    );
    d.body('part', true);
    d.input({ type: 'http.disconnect' });
    await within(d.done, 'the app to return after the disconnect');
    await tick();
    assert.deepEqual(events.sort(), ['req aborted', 'req close', 'res close']);
  });

  it('closes the response when the client leaves while the handler waits', async () => {
    let closed = false;
    const d = drive(
      (_req, res) => {
        res.on('close', () => (closed = true));
        res.write('partial'); // then never ends: a long poll
      },
      scope('GET', '/poll'),
    );
    d.body('');
    await d.output(1);
    d.input({ type: 'http.disconnect' });
    await within(d.done, 'the app to return after the disconnect');
    assert.equal(closed, true);
  });
});

describe('nodeHttpApp: errors', () => {
  it('answers 500 when the handler throws before responding, logged once with the path', async () => {
    const logs = captureLogs();
    try {
      const d = drive(
        () => {
          throw new Error('sync failure');
        },
        scope('GET', '/explode'),
      );
      d.body('');
      const res = await d.response();
      assert.equal(res.status, 500);
      assert.equal(res.body, 'Internal Server Error\n');
      const mine = logs.lines.filter((l) => l.includes('/explode'));
      assert.equal(mine.length, 1, logs.lines.join('\n'));
      assert.match(mine[0]!, /GET \/explode.*sync failure/s);
    } finally {
      logs.restore();
    }
  });

  it("answers 500 when an async handler's promise rejects, or an 'error' is emitted on res", async () => {
    const logs = captureLogs();
    try {
      const a = drive(
        async () => {
          await tick();
          throw new Error('async failure');
        },
        scope('GET', '/async'),
      );
      a.body('');
      assert.equal((await a.response()).status, 500);

      const b = drive(
        (_req, res) => {
          setImmediate(() => res.emit('error', new Error('emitted failure')));
        },
        scope('GET', '/emitted'),
      );
      b.body('');
      assert.equal((await b.response()).status, 500);
      assert.equal(logs.lines.length, 2, logs.lines.join('\n'));
    } finally {
      logs.restore();
    }
  });

  it('cuts the response (the app raises) when the handler fails after it started', async () => {
    const d = drive(
      (_req, res) => {
        res.write('half');
        setImmediate(() => res.destroy(new Error('gave up')));
      },
      scope('GET', '/half'),
    );
    d.body('');
    await assert.rejects(within(d.done, 'the app to raise'), /gave up/);
    assert.equal(d.outputs.at(-1)?.type, 'http.response.body');
    assert.equal((d.outputs.at(-1) as { more_body?: boolean }).more_body, true, 'the body was never ended');
  });

  it('refuses scopes other than http, naming the type', async () => {
    const app = nodeHttpApp((_req, res) => res.end());
    await assert.rejects(
      app(
        websocketScope('/ws'),
        async () => ({ type: 'websocket.connect' }),
        async () => {},
      ),
      (err: unknown) =>
        err instanceof UnknownScopeTypeError &&
        err.code === 'ERR_UNKNOWN_SCOPE_TYPE' &&
        /'websocket'/.test(err.message),
    );
  });

  it('checks its arguments when it is made', () => {
    assert.throws(() => nodeHttpApp('nope' as never), InvalidOptionError);
    assert.throws(() => nodeHttpApp(() => {}, { bufferSize: 1 } as never), /no option 'bufferSize'/);
    assert.throws(() => nodeHttpApp(() => {}, { highWaterMark: 0 }), /highWaterMark must be a whole number/);
  });
});

describe('nodeHttpApp on the real server', () => {
  let server: CanalServer;
  let base = '';
  after(async () => {
    await server?.close();
  });

  it('survives a throwing handler and a cut response, and keeps serving', async () => {
    const logs = captureLogs();
    try {
      const app = nodeHttpApp((req, res) => {
        if (req.url === '/throw') throw new Error('thrown');
        if (req.url === '/cut') {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('partial');
          setTimeout(() => res.destroy(new Error('cut short')), 20);
          return;
        }
        res.end('fine');
      });
      server = createServer(
        async (scope, receive, send) => (scope.type === 'lifespan' ? undefined : app(scope, receive, send)),
        {
          host: '127.0.0.1',
          port: 0,
        },
      );
      const { port } = await server.listen();
      base = `http://127.0.0.1:${port}`;
      const get = (p: string) => fetch(base + p, { signal: AbortSignal.timeout(5000) });

      const thrown = await get('/throw');
      assert.equal(thrown.status, 500);
      assert.equal(await thrown.text(), 'Internal Server Error\n');

      const cut = await get('/cut');
      assert.equal(cut.status, 200);
      await assert.rejects(cut.text(), 'a cut response must not look complete to the client');

      const fine = await get('/ok');
      assert.equal(await fine.text(), 'fine');
      assert.equal(logs.lines.filter((l) => l.includes('/throw')).length, 1, logs.lines.join('\n'));
      assert.equal(logs.lines.filter((l) => l.includes('/cut')).length, 1, logs.lines.join('\n'));
    } finally {
      logs.restore();
    }
  });
});
