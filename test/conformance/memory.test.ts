import { InMemoryChannelLayer } from '../../src/layers/memory.js';
import { layerConformanceSuite } from '../../src/testing/conformance.js';

layerConformanceSuite('memory', (options) => new InMemoryChannelLayer(options), {
  processLocalNames: true,
  capacityOnSend: true,
  capacityScope: 'channel',
  expiryRemovesFromGroups: true,
  minExpirySeconds: 0.2,
  crossInstance: false,
});
