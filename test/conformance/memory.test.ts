import { InMemoryChannelLayer } from '../../src/layers/memory.ts';
import { layerConformanceSuite } from '../../src/testing/conformance.ts';
import { MEMORY_CAPABILITIES } from './memory-capabilities.ts';

layerConformanceSuite('memory', (options) => new InMemoryChannelLayer(options), MEMORY_CAPABILITIES);
