// Flag parsing for `canal serve`: seconds → milliseconds, sizes, precedence, and the errors.
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { serverOptionsFromFlags } from '../../src/cli/serve.ts';
import { applyLogLevel, layersFromEnv, numberFlag } from '../../src/cli/options.ts';
import { resolveServerOptions } from '../../src/server/options.ts';

describe('serverOptionsFromFlags', () => {
  const saved = { PORT: process.env.PORT, HOST: process.env.HOST };
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('maps every flag onto its server option, seconds to milliseconds', () => {
    delete process.env.PORT;
    delete process.env.HOST;
    const o = serverOptionsFromFlags({
      host: '0.0.0.0',
      port: '9000',
      'root-path': '/app',
      'websocket-max-message-size': '2048',
      'websocket-handshake-timeout': '2.5',
      'ping-interval': '15',
      'ping-timeout': '0.25',
      'websocket-timeout': '3600',
      'http-timeout': '30',
      'application-close-timeout': '1',
      'max-request-body-size': '100',
      'max-header-count': '50',
      'max-header-size': '8192',
      'max-buffered-bytes': '65536',
      'drain-timeout': '4',
      'headers-timeout': '20',
      'max-connections': '500',
      'access-log': '-',
    });
    assert.deepEqual(o, {
      host: '0.0.0.0',
      port: 9000,
      rootPath: '/app',
      websocketMaxMessageBytes: 2048,
      websocketHandshakeTimeoutMs: 2500,
      pingIntervalMs: 15000,
      pingTimeoutMs: 250,
      websocketMaxLifetimeMs: 3_600_000,
      httpResponseTimeoutMs: 30000,
      applicationCloseTimeoutMs: 1000,
      maxRequestBodyBytes: 100,
      maxHeaderCount: 50,
      maxHeaderBytes: 8192,
      maxBufferedBytes: 65536,
      drainTimeoutMs: 4000,
      headersTimeoutMs: 20000,
      maxConnections: 500,
      accessLog: 'stdout',
    });
    // Everything the CLI produces is accepted by the server.
    assert.doesNotThrow(() => resolveServerOptions(o));
  });

  it('flag over environment over config', () => {
    process.env.PORT = '7000';
    process.env.HOST = '::1';
    const base = { port: 6000, host: '10.0.0.1', pingIntervalMs: 1 };
    assert.deepEqual(serverOptionsFromFlags({}, base), { port: 7000, host: '::1', pingIntervalMs: 1 });
    assert.deepEqual(serverOptionsFromFlags({ port: '0', host: '127.0.0.1', 'ping-interval': '0' }, base), {
      port: 0,
      host: '127.0.0.1',
      pingIntervalMs: 0,
    });
  });

  it('leaves unset flags to the config and the server defaults', () => {
    delete process.env.PORT;
    delete process.env.HOST;
    assert.deepEqual(serverOptionsFromFlags({}, { drainTimeoutMs: 1 }), { drainTimeoutMs: 1 });
    assert.deepEqual(serverOptionsFromFlags({}), {});
  });

  it('names the flag and the value it refuses', () => {
    assert.throws(() => serverOptionsFromFlags({ 'drain-timeout': 'soon' }), {
      code: 'ERR_INVALID_OPTION',
      message: /--drain-timeout must be a number ≥ 0, not "soon"/,
    });
    assert.throws(
      () => serverOptionsFromFlags({ 'max-header-count': '' }),
      /--max-header-count must be a whole number ≥ 0, not ""/,
    );
    assert.throws(() => serverOptionsFromFlags({ 'root-path': 'x/' }), /--root-path must start with '\/'/);
  });
});

describe('numberFlag', () => {
  it('accepts numbers in range, refuses the rest, and names an environment variable as such', () => {
    assert.equal(numberFlag('x', undefined), undefined);
    assert.equal(numberFlag('x', '1.5'), 1.5);
    assert.equal(numberFlag('x', '3', { integer: true, max: 3 }), 3);
    assert.throws(() => numberFlag('x', '4', { max: 3 }), /--x must be a number from 0 to 3, not "4"/);
    assert.throws(() => numberFlag('x', 'Infinity'), /--x must be a number ≥ 0/);
    assert.throws(
      () => numberFlag('PORT', '-1', { integer: true }),
      /^InvalidOptionError: PORT must be a whole number ≥ 0, not "-1"$/m,
    );
  });
});

describe('layersFromEnv', () => {
  const config = {
    default: { backend: 'redis', options: { prefix: 'app', hosts: ['redis://a:6379'] } },
    jobs: { backend: 'memory' },
  };

  it('keeps the config when LAYER and REDIS_URL are unset', () => {
    assert.deepEqual(layersFromEnv(config, {}), config);
    assert.deepEqual(layersFromEnv(undefined, {}), {});
  });

  it('REDIS_URL replaces the hosts of a Redis default layer, not of a memory one', () => {
    assert.deepEqual(layersFromEnv(config, { REDIS_URL: 'redis://b:6380/1' }).default, {
      backend: 'redis',
      options: { prefix: 'app', hosts: ['redis://b:6380/1'] },
    });
    assert.deepEqual(layersFromEnv({ default: { backend: 'memory' } }, { REDIS_URL: 'redis://b' }), {
      default: { backend: 'memory' },
    });
  });

  it("LAYER picks the default alias's backend, keeping options only for the same backend", () => {
    assert.deepEqual(layersFromEnv(config, { LAYER: 'memory' }), {
      default: { backend: 'memory', options: {} },
      jobs: { backend: 'memory' },
    });
    assert.deepEqual(layersFromEnv(config, { LAYER: 'redis-pubsub', REDIS_URL: 'redis://c' }).default, {
      backend: 'redis-pubsub',
      options: { hosts: ['redis://c'] },
    });
    assert.deepEqual(layersFromEnv(config, { LAYER: 'redis' }).default, config.default);
    assert.deepEqual(layersFromEnv(undefined, { LAYER: 'redis' }), { default: { backend: 'redis', options: {} } });
  });

  it('refuses an unknown LAYER, listing the ones there are', () => {
    assert.throws(() => layersFromEnv({}, { LAYER: 'rabbit' }), {
      code: 'ERR_INVALID_OPTION',
      message: 'LAYER must be one of memory, redis, redis-pubsub, not "rabbit"',
    });
  });
});

describe('applyLogLevel', () => {
  it('refuses a level that does not exist, naming the flag or CANAL_LOG_LEVEL', () => {
    const levels = 'debug, info, warn, error, silent';
    assert.throws(() => applyLogLevel('loud', {}), {
      code: 'ERR_INVALID_OPTION',
      message: `--log-level must be one of ${levels}, not "loud"`,
    });
    assert.throws(() => applyLogLevel(undefined, { CANAL_LOG_LEVEL: 'verbose' }), {
      code: 'ERR_INVALID_OPTION',
      message: `CANAL_LOG_LEVEL must be one of ${levels}, not "verbose"`,
    });
  });
});
