import { InMemoryChannelLayer } from '../../src/layers/memory.ts';
import { layerConformanceSuite } from '../../src/testing/conformance.ts';

layerConformanceSuite('memory', (options) => new InMemoryChannelLayer(options), {
  processLocalNames: true,
  capacityOnSend: true,
  capacityScope: 'channel',
  expiryRemovesFromGroups: true,
  minExpirySeconds: 0.2,
  crossInstance: false,
});
