import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Application, Scope } from '../../src/asgi/types.ts';
import { InvalidOptionError, UnknownScopeTypeError } from '../../src/errors.ts';
import { getLogLevel, setLogLevel, setLogRepeatWindow, setLogSink } from '../../src/logging.ts';
import { URLRouter, path, rePath, registerConverter } from '../../src/routing/index.ts';
import { HttpCommunicator } from '../../src/testing/http-communicator.ts';
import { WebsocketCommunicator } from '../../src/testing/websocket-communicator.ts';

/** An HTTP app that answers with the route it saw, as JSON. */
function reporter(label: string): Application {
  return async (scope, receive, send) => {
    await receive();
    const body = Buffer.from(
      JSON.stringify({
        label,
        url_route: scope.url_route,
        path_remaining: (scope as unknown as Record<string, unknown>).path_remaining ?? null,
      }),
    );
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/json']] });
    await send({ type: 'http.response.body', body });
  };
}

type Seen = {
  label: string;
  url_route: { args: unknown[]; kwargs: Record<string, unknown> };
  path_remaining: string | null;
};

async function get(
  app: Application,
  target: string,
  options: { rootPath?: string } = {},
): Promise<{ status: number; seen?: Seen; text: string }> {
  const r = await new HttpCommunicator(app, 'GET', target, options).getResponse(500);
  return { status: r.status, text: r.text(), ...(r.status === 200 ? { seen: r.json() as Seen } : {}) };
}

test('each built-in converter matches its own shape and converts the value', async () => {
  const app = URLRouter([
    path('int/<int:n>/', reporter('int')),
    path('uuid/<uuid:id>/', reporter('uuid')),
    path('slug/<slug:s>/', reporter('slug')),
    path('str/<str:s>/', reporter('str')),
    path('plain/<s>/', reporter('plain')),
    path('files/<path:p>', reporter('path')),
  ]);
  assert.deepEqual((await get(app, '/int/42/')).seen?.url_route, { args: [], kwargs: { n: 42 } });
  assert.equal(typeof (await get(app, '/int/007/')).seen?.url_route.kwargs.n, 'number');
  assert.equal((await get(app, '/int/4x/')).status, 404);
  assert.equal((await get(app, '/int/-1/')).status, 404);
  assert.equal(
    (await get(app, '/int/99999999999999999999/')).status,
    404,
    'an int beyond 2^53 is no match, not a rounded id',
  );
  const id = '6F1C2B5A-0D3E-4B7A-9C1D-2E3F4A5B6C7D';
  assert.deepEqual((await get(app, `/uuid/${id}/`)).seen?.url_route.kwargs, { id: id.toLowerCase() });
  assert.equal((await get(app, '/uuid/not-a-uuid/')).status, 404);
  assert.deepEqual((await get(app, '/slug/my-post_2/')).seen?.url_route.kwargs, { s: 'my-post_2' });
  assert.equal((await get(app, '/slug/caf%C3%A9/')).status, 404);
  assert.deepEqual(
    (await get(app, '/str/caf%C3%A9%20x/')).seen?.url_route.kwargs,
    { s: 'café x' },
    'matches the decoded path',
  );
  assert.equal((await get(app, '/str/a/b/')).status, 404, 'str stops at /');
  assert.deepEqual((await get(app, '/plain/x/')).seen?.url_route.kwargs, { s: 'x' });
  assert.deepEqual((await get(app, '/files/a/b/c.txt')).seen?.url_route.kwargs, { p: 'a/b/c.txt' });
});

test('a path() route must match the whole path; the first matching route wins', async () => {
  const app = URLRouter([
    path('a/', reporter('a')),
    path('a/<str:x>/', reporter('ax')),
    path('a/<str:y>/', reporter('ay')),
  ]);
  assert.equal((await get(app, '/a/')).seen?.label, 'a');
  assert.equal((await get(app, '/a/b/')).seen?.label, 'ax');
  assert.equal((await get(app, '/a/b/c/')).status, 404);
  assert.equal((await get(app, '/a')).status, 404);
});

test('a pattern written with a leading slash matches too', async () => {
  const app = URLRouter([path('/ws/chat/<room>/', reporter('p')), rePath('^/re/(?<n>\\d+)/$', reporter('r'))]);
  assert.deepEqual((await get(app, '/ws/chat/lobby/')).seen?.url_route.kwargs, { room: 'lobby' });
  assert.deepEqual((await get(app, '/re/12/')).seen?.url_route.kwargs, { n: '12' });
});

