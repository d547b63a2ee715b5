// Regression: AllowedHostsMiddleware and OriginValidator wrote the decoded request path into
// their log lines as it was, so `%0A` in a URL ended the line and whatever followed it stood in
// the log as a line of its own (a made-up ERROR, a made-up timestamp). Every log line now holds
// what a client sent escaped: one request, one line, its newline written `\n`.
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { createServer, type CanalServer } from '../../src/server/server.ts';
import { AllowedHostsMiddleware, OriginValidator } from '../../src/middleware/index.ts';
import { createLogger, getLogLevel, setLogLevel, setLogRepeatWindow, setLogSink } from '../../src/logging.ts';
import type { Application } from '../../src/index.ts';
import { rawRequest } from '../integration/raw-request.ts';
import { hello } from '../fixtures/hello-app.ts';

const FORGED = '2026-01-01T00:00:00.000Z ERROR [server] fake';
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARN|ERROR) \[/;

let lines: string[] = [];
let restore: () => void = () => {};
let server: CanalServer | null = null;
beforeEach(() => {
  lines = [];
  const prevSink = setLogSink((l) => lines.push(...l.split('\n')));
  const prevLevel = getLogLevel();
  setLogLevel('debug');
  const prevWindow = setLogRepeatWindow(5000); // each test's first refusal is written, not counted
  restore = () => {
    setLogSink(prevSink);
    setLogLevel(prevLevel);
    setLogRepeatWindow(prevWindow);
  };
});
afterEach(async () => {
  await server?.close();
  server = null;
  restore();
});

async function serve(app: Application): Promise<number> {
  const withoutLifespan: Application = async (scope, receive, send) =>
    scope.type === 'lifespan' ? undefined : app(scope, receive, send);
  server = createServer(withoutLifespan, { port: 0, drainTimeoutMs: 200 });
  return (await server.listen()).port;
}

/** The log lines that mention `marker`; each must be a whole entry of its own. */
function mentioning(marker: string): string[] {
  for (const line of lines) assert.match(line, TIMESTAMP, `every line is an entry of its own:\n${lines.join('\n')}`);
  return lines.filter((l) => l.includes(marker));
}

describe('log lines hold what a client sent escaped', () => {
  it('a %0A in the path of a refused Host gives one line with \\n in it', async () => {
    const port = await serve(AllowedHostsMiddleware(hello, ['127.0.0.1']));
    const path = `/a%0A${encodeURIComponent(FORGED)}`;
    const response = await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n`);
    assert.match(response, /^HTTP\/1\.1 400 /);
    const found = mentioning('fake');
    assert.equal(found.length, 1, lines.join('\n'));
    assert.ok(found[0]!.includes('/a\\n2026-01-01T00:00:00.000Z ERROR [server] fake'), found[0]);
  });

  it('a Host with a C1 control (NEL) is written escaped', async () => {
    const port = await serve(AllowedHostsMiddleware(hello, ['127.0.0.1']));
    const head = Buffer.from('GET / HTTP/1.1\r\nHost: evil\x85fake\r\nConnection: close\r\n\r\n', 'latin1');
    assert.match(await rawRequest(port, head), /^HTTP\/1\.1 400 /);
    const found = mentioning('fake');
    assert.equal(found.length, 1, lines.join('\n'));
    assert.ok(found[0]!.includes('"evil\\x85fake"'), found[0]);
  });

  it('a %0D%0A in the path of a WebSocket from a refused origin gives one line', async () => {
    const port = await serve(OriginValidator(hello, ['example.com']));
    const url = `ws://127.0.0.1:${port}/ws%0D%0A${encodeURIComponent(FORGED)}`;
    const ws = new WebSocket(url, { origin: 'http://evil.example' });
    const status = await new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no answer to the handshake within 2 s')), 2000);
      ws.once('unexpected-response', (_req, res) => {
        clearTimeout(t);
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.once('error', () => {});
    });
    assert.equal(status, 403);
    const found = mentioning('fake');
    const escaped = '/ws\\r\\n2026-01-01T00:00:00.000Z ERROR [server] fake';
    assert.ok(found.length >= 1 && found.every((l) => l.includes(escaped)), lines.join('\n'));
  });

  it('an error whose message holds a newline keeps its message on one line; the stack is indented', () => {
    const log = createLogger('test');
    log.error('failed', new Error(`bad path /x\n${FORGED}`));
    const [first, ...rest] = lines;
    assert.ok(first!.includes('Error: bad path /x\\n2026-01-01T00:00:00.000Z ERROR [server] fake'), first);
    assert.ok(rest.length > 0 && rest.every((l) => /^\s/.test(l)), `stack lines indented:\n${rest.join('\n')}`);
  });
});
