// What the start-up lines of serve and worker say: the app's file (relative to the working
// directory when under it) and export, the layer's backend and hosts — never a password.
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { describeApp, describeLayer } from '../../src/cli/startup-line.ts';
import { configureChannelLayers, resetChannelLayers } from '../../src/layers/registry.ts';
import { InMemoryChannelLayer } from '../../src/layers/memory.ts';
import { hostWithAuth, parseHosts, redactUrl } from '../../src/layers/redis/hosts.ts';

describe('describeApp', () => {
  it('shows a file under the working directory relative to it, others as they are', () => {
    const shown = (module: string, exportName = 'default') => describeApp({ module, exportName }, '/srv/site');
    assert.equal(shown('/srv/site/src/asgi.ts', 'application'), 'app src/asgi.ts:application');
    assert.equal(shown('/opt/other/app.ts'), 'app /opt/other/app.ts:default');
    assert.equal(shown('/srv/site-b/app.ts'), 'app /srv/site-b/app.ts:default');
    assert.equal(shown('my-package/asgi'), 'app my-package/asgi:default');
  });
});

describe('describeLayer', () => {
  afterEach(() => resetChannelLayers());

  it('names the backend, and for Redis its hosts with the password as ****', () => {
    configureChannelLayers({
      default: { backend: 'redis', options: { hosts: ['redis://:s3cret@cache:6379/0', ['replica', 6380]] } },
      jobs: { backend: 'redis-pubsub', options: { hosts: [{ host: 'bus', username: 'canal', password: 's3cret' }] } },
      local: { backend: 'memory' },
      custom: { backend: InMemoryChannelLayer },
    });
    assert.equal(describeLayer(), 'layer redis (redis://:****@cache:6379/0, replica:6380)');
    assert.equal(describeLayer('jobs'), 'layer jobs: redis-pubsub (bus:6379 (user canal, password ****))');
    assert.equal(describeLayer('local'), 'layer local: memory');
    assert.equal(describeLayer('custom'), 'layer custom: InMemoryChannelLayer');
    assert.equal(describeLayer('nowhere'), 'layer nowhere: (not configured)');
  });

  it('gives the default host when none is configured, and the in-memory default', () => {
    assert.equal(describeLayer(), 'layer memory');
    configureChannelLayers({ default: { backend: 'redis' } });
    assert.equal(describeLayer(), 'layer redis (redis://localhost:6379/0)');
  });
});

describe('passwords in Redis hosts', () => {
  it('hostWithAuth keeps the user and hides the password', () => {
    const shown = (host: string) => hostWithAuth(parseHosts([host])[0]!);
    assert.equal(shown('redis://:p%40ss@h:6379/2'), 'redis://:****@h:6379/2');
    assert.equal(shown('rediss://admin:pw@h:6380/0'), 'rediss://admin:****@h:6380/0');
    assert.equal(shown('redis://h:6379'), 'redis://h:6379/0');
  });

  it('redactUrl hides the password of a URL in an error message, to its last @', () => {
    assert.equal(redactUrl('redis://:s3cret@h:6379/x'), 'redis://:****@h:6379/x');
    assert.equal(redactUrl('redis://user:p@ss@h/1'), 'redis://user:****@h/1');
    assert.equal(redactUrl('redis://h:6379/0'), 'redis://h:6379/0');
    assert.throws(() => parseHosts(['redis://:s3cret@h:6379/x']), {
      code: 'ERR_INVALID_OPTION',
      message: 'hosts[0] has a bad database number in redis://:****@h:6379/x',
    });
  });
});
