// The conformance suite under a runner of the caller's choosing, and capability differences
// turning into cases that assert the declared behaviour instead of skipped cases.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { layerConformanceSuite, type LayerCapabilities } from '../../src/testing/conformance.ts';
import { InMemoryChannelLayer } from '../../src/layers/memory.ts';
import { MEMORY_CAPABILITIES } from '../conformance/memory-capabilities.ts';

const memoryCaps = MEMORY_CAPABILITIES;

function collect(caps: LayerCapabilities) {
  const cases = new Map<string, () => Promise<void>>();
  const afters: (() => Promise<void>)[] = [];
  let suite = '';
  layerConformanceSuite('probe', (options) => new InMemoryChannelLayer(options), caps, {
    describe: (name, fn) => {
      suite = name;
      fn();
    },
    it: (name, fn) => void cases.set(name, fn),
    after: (fn) => void afters.push(fn),
  });
  return { suite, cases, afters };
}

describe('layerConformanceSuite with a caller-supplied runner', () => {
  it('registers its cases under one describe and closes its layers in after()', async () => {
    const { suite, cases, afters } = collect(memoryCaps);
    assert.equal(suite, 'channel layer conformance: probe');
    assert.ok(cases.size >= 18, `${cases.size} cases`);
    assert.equal(afters.length, 1);
    await cases.get('delivers in order on a channel')!();
    await cases.get('gives each message to one reader')!();
    await afters[0]!();
  });

  it('turns each declared difference into a case for that behaviour', () => {
    const other = collect({
      ...memoryCaps,
      processLocalNames: false,
      capacityOnSend: false,
      expiryRemovesFromGroups: false,
      crossInstance: true,
      oneReaderAcrossInstances: false,
    });
    const mine = collect(memoryCaps);
    const names = (c: Map<string, unknown>) => [...c.keys()];
    assert.ok(names(mine.cases).includes('raises ChannelFull at capacity, with per-channel overrides'));
    assert.ok(names(other.cases).includes('send never raises ChannelFull (capacity bounds the receiving side only)'));
    assert.ok(names(mine.cases).includes('expiry removes the channel from its groups'));
    assert.ok(names(other.cases).includes('expiry does not remove the channel from its groups'));
    assert.ok(names(other.cases).some((n) => n.includes('every reader gets each message')));
    assert.ok(
      !names(mine.cases).some((n) => n.includes('two instances')),
      'a one-process backend has no cross-instance case',
    );
  });

  it('fails when the backend does not behave as declared', async () => {
    // The memory layer does remove expired channels from groups; declaring otherwise must fail.
    const { cases, afters } = collect({ ...memoryCaps, expiryRemovesFromGroups: false });
    await assert.rejects(cases.get('expiry does not remove the channel from its groups')!(), assert.AssertionError);
    await afters[0]!();
  });
});
