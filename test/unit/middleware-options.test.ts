// Middleware factories called without their options (or with null), or without what they
// require: a coded ERR_INVALID_OPTION naming what is needed, never a TypeError from inside.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Application } from '../../src/asgi/types.ts';
import {
  AllowedHostsMiddleware,
  AuthMiddleware,
  AuthMiddlewareStack,
  CsrfMiddleware,
  OriginValidator,
  RedisSessionStore,
  SessionMiddleware,
  TokenAuthMiddleware,
  scopeMiddleware,
} from '../../src/middleware/index.ts';

const app: Application = async () => {};
const KEY = 'a secret of at least 16 characters';

function refusal(make: () => unknown): string {
  try {
    make();
  } catch (err) {
    assert.equal((err as { code?: string }).code, 'ERR_INVALID_OPTION', String(err));
    return (err as Error).message;
  }
  assert.fail('accepted');
}

describe('middleware options', () => {
  it('AuthMiddlewareStack names each required option that is missing', () => {
    const stack = (options: unknown) => refusal(() => AuthMiddlewareStack(app, options as never));
    assert.match(stack(null), /needs options: getUser\(id, scope\), .*, and secretKeys, /);
    const noKeys = stack({ getUser: () => null });
    assert.match(noKeys, /^AuthMiddlewareStack\(app, \{ getUser, secretKeys \}\) needs secretKeys, the secrets /);
    assert.doesNotMatch(noKeys, /needs .*getUser\(id/);
    assert.match(stack({ secretKeys: [KEY] }), /needs getUser\(id, scope\), which loads your user/);
    assert.match(stack({ secretKeys: [KEY], getUser: 'users' }), /needs getUser/);
  });

  it('AuthMiddlewareStack with both options still builds the stack', () => {
    assert.equal(typeof AuthMiddlewareStack(app, { secretKeys: [KEY], getUser: () => null }), 'function');
  });

  it('AuthMiddleware names getUser, with an example', () => {
    const message = refusal(() => AuthMiddleware(app, undefined as never));
    assert.match(message, /^AuthMiddleware\(app, \{ getUser \}\) needs getUser\(id, scope\), .*e\.g\. /);
  });

  it('SessionMiddleware names secretKeys, with an example', () => {
    for (const options of [undefined, null, {}]) {
      const message = refusal(() => SessionMiddleware(app, options as never));
      assert.match(message, /^SessionMiddleware\(app, \{ secretKeys \}\) needs secretKeys: .*e\.g\. /);
    }
  });

  it('TokenAuthMiddleware names verify and jwtKey, with an example', () => {
    const message = refusal(() => TokenAuthMiddleware(app, undefined as never));
    assert.match(message, /needs verify\(token, scope\) or jwtKey.*e\.g\. /);
  });

  it('CsrfMiddleware takes no options or an object, not null', () => {
    const message = refusal(() => CsrfMiddleware(app, null as never));
    assert.match(message, /^CsrfMiddleware\(app, options\?\): options must be an object/);
    assert.equal(typeof CsrfMiddleware(app), 'function');
  });

  it('RedisSessionStore takes no options or an object, not null', () => {
    assert.match(
      refusal(() => new RedisSessionStore(null as never)),
      /^RedisSessionStore options must be an object/,
    );
  });

  it('scopeMiddleware needs the function that makes the additions', () => {
    assert.match(
      refusal(() => scopeMiddleware(undefined as never)),
      /^scopeMiddleware\(add\) needs a function/,
    );
  });

  it('the host and origin checks need their lists', () => {
    assert.match(
      refusal(() => AllowedHostsMiddleware(app, undefined as never)),
      /needs a list of allowed hosts/,
    );
    assert.match(
      refusal(() => OriginValidator(app, undefined as never)),
      /allowedOrigins must be a list/,
    );
  });
});
