// The client's retry delays: full jitter under a ceiling that doubles from minDelayMs up to
// maxDelayMs, checked with the random source pinned; and the browser's view of the network.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, browserNetwork } from '../../src/client/index.ts';

describe('backoffDelay', () => {
  test('the ceiling doubles from minDelayMs and stops at maxDelayMs', () => {
    const top = () => 1 - Number.EPSILON;
    const ceilings = Array.from({ length: 8 }, (_, attempt) => backoffDelay(attempt, 250, 10_000, top) + 1);
    assert.deepEqual(ceilings, [250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
    assert.equal(backoffDelay(5000, 250, 10_000, top), 9999, 'no overflow for a long outage');
  });

  test('full jitter: the random source picks a point between 0 and the ceiling', () => {
    assert.equal(
      backoffDelay(0, 250, 10_000, () => 0),
      0,
    );
    assert.equal(
      backoffDelay(2, 250, 10_000, () => 0.5),
      500,
    );
    assert.equal(
      backoffDelay(3, 100, 500, () => 0.25),
      125,
    );
    assert.equal(
      backoffDelay(9, 100, 500, () => 0.25),
      125,
    );
  });

  test('with Math.random, every delay stays within its bounds', () => {
    for (let attempt = 0; attempt < 20; attempt++) {
      const ceiling = Math.min(10_000, 250 * 2 ** attempt);
      for (let i = 0; i < 200; i++) {
        const d = backoffDelay(attempt);
        assert.ok(Number.isInteger(d) && d >= 0 && d < ceiling, `attempt ${attempt}: ${d} in [0, ${ceiling})`);
      }
    }
  });
});

describe('browserNetwork', () => {
  test('reads navigator.onLine and follows the online and offline events', () => {
    const listeners = new Map<string, () => void>();
    const host = {
      navigator: { onLine: false },
      addEventListener: (name: string, fn: () => void) => listeners.set(name, fn),
      removeEventListener: (name: string) => listeners.delete(name),
    };
    const network = browserNetwork(host);
    assert.equal(network.onLine(), false);
    const seen: boolean[] = [];
    const stop = network.watch((up) => seen.push(up));
    listeners.get('online')!();
    listeners.get('offline')!();
    assert.deepEqual(seen, [true, false]);
    stop();
    assert.equal(listeners.size, 0);
  });

  test('without navigator.onLine or events (Node), always online', () => {
    const network = browserNetwork({});
    assert.equal(network.onLine(), true);
    network.watch(() => assert.fail('no events in Node'))();
  });
});
