// Regression: `AuthMiddlewareStack(app)`, written as in Django Channels (which reads the
// settings instead), threw "TypeError: Cannot destructure property 'getUser' of 'options' as it
// is undefined" — naming neither what Canal needs nor how to give it. It is a coded error
// naming getUser and secretKeys, with an example.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import type { Application } from '../../src/asgi/types.ts';
import { AuthMiddlewareStack } from '../../src/middleware/auth.ts';

const app: Application = async () => {};

it('AuthMiddlewareStack(app) without options names getUser and secretKeys, with an example', () => {
  assert.throws(
    () => AuthMiddlewareStack(app, undefined as never),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_INVALID_OPTION');
      assert.match(err.message, /^AuthMiddlewareStack\(app, \{ getUser, secretKeys \}\) needs options: /);
      assert.match(err.message, /getUser\(id, scope\)/);
      assert.match(err.message, /secretKeys/);
      const example = 'e.g. AuthMiddlewareStack(app, { secretKeys: [process.env.SECRET_KEY], getUser: ';
      assert.ok(err.message.includes(example), err.message);
      return true;
    },
  );
});
