// canaljs/client in headless Chromium: a page with no bundler imports the module clientAsset
// serves, connects with a path relative to the page, and gets an echo and a reply.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type CanalServer } from '../../src/server/server.ts';
import { JsonWebsocketConsumer, withReplies } from '../../src/consumers/index.ts';
import { ProtocolTypeRouter, URLRouter, path } from '../../src/routing/index.ts';
import { clientAsset } from '../../src/static/client-asset.ts';
import type { Application } from '../../src/asgi/types.ts';
import { browserFixture, STEP_MS } from './browser.ts';

type Messages = { type: 'echo'; text: string } | { type: 'add'; a: number; b: number };

class Api extends withReplies(JsonWebsocketConsumer<Messages>) {
  static override channelLayerAlias = null;
  override async receiveJson(m: Messages): Promise<void> {
    if (m.type === 'echo') await this.sendJson(m);
    else await this.reply(m, { type: 'sum', n: m.a + m.b });
  }
}

const PAGE = `<!doctype html>
<meta charset="utf-8"><title>client</title><link rel="icon" href="data:,">
<script type="module">
  import { connect } from '/canal/client.js';
  const client = connect('/ws/api/');
  client.onEvent('open', () => (document.body.dataset.state = client.state));
  client.on('echo', (m) => (document.body.dataset.echo = m.text));
  client.send({ type: 'echo', text: 'hello from the page' });
  client.request({ type: 'add', a: 20, b: 22 }).then((r) => (document.body.dataset.sum = String(r.n)));
</script>`;

const page: Application = async (_scope, _receive, send) => {
  const body = Buffer.from(PAGE);
  await send({
    type: 'http.response.start',
    status: 200,
    headers: [
      ['content-type', 'text/html; charset=utf-8'],
      ['content-length', String(body.length)],
    ],
  });
  await send({ type: 'http.response.body', body });
};

const app = ProtocolTypeRouter({
  http: URLRouter([path('canal/client.js', clientAsset()), path('', page)]),
  websocket: URLRouter([path('ws/api/', Api.asApp())]),
});

const browser = browserFixture();
let server: CanalServer;
let base = '';

before(async () => {
  server = createServer(app, { port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(await server.listen()).port}`;
});

after(async () => {
  await server?.close();
});

describe('canaljs/client in Chromium', () => {
  it('loads the served module, echoes a message and gets a reply', async () => {
    const context = await browser.context();
    const tab = await context.newPage();
    await tab.goto(`${base}/`);
    await tab.waitForSelector('body[data-echo][data-sum]', { state: 'attached', timeout: STEP_MS });
    const body = tab.locator('body');
    const data = await Promise.all(['state', 'echo', 'sum'].map((key) => body.getAttribute(`data-${key}`)));
    assert.deepEqual(data, ['open', 'hello from the page', '42']);
  });
});
