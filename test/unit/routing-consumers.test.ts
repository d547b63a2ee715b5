// Routers with real consumers, driven by the communicators: what an app built the Channels way sees.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { DenyConnection } from '../../src/errors.ts';
import { JsonWebsocketConsumer } from '../../src/consumers/json-websocket-consumer.ts';
import { HttpConsumer } from '../../src/consumers/http-consumer.ts';
import { resetChannelLayers } from '../../src/layers/registry.ts';
import { ProtocolTypeRouter, URLRouter, path } from '../../src/routing/index.ts';
import { HttpCommunicator } from '../../src/testing/http-communicator.ts';
import { WebsocketCommunicator } from '../../src/testing/websocket-communicator.ts';

after(async () => {
  await resetChannelLayers();
});

class RoomConsumer extends JsonWebsocketConsumer {
  static override channelLayerAlias = null;
  override async connect(): Promise<void> {
    const { room, org } = this.scope.url_route.kwargs;
    if (room === 'private') throw new DenyConnection();
    await this.accept();
    await this.sendJson({ joined: room, org });
  }
  override async receiveJson(content: { say: string }): Promise<void> {
    await this.sendJson({ echo: content.say });
  }
}

class ItemView extends HttpConsumer {
  static override channelLayerAlias = null;
  override async handle(): Promise<void> {
    await this.sendResponse(200, JSON.stringify(this.scope.url_route), [['content-type', 'application/json']]);
  }
}

const application = ProtocolTypeRouter({
  http: URLRouter([path('items/<int:id>/', ItemView.asApp())]),
  websocket: URLRouter([path('ws/<slug:org>/', URLRouter([path('rooms/<str:room>/', RoomConsumer.asApp())]))]),
});

test('a consumer behind nested routers sees the merged url_route and talks JSON', async () => {
  const c = new WebsocketCommunicator(application, '/ws/acme/rooms/lobby/');
  assert.equal((await c.connect()).connected, true);
  assert.deepEqual(await c.receiveJsonFrom(), { joined: 'lobby', org: 'acme' });
  await c.sendJsonTo({ say: 'hi' });
  assert.deepEqual(await c.receiveJsonFrom(), { echo: 'hi' });
  await c.disconnect();
});

test('a consumer that raises DenyConnection gives connected: false', async () => {
  const c = new WebsocketCommunicator(application, '/ws/acme/rooms/private/');
  const r = await c.connect();
  assert.equal(r.connected, false);
  assert.equal(typeof r.closeCode, 'number');
});

test('an HTTP consumer behind URLRouter gets int kwargs; other paths get 404', async () => {
  const r = await new HttpCommunicator(application, 'GET', '/items/12/').getResponse();
  assert.equal(r.status, 200);
  assert.deepEqual(r.json(), { args: [], kwargs: { id: 12 } });
  assert.equal((await new HttpCommunicator(application, 'GET', '/items/x/').getResponse()).status, 404);
});
