// The conformance suite against a real Redis, for both Redis backends.
import { RedisChannelLayer } from '../../src/layers/redis/redis-layer.ts';
import { RedisPubSubChannelLayer } from '../../src/layers/redis/pubsub-layer.ts';
import { layerConformanceSuite } from '../../src/testing/conformance.ts';
import { REDIS_URL, redisFixture } from '../redis/helpers.ts';

// One prefix per suite, so the instances of the cross-instance test share channels.
const redis = redisFixture();
const corePrefix = redis.prefix();
const pubsubPrefix = redis.prefix();

layerConformanceSuite(
  'redis',
  (options) => new RedisChannelLayer({ hosts: [REDIS_URL], prefix: corePrefix, blockTimeout: 1, ...options }),
  {
    processLocalNames: true,
    capacityOnSend: true,
    capacityScope: 'process',
    expiryRemovesFromGroups: false,
    minExpirySeconds: 1,
    crossInstance: true,
    oneReaderAcrossInstances: true,
  },
);

layerConformanceSuite(
  'redis-pubsub',
  (options) => new RedisPubSubChannelLayer({ hosts: [REDIS_URL], prefix: pubsubPrefix, ...options }),
  {
    processLocalNames: false,
    capacityOnSend: false,
    capacityScope: 'process',
    expiryRemovesFromGroups: false,
    minExpirySeconds: 1,
    crossInstance: true,
    oneReaderAcrossInstances: false,
  },
);
