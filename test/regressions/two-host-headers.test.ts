// Regression: AllowedHostsMiddleware read the last Host header while the scope's readers
// (requestHeader(), Node's req.headers in nodeHttpApp, so Express) took the first:
// `Host: evil.example` then `Host: 127.0.0.1` passed the check and the app saw evil.example.
// A request with more than one Host now gets 400 from the server before any app runs
// (RFC 9112 §3.2), HTTP and WebSocket handshakes alike, and the middleware refuses one too.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type CanalServer } from '../../src/server/server.ts';
import { AllowedHostsMiddleware } from '../../src/middleware/index.ts';
import { nodeHttpApp } from '../../src/adapters/node-http-app.ts';
import { requestHeader } from '../../src/request/request-header.ts';
import { HttpCommunicator } from '../../src/testing/index.ts';
import type { Application } from '../../src/index.ts';
import { rawRequest } from '../integration/raw-request.ts';

const servers: CanalServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

/** What the app saw: the Host of requestHeader() and the one Node's req.headers gave the handler. */
const seen: { scope: string | null; node: string | undefined; type: string }[] = [];
const express = nodeHttpApp((req, res) => {
  seen[seen.length - 1]!.node = req.headers.host;
  res.end(`host ${req.headers.host}`);
});
const inner: Application = async (scope, receive, send) => {
  if (scope.type === 'lifespan') return;
  if (scope.type === 'websocket') {
    seen.push({ scope: requestHeader(scope.headers, 'host'), node: undefined, type: 'websocket' });
    await receive();
    await send({ type: 'websocket.accept' });
    await send({ type: 'websocket.close' });
    return;
  }
  if (scope.type !== 'http') return;
  seen.push({ scope: requestHeader(scope.headers, 'host'), node: undefined, type: 'http' });
  await express(scope, receive, send);
};
const app: Application = async (scope, receive, send) =>
  scope.type === 'lifespan' ? undefined : AllowedHostsMiddleware(inner, ['127.0.0.1'])(scope, receive, send);

async function serve(): Promise<number> {
  const server = createServer(app, { port: 0, drainTimeoutMs: 200 });
  servers.push(server);
  return (await server.listen()).port;
}

const status = (response: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1]);

describe('a request with two Host headers', () => {
  it('gets 400 over HTTP before the app runs, whichever Host comes first', async () => {
    const port = await serve();
    seen.length = 0;
    for (const hosts of [
      ['evil.example', '127.0.0.1'],
      ['127.0.0.1', 'evil.example'],
      ['127.0.0.1', '127.0.0.1'],
    ]) {
      const head = `GET / HTTP/1.1\r\n${hosts.map((h) => `Host: ${h}\r\n`).join('')}\r\n`;
      const response = await rawRequest(port, head);
      assert.equal(status(response), 400, `${hosts.join(' + ')}:\n${response}`);
      assert.match(response, /connection: close/i);
    }
    assert.deepEqual(seen, [], 'the app never ran');

    // One Host: every reader sees the same one.
    const ok = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    assert.equal(status(ok), 200, ok);
    assert.match(ok, /host 127\.0\.0\.1$/);
    assert.deepEqual(seen, [{ scope: '127.0.0.1', node: '127.0.0.1', type: 'http' }]);
  });

  it('gets 400 on a WebSocket handshake before the app runs', async () => {
    const port = await serve();
    seen.length = 0;
    const handshake = (hosts: string[]) =>
      'GET /ws/ HTTP/1.1\r\n' +
      hosts.map((h) => `Host: ${h}\r\n`).join('') +
      'Upgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
    const refused = await rawRequest(port, handshake(['evil.example', '127.0.0.1']));
    assert.equal(status(refused), 400, refused);
    assert.deepEqual(seen, [], 'the app never ran');
    const accepted = await rawRequest(port, handshake(['127.0.0.1']), 500);
    assert.equal(status(accepted), 101, accepted);
    assert.deepEqual(seen, [{ scope: '127.0.0.1', node: undefined, type: 'websocket' }]);
  });

  it('is refused by AllowedHostsMiddleware as well, whatever server made the scope', async () => {
    seen.length = 0;
    for (const hosts of [
      ['evil.example', '127.0.0.1'],
      ['127.0.0.1', 'evil.example'],
    ]) {
      const headers = hosts.map((h) => ['host', h] as [string, string]);
      const response = await new HttpCommunicator(app, 'GET', '/', { headers }).getResponse();
      assert.equal(response.status, 400, hosts.join(' + '));
    }
    assert.deepEqual(seen, []);
  });
});
