// The process's layers by alias (channelLayers in canal.config.ts): defaults, backends by name
// or class, and configuration errors that name what is wrong.
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  configureChannelLayers,
  getChannelLayer,
  resetChannelLayers,
  closeChannelLayers,
} from '../../src/layers/registry.ts';
import { InMemoryChannelLayer } from '../../src/layers/memory.ts';

afterEach(async () => {
  await resetChannelLayers();
});

describe('channel layer registry', () => {
  it('gives an in-memory default layer, the same one each time', async () => {
    const layer = getChannelLayer();
    assert.ok(layer instanceof InMemoryChannelLayer);
    assert.equal(getChannelLayer('default'), layer);
    const ch = await layer.newChannel();
    await getChannelLayer().send(ch, { type: 't' });
    assert.equal((await layer.receive(ch)).type, 't');
  });

  it('makes each alias from its backend and options', () => {
    configureChannelLayers({
      default: { backend: 'memory' },
      fast: { backend: 'memory', options: { capacity: 3, expiry: 5 } },
    });
    const fast = getChannelLayer('fast') as InMemoryChannelLayer;
    assert.ok(fast instanceof InMemoryChannelLayer);
    assert.notEqual(fast, getChannelLayer());
    assert.equal(fast.capacityFor('x'), 3);
    assert.equal(fast.expiry, 5);
  });

  it('accepts a layer class as the backend', () => {
    class Custom extends InMemoryChannelLayer {
      readonly given?: object;
      constructor(given?: object) {
        super({});
        this.given = given;
      }
    }
    configureChannelLayers({ default: { backend: Custom, options: { anything: 1 } } });
    const layer = getChannelLayer() as Custom;
    assert.ok(layer instanceof Custom);
    assert.deepEqual(layer.given, { anything: 1 });
  });

  it('refuses an unknown alias, naming it and the configured ones', () => {
    configureChannelLayers({ default: { backend: 'memory' }, jobs: { backend: 'memory' } });
    assert.throws(() => getChannelLayer('job'), {
      code: 'ERR_INVALID_OPTION',
      message: /no channel layer 'job' is configured; configured aliases: default, jobs/,
    });
  });

  it('refuses an unknown backend at configuration, naming it and the known ones', () => {
    assert.throws(
      () => configureChannelLayers({ default: { backend: 'rabbit' } }),
      (e: Error & { code?: string }) =>
        e.code === 'ERR_UNKNOWN_BACKEND' &&
        e.message.includes(`'default'`) &&
        e.message.includes('"rabbit"') &&
        /known backends: memory, redis, redis-pubsub/.test(e.message),
    );
  });

  it('refuses bad options at configuration, naming the alias and the option', () => {
    assert.throws(() => configureChannelLayers({ default: { backend: 'memory', options: { capacity: -1 } } }), {
      code: 'ERR_INVALID_OPTION',
      message: /channel layer 'default' \(memory\): layer option capacity/,
    });
    assert.throws(() => configureChannelLayers({ chat: { backend: 'memory', options: { expire: 3 } } }), {
      message: /'chat' \(memory\): unknown layer option 'expire'/,
    });
    assert.throws(() => configureChannelLayers({ default: { backend: 'memory', option: { capacity: 3 } } as never }), {
      message: /'default': unknown key 'option'/,
    });
    assert.throws(() => configureChannelLayers({ default: {} as never }), { message: /'default' needs a backend/ });
    assert.throws(() => configureChannelLayers(null as never), { code: 'ERR_INVALID_OPTION' });
  });

  it('a refused configuration leaves the previous one in place', () => {
    const before = getChannelLayer();
    assert.throws(() => configureChannelLayers({ default: { backend: 'nope' } }));
    assert.equal(getChannelLayer(), before);
  });

  it('reconfiguring closes the layers made so far', async () => {
    const old = getChannelLayer();
    const ch = await old.newChannel();
    const pending = old.receive(ch);
    configureChannelLayers({ default: { backend: 'memory' } });
    await assert.rejects(pending, { code: 'ERR_LAYER_CLOSED' });
    assert.notEqual(getChannelLayer(), old);
  });

  it('closeChannelLayers closes them; resetChannelLayers also restores the default configuration', async () => {
    configureChannelLayers({ other: { backend: 'memory' } });
    const other = getChannelLayer('other');
    assert.throws(() => getChannelLayer(), { message: /no channel layer 'default'/ });
    await closeChannelLayers();
    await assert.rejects(other.newChannel(), { code: 'ERR_LAYER_CLOSED' });
    assert.notEqual(getChannelLayer('other'), other, 'a new layer is made on next use');
    await resetChannelLayers();
    assert.ok(getChannelLayer() instanceof InMemoryChannelLayer);
    assert.throws(() => getChannelLayer('other'));
  });
});
