// permessage-deflate with headless Chromium: the browser offers it, a server with
// websocketCompression on accepts it, and a large message and a small one echo intact.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type CanalServer } from '../../src/server/server.ts';
import type { Application } from '../../src/asgi/types.ts';
import { browserFixture, STEP_MS } from './browser.ts';

const PAGE = `<!doctype html>
<meta charset="utf-8"><title>deflate</title><link rel="icon" href="data:,">
<script type="module">
  const ws = new WebSocket(\`ws://\${location.host}/ws/\`);
  const big = JSON.stringify({ rows: Array.from({ length: 300 }, (_, i) => ({ id: i, text: 'hello, room ✓' })) });
  const got = [];
  ws.onopen = () => {
    ws.send(big);
    ws.send('small');
  };
  ws.onmessage = (e) => {
    got.push(e.data);
    if (got.length === 2) {
      document.body.dataset.extensions = ws.extensions;
      document.body.dataset.ok = String(got[0] === big && got[1] === 'small');
      document.body.dataset.size = String(big.length);
    }
  };
</script>`;

let headerSeen: string | undefined;

const app: Application = async (scope, receive, send) => {
  if (scope.type === 'http') {
    const body = Buffer.from(PAGE);
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/html; charset=utf-8']] });
    await send({ type: 'http.response.body', body });
    return;
  }
  if (scope.type !== 'websocket') return;
  headerSeen = scope.headers.find(([k]) => k.toString() === 'sec-websocket-extensions')?.[1].toString();
  for (;;) {
    const e = await receive();
    if (e.type === 'websocket.connect') await send({ type: 'websocket.accept' });
    else if (e.type === 'websocket.receive' && e.text !== undefined)
      await send({ type: 'websocket.send', text: e.text });
    else if (e.type === 'websocket.disconnect') return;
  }
};

const browser = browserFixture();
let server: CanalServer;
let base = '';

before(async () => {
  server = createServer(app, { port: 0, host: '127.0.0.1', websocketCompression: true });
  base = `http://127.0.0.1:${(await server.listen()).port}`;
});

after(async () => {
  await server?.close();
});

describe('WebSocket compression in Chromium', () => {
  it('negotiates permessage-deflate and round-trips a large and a small message', async () => {
    const context = await browser.context();
    const tab = await context.newPage();
    await tab.goto(`${base}/`);
    await tab.waitForSelector('body[data-ok]', { state: 'attached', timeout: STEP_MS });
    const body = tab.locator('body');
    assert.equal(await body.getAttribute('data-ok'), 'true');
    assert.ok(Number(await body.getAttribute('data-size')) > 5000);
    assert.match(headerSeen ?? '', /permessage-deflate/, 'Chromium offered it');
    assert.match((await body.getAttribute('data-extensions')) ?? '', /^permessage-deflate/);
  });
});
