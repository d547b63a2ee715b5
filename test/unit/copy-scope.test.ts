// copyScope and copyScopeWithRoute: a copy has the original's keys, in its order, with its
// values, plus what was added, and the original is left alone, whether the scope is laid out
// as the interface server builds it (copied by a literal) or any other way (Object.assign).
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { copyScope, copyScopeWithRoute, registerScopeLayout } from '../../src/asgi/copy-scope.ts';
import type { Scope } from '../../src/asgi/types.ts';
import type { ServerContext } from '../../src/server/context.ts';
import {
  buildHttpScope,
  buildWebsocketScope,
  HTTP_SCOPE_KEYS as HTTP_KEYS,
  WEBSOCKET_SCOPE_KEYS as WS_KEYS,
} from '../../src/server/scope.ts';

const req = {
  url: '/chat/lobby/?x=1',
  httpVersion: '1.1',
  method: 'GET',
  rawHeaders: ['Host', '127.0.0.1:8000', 'Sec-WebSocket-Protocol', 'chat'],
  headers: { 'sec-websocket-protocol': 'chat' },
  socket: { remoteAddress: '127.0.0.1', remotePort: 50000, localAddress: '127.0.0.1', localPort: 8000 },
} as unknown as IncomingMessage;
const ctx = (state: Record<string, unknown> | null) =>
  ({ options: { rootPath: '' }, lifespanState: state }) as unknown as ServerContext;

/** What a copy must equal: Object.assign's, keys in the same order. */
function expectCopy(copy: object, original: object, added: object): void {
  const want = Object.assign({}, original, added);
  assert.deepStrictEqual(copy, want);
  assert.deepStrictEqual(Object.keys(copy), Object.keys(want));
  assert.notEqual(copy, original);
}

describe('copyScope', () => {
  test('the server builds its scopes in the layouts the fast copies expect', () => {
    assert.deepEqual(Object.keys(buildHttpScope(req, ctx(null))), HTTP_KEYS);
    assert.deepEqual(Object.keys(buildWebsocketScope(req, ctx(null))), WS_KEYS);
    assert.deepEqual(Object.keys(buildHttpScope(req, ctx({ db: 1 }))), [...HTTP_KEYS, 'state']);
  });

  for (const [name, make] of [
    ['http', (state: Record<string, unknown> | null) => buildHttpScope(req, ctx(state))],
    ['websocket', (state: Record<string, unknown> | null) => buildWebsocketScope(req, ctx(state))],
  ] as const) {
    for (const state of [null, { db: 'pool' }]) {
      test(
        `a server-built ${name} scope${state ? ' with lifespan state' : ''}: ` +
          `copies equal Object.assign's, the original untouched`,
        () => {
          const scope = make(state);
          const before = Object.assign({}, scope);
          const route = { args: [1], kwargs: { room: 'lobby' } };
          expectCopy(copyScope(scope), scope, {});
          expectCopy(copyScope(scope, { user: 'ann' }), scope, { user: 'ann' });
          expectCopy(copyScopeWithRoute(scope, route), scope, { url_route: route });
          assert.deepStrictEqual(scope, before);
          assert.equal('url_route' in scope, false);
        },
      );
    }
  }

  test('scopes laid out any other way (keys missing, added, reordered; other types) copy as Object.assign does', () => {
    const base = buildHttpScope(req, ctx(null)) as unknown as Record<string, unknown>;
    const key = fc.string({ minLength: 1, maxLength: 12 }).filter((k) => k !== '__proto__');
    fc.assert(
      fc.property(
        fc.subarray(HTTP_KEYS as string[]),
        fc.array(fc.tuple(key, fc.jsonValue()), { maxLength: 4 }),
        fc.constantFrom('http', 'websocket', 'lifespan', 'channel'),
        fc.boolean(),
        (kept, extra, type, shuffle) => {
          const s: Record<string, unknown> = {};
          const order = shuffle ? [...kept].reverse() : kept;
          for (const k of order) s[k] = base[k];
          for (const [k, v] of extra) s[k] = v;
          s.type = type;
          const route = { args: [], kwargs: { n: 1 } };
          expectCopy(copyScope(s as unknown as Scope), s, {});
          expectCopy(copyScopeWithRoute(s as unknown as Scope, route), s, { url_route: route });
        },
      ),
      { numRuns: 300 },
    );
  });

  test('a scope that already has a url_route gets the new one (nested routers)', () => {
    const outer = copyScopeWithRoute(buildHttpScope(req, ctx(null)), { args: [], kwargs: { a: 1 } });
    const inner = copyScopeWithRoute(outer, { args: [], kwargs: { a: 1, b: 2 } });
    assert.deepStrictEqual(inner.url_route, { args: [], kwargs: { a: 1, b: 2 } });
    assert.deepStrictEqual(outer.url_route, { args: [], kwargs: { a: 1 } });
  });

  test('a layout is a list of distinct plain keys: anything a generated literal could misread is refused', () => {
    for (const keys of [['type', 'type'], ['type', '__proto__'], ['type', 'a-b'], ['type', 'state'], ['0']]) {
      assert.throws(() => registerScopeLayout('http', keys), TypeError, JSON.stringify(keys));
    }
    assert.throws(() => registerScopeLayout('not a type', ['type']), TypeError);
    // The server's layouts are still the ones in use.
    const scope = buildHttpScope(req, ctx(null));
    assert.deepEqual(Object.keys(copyScope(scope)), HTTP_KEYS);
  });
});
