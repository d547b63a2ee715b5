import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Application, ChannelScope, LifespanScope, Receive, Scope, Send } from '../../src/asgi/types.ts';
import { ASGI_VERSION } from '../../src/asgi/types.ts';
import { InvalidOptionError, NoRouteError, UnknownScopeTypeError } from '../../src/errors.ts';
import { ChannelNameRouter, ProtocolTypeRouter, URLRouter, path } from '../../src/routing/index.ts';
import { ApplicationCommunicator } from '../../src/testing/application-communicator.ts';
import { HttpCommunicator } from '../../src/testing/http-communicator.ts';
import { WebsocketCommunicator } from '../../src/testing/websocket-communicator.ts';

const httpApp: Application = async (_scope, receive, send) => {
  await receive();
  await send({ type: 'http.response.start', status: 200 });
  await send({ type: 'http.response.body', body: Buffer.from('http branch') });
};
const wsApp: Application = async (_scope, receive, send) => {
  await receive();
  await send({ type: 'websocket.accept', subprotocol: 'picked' });
  await receive();
};
const noReceive: Receive = async () => ({ type: 'lifespan.startup' });
const noSend: Send = async () => {};
const channelScope = (channel: string): ChannelScope => ({ type: 'channel', asgi: ASGI_VERSION, channel });
const lifespanScope: LifespanScope = { type: 'lifespan', asgi: ASGI_VERSION, state: {} };

test('ProtocolTypeRouter sends each scope type to its own app', async () => {
  const app = ProtocolTypeRouter({ http: httpApp, websocket: URLRouter([path('ws/', wsApp)]) });
  const r = await new HttpCommunicator(app, 'GET', '/').getResponse(500);
  assert.equal(r.text(), 'http branch');
  const c = new WebsocketCommunicator(app, '/ws/');
  assert.deepEqual((await c.connect(500)).subprotocol, 'picked');
  await c.disconnect();
});

test('ProtocolTypeRouter without a lifespan entry returns at once, so the server runs without lifespan', async () => {
  const app = ProtocolTypeRouter({ http: httpApp });
  const c = new ApplicationCommunicator(app, lifespanScope);
  await c.wait(200);
  assert.equal(await c.receiveNothing(10), true);
});

test('ProtocolTypeRouter passes lifespan to its lifespan app when there is one', async () => {
  const lifespan: Application = async (_s, receive, send) => {
    await receive();
    await send({ type: 'lifespan.startup.complete' });
  };
  const c = new ApplicationCommunicator(ProtocolTypeRouter({ lifespan }), lifespanScope);
  await c.sendInput({ type: 'lifespan.startup' });
  assert.deepEqual(await c.receiveOutput(500), { type: 'lifespan.startup.complete' });
});

test(
  'ProtocolTypeRouter with no entry for a connection scope raises a coded error ' +
    'naming the type and what it routes',
  async () => {
    const app = ProtocolTypeRouter({ http: httpApp, lifespan: httpApp });
    const c = new WebsocketCommunicator(app, '/');
    await assert.rejects(
      c.connect(500),
      (e: unknown) =>
        e instanceof UnknownScopeTypeError &&
        e.code === 'ERR_UNKNOWN_SCOPE_TYPE' &&
        /'websocket'/.test(e.message) &&
        /http, lifespan/.test(e.message),
    );
  },
);

test('ProtocolTypeRouter checks its table at construction and works with new', async () => {
  assert.throws(
    () => ProtocolTypeRouter({ websockets: wsApp } as never),
    (e: unknown) => e instanceof InvalidOptionError && /'websockets'/.test(e.message),
  );
  assert.throws(
    () => ProtocolTypeRouter({ http: 'app' } as never),
    (e: unknown) => e instanceof InvalidOptionError && /'http'/.test(e.message),
  );
  assert.throws(() => ProtocolTypeRouter(null as never), InvalidOptionError);
  const Ctor = ProtocolTypeRouter as unknown as new (r: object) => Application;
  const app = new Ctor({ http: httpApp });
  assert.equal((await new HttpCommunicator(app, 'GET', '/').getResponse(500)).status, 200);
});

test('ChannelNameRouter routes channel scopes by scope.channel', async () => {
  const seen: string[] = [];
  const worker =
    (label: string): Application =>
    async (scope) => {
      seen.push(`${label}:${(scope as ChannelScope).channel}`);
    };
  const app = ProtocolTypeRouter({ channel: ChannelNameRouter({ thumbnails: worker('t'), 'mail.out': worker('m') }) });
  await app(channelScope('thumbnails'), noReceive, noSend);
  await app(channelScope('mail.out'), noReceive, noSend);
  assert.deepEqual(seen, ['t:thumbnails', 'm:mail.out']);
});

test('ChannelNameRouter: an unknown channel raises NoRouteError naming it and the known ones', async () => {
  const app = ChannelNameRouter({ thumbnails: async () => {} });
  await assert.rejects(
    app(channelScope('resize'), noReceive, noSend),
    (e: unknown) =>
      e instanceof NoRouteError &&
      e.code === 'ERR_NO_ROUTE' &&
      /'resize'/.test(e.message) &&
      /thumbnails/.test(e.message),
  );
  const wrong = { type: 'lifespan', asgi: ASGI_VERSION, state: {} } as Scope;
  await assert.rejects(app(wrong, noReceive, noSend), UnknownScopeTypeError);
  assert.throws(
    () => ChannelNameRouter({ x: 1 } as never),
    (e: unknown) => e instanceof InvalidOptionError && /'x'/.test(e.message),
  );
  const Ctor = ChannelNameRouter as unknown as new (r: object) => Application;
  assert.equal(typeof new Ctor({}), 'function');
});
