// The `prefix` option of the Redis layers, checked when the layer is made (and when a config
// naming it is given), not at the first connection: the pub/sub prefix begins channel names,
// so it must keep them valid; the core prefix only begins Redis keys, so it may be any string.
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { RedisPubSubChannelLayer } from '../../src/layers/redis/pubsub-layer.ts';
import { RedisChannelLayer } from '../../src/layers/redis/redis-layer.ts';
import { checkChannelName } from '../../src/layers/names.ts';
import { configureChannelLayers, resetChannelLayers } from '../../src/layers/registry.ts';
import { freePort } from '../redis/helpers.ts';

const NOWHERE = ['redis://127.0.0.1:1/0'];
const ALLOWED = /use ASCII letters, digits, '-', '_' and '\.', at most 58 characters/;

/** The error `make` throws; a layer it makes after all is closed, so the test ends. */
async function refusal(make: () => { close(): Promise<void> }): Promise<Error & { code?: string }> {
  let layer;
  try {
    layer = make();
  } catch (err) {
    return err as Error;
  }
  await layer.close();
  assert.fail('the layer was made');
}

describe('redis-pubsub prefix', () => {
  afterEach(() => resetChannelLayers());

  for (const prefix of ['x:', 'my app', 'a!b', 'ünï', 'x'.repeat(59)]) {
    const shown = JSON.stringify(prefix.length > 20 ? `${prefix.slice(0, 5)}…` : prefix);
    it(`refuses ${shown} at construction, naming the option and the value`, async () => {
      const err = await refusal(() => new RedisPubSubChannelLayer({ prefix, hosts: NOWHERE }));
      assert.equal(err.code, 'ERR_INVALID_OPTION');
      const start = `redis-pubsub layer: prefix ${JSON.stringify(prefix)} cannot begin channel names`;
      assert.ok(err.message.startsWith(start), err.message);
      assert.match(err.message, ALLOWED);
    });
  }

  it('refuses a prefix that is not a string', async () => {
    const err = await refusal(() => new RedisPubSubChannelLayer({ prefix: 42 as never, hosts: NOWHERE }));
    assert.equal(err.code, 'ERR_INVALID_OPTION');
    assert.match(err.message, /^redis-pubsub layer: prefix must be a string .*, not 42$/);
  });

  it('refuses it when the config is given, before any layer is made', () => {
    assert.throws(() => configureChannelLayers({ default: { backend: 'redis-pubsub', options: { prefix: 'app:' } } }), {
      code: 'ERR_INVALID_OPTION',
      message: /^channel layer 'default' \(redis-pubsub\): prefix "app:" cannot begin channel names/,
    });
  });

  it('accepts a prefix whose channel names are valid, the longest included', async () => {
    const hosts = [`redis://127.0.0.1:${await freePort()}/0`];
    for (const prefix of ['', 'asgi', 'my-app.v2_', 'x'.repeat(58)]) {
      const layer = new RedisPubSubChannelLayer({ prefix, hosts });
      await layer.close();
      // What newChannel() makes of it (with its default 'specific.' and a 32-character id).
      checkChannelName(`${prefix}specific.${'0'.repeat(32)}`);
    }
  });
});

describe('redis (core) prefix', () => {
  afterEach(() => resetChannelLayers());

  it('takes any string, as channels_redis does: it begins keys, not channel names', async () => {
    const hosts = [`redis://127.0.0.1:${await freePort()}/0`];
    for (const prefix of ['asgi', 'app:asgi:', 'with space', 'glob*[?]']) {
      const layer = new RedisChannelLayer({ prefix, hosts });
      assert.equal(layer.prefix, prefix);
      await layer.close();
    }
  });

  it('refuses a prefix that is not a string, at construction and in a config', async () => {
    const err = await refusal(() => new RedisChannelLayer({ prefix: ['asgi'] as never, hosts: NOWHERE }));
    assert.equal(err.code, 'ERR_INVALID_OPTION');
    assert.match(err.message, /^redis layer: prefix must be a string .*, not \["asgi"\]$/);
    assert.throws(() => configureChannelLayers({ default: { backend: 'redis', options: { prefix: 7 } } }), {
      code: 'ERR_INVALID_OPTION',
      message: /^channel layer 'default' \(redis\): prefix must be a string/,
    });
  });
});
