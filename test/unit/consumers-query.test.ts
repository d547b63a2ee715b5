// The query string helpers: this.query on HTTP and WebSocket consumers, and queryParams(scope).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ASGI_VERSION } from '../../src/asgi/types.ts';
import { HttpConsumer } from '../../src/consumers/http-consumer.ts';
import { WebsocketConsumer } from '../../src/consumers/websocket-consumer.ts';
import { queryParams } from '../../src/request/query-params.ts';
import { HttpCommunicator } from '../../src/testing/http-communicator.ts';
import { httpScope } from '../../src/testing/scope-builder.ts';
import { WebsocketCommunicator } from '../../src/testing/websocket-communicator.ts';

test('this.query reads the query string of an HTTP request and of a WebSocket handshake', async () => {
  class Search extends HttpConsumer {
    static override channelLayerAlias = null;
    override async handle(): Promise<void> {
      const q = this.query;
      await this.sendResponse(200, JSON.stringify({ q: q.get('q'), tags: q.getAll('tag'), none: q.get('none') }));
    }
  }
  class Token extends WebsocketConsumer {
    static override channelLayerAlias = null;
    override async connect(): Promise<void> {
      await this.accept();
      await this.send(this.query.get('token') ?? '(none)');
    }
  }
  // Percent-escapes and '+' decoded as UTF-8, repeats kept in order; raw UTF-8 bytes read as UTF-8.
  const r = await new HttpCommunicator(Search.asApp(), 'GET', '/s?q=caf%C3%A9+au+lait&tag=a&tag=b').getResponse();
  assert.deepEqual(r.json(), { q: 'café au lait', tags: ['a', 'b'], none: null });
  const raw = httpScope('GET', '/s');
  raw.query_string = Buffer.from('q=crème', 'utf8');
  assert.equal(queryParams(raw).get('q'), 'crème');
  assert.equal(queryParams(httpScope('GET', '/s')).toString(), '', 'no query string: empty');

  const ws = new WebsocketCommunicator(Token.asApp(), '/ws/', { query: { token: 'a b&c' } });
  assert.equal((await ws.connect()).connected, true);
  assert.equal(await ws.receiveFrom(), 'a b&c');
  await ws.disconnect();
});

test('queryParams gives an empty result for scopes without a query string', () => {
  assert.equal(queryParams({ type: 'channel', asgi: ASGI_VERSION, channel: 'jobs' }).toString(), '');
  assert.equal(queryParams({ type: 'lifespan', asgi: ASGI_VERSION, state: {} }).size, 0);
});
