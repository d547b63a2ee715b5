// What the in-memory layer offers, as the conformance suite asks: shared by every suite run over it.
import type { LayerCapabilities } from '../../src/testing/conformance.ts';

export const MEMORY_CAPABILITIES: LayerCapabilities = {
  processLocalNames: true,
  capacityOnSend: true,
  capacityScope: 'channel',
  expiryRemovesFromGroups: true,
  minExpirySeconds: 0.2,
  crossInstance: false,
};
