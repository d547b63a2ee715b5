// The conformance suite against a real Redis, for both Redis backends.
import { after, before } from 'node:test';
import type { Redis } from 'ioredis';
import { RedisChannelLayer } from '../../src/layers/redis/redis-layer.js';
import { RedisPubSubChannelLayer } from '../../src/layers/redis/pubsub-layer.js';
import { layerConformanceSuite } from '../../src/testing/conformance.js';
import { cleanPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../redis/helpers.js';

let admin: Redis;
const prefixes: string[] = [];
before(async () => {
  admin = await requireRedis();
});
after(async () => {
  for (const p of prefixes) await cleanPrefix(admin, p);
  admin.disconnect();
});

// One prefix per suite, so the instances of the cross-instance test share channels.
const corePrefix = uniquePrefix();
const pubsubPrefix = uniquePrefix();
prefixes.push(corePrefix, pubsubPrefix);

layerConformanceSuite('redis', (options) => new RedisChannelLayer({ hosts: [REDIS_URL], prefix: corePrefix, blockTimeout: 1, ...options }), {
  processLocalNames: true,
  capacityOnSend: true,
  capacityScope: 'process',
  expiryRemovesFromGroups: false,
  minExpirySeconds: 1,
  crossInstance: true,
  oneReaderAcrossInstances: true,
});

layerConformanceSuite('redis-pubsub', (options) => new RedisPubSubChannelLayer({ hosts: [REDIS_URL], prefix: pubsubPrefix, ...options }), {
  processLocalNames: false,
  capacityOnSend: false,
  capacityScope: 'process',
  expiryRemovesFromGroups: false,
  minExpirySeconds: 1,
  crossInstance: true,
  oneReaderAcrossInstances: false,
});
