// Cookies whose names are also keys of Object.prototype (`constructor`, `toString`,
// `__proto__`) are read like any other cookie: they were dropped, because the parser asked
// `name in out` of a plain object, which sees the inherited keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CookieMiddleware, parseCookies } from '../../src/middleware/index.ts';
import { HttpCommunicator } from '../../src/testing/index.ts';

const HEADER = 'constructor=c1; toString=t2; __proto__=p3; hasOwnProperty=h4; plain=x';

test('parseCookies reads cookies named constructor, toString, __proto__', () => {
  const cookies = parseCookies(HEADER);
  assert.equal(cookies.constructor, 'c1');
  assert.equal(cookies.toString, 't2');
  assert.equal(Object.getOwnPropertyDescriptor(cookies, '__proto__')?.value, 'p3');
  assert.equal(cookies.hasOwnProperty, 'h4');
  assert.equal(cookies.plain, 'x');
  assert.deepEqual(Object.keys(cookies), ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'plain']);
});

test('a cookie absent from the header is undefined, even when Object.prototype has the name', () => {
  const cookies = parseCookies('plain=x');
  assert.equal(cookies.constructor, undefined);
  assert.equal(cookies.toString, undefined);
  assert.equal(cookies.valueOf, undefined);
  assert.equal('constructor' in cookies, false);
});

test('CookieMiddleware hands them on in scope.cookies', async () => {
  let seen: Record<string, string> | undefined;
  const app = CookieMiddleware(async (scope, receive, send) => {
    seen = scope.cookies;
    await receive();
    await send({ type: 'http.response.start', status: 204 });
    await send({ type: 'http.response.body' });
  });
  const res = await new HttpCommunicator(app, 'GET', '/', { headers: [['cookie', HEADER]] }).getResponse(2000);
  assert.equal(res.status, 204);
  assert.equal(seen?.constructor, 'c1');
  assert.equal(seen?.toString, 't2');
  assert.equal(Object.getOwnPropertyDescriptor(seen, '__proto__')?.value, 'p3');
});
