// Regression: while Redis was known to be away, every groupAdd of the pub/sub layer waited for the
// subscriber client up to commandTimeoutMs (2 s) before failing, so each WebSocket refused during
// an outage took 2 s to get its 403 (the core layer refused at once). Its error also repeated its
// own hint ("… — is redis-server running there? … — is redis-server running there? …").
// Now: the join fails at once with LayerUnavailableError, whose message says the hint once.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { LayerUnavailableError } from '../../src/errors.ts';
import { RedisPubSubChannelLayer } from '../../src/layers/redis/pubsub-layer.ts';
import { getLogLevel, setLogLevel } from '../../src/logging.ts';
import { OwnRedis, until } from '../redis/helpers.ts';

it('pub/sub groupAdd fails at once while Redis is away, with one hint', { timeout: 30_000 }, async () => {
  const level = getLogLevel();
  setLogLevel('error');
  const redis = new OwnRedis();
  await redis.start();
  const layer = new RedisPubSubChannelLayer({ hosts: [redis.url], commandTimeoutMs: 2000 });
  try {
    const channel = await layer.newChannel();
    await layer.groupAdd('before', channel);
    await redis.stop();
    await until(
      async () => {
        const probe = await layer.groupAdd('probe', channel).then(
          () => false,
          () => true,
        );
        return probe;
      },
      'a join to fail once Redis is gone',
      10_000,
    );
    const timings: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const err = await layer.groupAdd(`during${i}`, channel).then(
        () => null,
        (e: unknown) => e,
      );
      timings.push(performance.now() - started);
      assert.ok(err instanceof LayerUnavailableError, `groupAdd during the outage: ${String(err)}`);
      const hint = 'is redis-server running there?';
      assert.equal(err.message.split(hint).length - 1, 1, `the hint once: ${err.message}`);
    }
    assert.ok(Math.max(...timings) < 200, `joins during the outage took ${timings.map(Math.round).join(', ')} ms`);
  } finally {
    await layer.close();
    await redis.stop();
    setLogLevel(level);
  }
});