test('rePath: named groups become kwargs; unnamed groups become args when there are no named ones', async () => {
  const app = URLRouter([
    rePath(/^named\/(?<year>[0-9]{4})\/(?<slug>[\w-]+)\/$/, reporter('named')),
    rePath('^pos/([0-9]+)/([a-z]+)/$', reporter('pos')),
    rePath('^opt/(?<a>x)?(?<b>y)?/$', reporter('opt')),
  ]);
  assert.deepEqual((await get(app, '/named/2024/hello-world/')).seen?.url_route, {
    args: [],
    kwargs: { year: '2024', slug: 'hello-world' },
  });
  assert.deepEqual((await get(app, '/pos/7/abc/')).seen?.url_route, { args: ['7', 'abc'], kwargs: {} });
  assert.deepEqual(
    (await get(app, '/opt/y/')).seen?.url_route.kwargs,
    { b: 'y' },
    'groups that did not take part are left out',
  );
  assert.equal((await get(app, '/pos/7/abc/extra')).status, 404, 'a non-nested rePath must match the whole path');
});

test('nested routers match a prefix, pass the rest on, and merge captures from every level', async () => {
  const rooms = URLRouter([
    path('<int:room>/messages/<uuid:msg>/', reporter('msg')),
    path('<int:room>/', reporter('room')),
  ]);
  const app = URLRouter([
    path('org/<slug:org>/rooms/', rooms),
    rePath('^legacy/(?<org>[a-z]+)/', URLRouter([rePath('^r(?<room>\\d+)/$', reporter('legacy'))])),
    path('deep/<str:a>/', URLRouter([path('<str:b>/', URLRouter([path('<str:c>/', reporter('deep'))]))])),
  ]);
  const id = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
  const msg = await get(app, `/org/acme/rooms/5/messages/${id}/`);
  assert.equal(msg.seen?.label, 'msg');
  assert.deepEqual(msg.seen?.url_route.kwargs, { org: 'acme', room: 5, msg: id });
  assert.equal(msg.seen?.path_remaining, null, 'the leaf app does not see the private remaining-path key');
  assert.deepEqual((await get(app, '/org/acme/rooms/5/')).seen?.url_route.kwargs, { org: 'acme', room: 5 });
  assert.deepEqual((await get(app, '/legacy/acme/r12/')).seen?.url_route.kwargs, { org: 'acme', room: '12' });
  assert.deepEqual((await get(app, '/deep/1/2/3/')).seen?.url_route.kwargs, { a: '1', b: '2', c: '3' });
  const miss = await get(app, '/org/acme/rooms/nope/');
  assert.equal(miss.status, 404);
  assert.match(miss.text, /\/org\/acme\/rooms\/nope\//, 'the 404 names the full path');
});

test('captures already in scope.url_route (from an outer router) are kept and extended', async () => {
  const app = URLRouter([rePath('^p/([0-9]+)/$', reporter('x'))]);
  const seen: Seen[] = [];
  const outer: Application = async (scope, receive, send) => {
    return app({ ...scope, url_route: { args: ['outer'], kwargs: { tenant: 't1' } } } as Scope, receive, async (e) => {
      if (e.type === 'http.response.body') seen.push(JSON.parse(Buffer.from(e.body as Buffer).toString()));
      await send(e);
    });
  };
  await new HttpCommunicator(outer, 'GET', '/p/3/').getResponse(500);
  assert.deepEqual(seen[0]?.url_route, { args: ['outer', '3'], kwargs: { tenant: 't1' } });
});

test('root_path is removed before matching', async () => {
  const app = URLRouter([path('chat/<room>/', reporter('chat'))]);
  assert.deepEqual((await get(app, '/prefix/chat/lobby/', { rootPath: '/prefix' })).seen?.url_route.kwargs, {
    room: 'lobby',
  });
  assert.equal(
    (await get(app, '/prefixchat/lobby/', { rootPath: '/prefix' })).status,
    404,
    'root_path only strips at a segment boundary',
  );
  assert.deepEqual((await get(app, '/chat/lobby/')).seen?.url_route.kwargs, { room: 'lobby' });
});

test('the target gets a copy of the scope; the incoming scope is never changed', async () => {
  let inner: Scope | undefined;
  const capture: Application = async (scope, receive, send) => {
    inner = scope;
    await reporter('c')(scope, receive, send);
  };
  const app = URLRouter([path('a/', URLRouter([path('<int:n>/', capture)]))]);
  const c = new HttpCommunicator(app, 'GET', '/a/1/');
  // Route the communicator's own scope object, then compare it with how it started.
  const original = c.scope;
  const snapshot = JSON.stringify(original);
  await c.getResponse(500);
  assert.equal(JSON.stringify(original), snapshot);
  assert.equal('url_route' in original, false);
  assert.notEqual(inner, original);
  assert.deepEqual(inner?.url_route, { args: [], kwargs: { n: 1 } });
});

test('no route: HTTP gets a 404 naming the path, and an info line is logged', async () => {
  const lines: string[] = [];
  const prev = setLogSink((line) => lines.push(line));
  const level = getLogLevel();
  const window = setLogRepeatWindow(5000); // the first line of its kind, not counted with an earlier one
  setLogLevel('info');
  try {
    const app = URLRouter([path('known/', reporter('k'))]);
    const r = await new HttpCommunicator(app, 'GET', '/unknown/place/').getResponse(500);
    assert.equal(r.status, 404);
    assert.equal(r.header('content-type'), 'text/plain; charset=utf-8');
    assert.equal(r.text(), 'Not Found: /unknown/place/\n');
    assert.equal(r.header('content-length'), String(r.body.length));
  } finally {
    setLogSink(prev);
    setLogLevel(level);
    setLogRepeatWindow(window);
  }
  assert.ok(
    lines.some((l) => l.includes('INFO') && l.includes('/unknown/place/')),
    lines.join('\n'),
  );
});

test('no route: a WebSocket handshake is refused with a close before accept, and an info line is logged', async () => {
  const lines: string[] = [];
  const prev = setLogSink((line) => lines.push(line));
  const level = getLogLevel();
  const window = setLogRepeatWindow(5000);
  setLogLevel('info');
  try {
    const app = URLRouter([path('ws/known/', reporter('k'))]);
    const c = new WebsocketCommunicator(app, '/ws/missing/');
    const r = await c.connect(500);
    assert.equal(r.connected, false);
    assert.equal(r.closeCode, 1000);
    await c.wait(500);
  } finally {
    setLogSink(prev);
    setLogLevel(level);
    setLogRepeatWindow(window);
  }
  const logged = lines.some((l) => l.includes('INFO') && l.includes('websocket') && l.includes('/ws/missing/'));
  assert.ok(logged, lines.join('\n'));
});

test('websocket scopes are routed the same way, with url_route for the consumer', async () => {
  const ws: Application = async (scope, receive, send) => {
    await receive();
    await send({ type: 'websocket.accept' });
    await send({ type: 'websocket.send', text: JSON.stringify(scope.url_route) });
    await receive();
  };
  const app = URLRouter([path('ws/chat/<str:room>/', ws)]);
  const c = new WebsocketCommunicator(app, '/ws/chat/lobby/?x=1');
  assert.equal((await c.connect(500)).connected, true);
  assert.deepEqual(await c.receiveJsonFrom(500), { args: [], kwargs: { room: 'lobby' } });
  await c.disconnect();
});

test('custom converters: registerConverter adds one; a toJs that throws means no match', async () => {
  registerConverter('year4', {
    regex: '([0-9]{4})',
    toJs: (v) => {
      const n = Number(v);
      if (n < 1900) throw new RangeError('too old');
      return n;
    },
    toUrl: (v) => String(v).padStart(4, '0'),
  });
  const app = URLRouter([path('archive/<year4:year>/<slug:s>/', reporter('archive'))]);
  assert.deepEqual(
    (await get(app, '/archive/2024/post/')).seen?.url_route.kwargs,
    { year: 2024, s: 'post' },
    'groups inside a converter regex do not shift captures',
  );
  assert.equal((await get(app, '/archive/1800/post/')).status, 404);
  assert.throws(() => registerConverter('bad name', { regex: 'x', toJs: (v) => v }), InvalidOptionError);
  assert.throws(() => registerConverter('broken', { regex: '(', toJs: (v) => v }), InvalidOptionError);
});

test('bad routes fail at construction with InvalidOptionError naming the problem', () => {
  assert.throws(
    () => path('x/<nope:y>/', reporter('x')),
    (e: unknown) => e instanceof InvalidOptionError && /unknown converter 'nope'/.test(e.message),
  );
  assert.throws(() => path('x/', undefined as unknown as Application), InvalidOptionError);
  assert.throws(() => path('<a>/<a>/', reporter('x')), /twice/);
  assert.throws(() => rePath('(', reporter('x')), InvalidOptionError);
  assert.throws(() => URLRouter('nope' as never), InvalidOptionError);
  assert.throws(() => URLRouter([{}] as never), /entry 0/);
});

test('URLRouter works with and without new, and refuses scope types it cannot route', async () => {
  const Ctor = URLRouter as unknown as new (routes: unknown[]) => Application;
  const app = new Ctor([path('a/', reporter('a'))]);
  assert.equal((await get(app, '/a/')).seen?.label, 'a');
  await assert.rejects(
    app(
      { type: 'channel', asgi: { version: '3.0', spec_version: '2.4' }, channel: 'x' },
      async () => ({ type: 'lifespan.startup' }),
      async () => {},
    ),
    UnknownScopeTypeError,
  );
});
