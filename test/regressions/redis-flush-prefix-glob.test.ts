// Regression: the core Redis layer's flush() deleted `KEYS <prefix>*` with the prefix taken as a
// glob pattern. A prefix holding '*', '?', '[' or '\' (any string is a valid channels_redis
// prefix) made it delete other layers' keys, and miss its own. The prefix is now matched
// literally.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { RedisChannelLayer } from '../../src/layers/redis/redis-layer.ts';
import { cleanPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../redis/helpers.ts';

it("flush() deletes its own prefix's keys only, whatever characters the prefix holds", async () => {
  const admin = await requireRedis();
  const base = uniquePrefix();
  const globby = new RedisChannelLayer({ hosts: [REDIS_URL], prefix: `${base}[a]*` });
  const other = new RedisChannelLayer({ hosts: [REDIS_URL], prefix: `${base}a:` });
  try {
    await globby.send('jobs', { type: 'mine' });
    await other.send('jobs', { type: 'not mine' });
    await globby.flush();
    assert.equal(await admin.exists(`${base}[a]*jobs`), 0, 'its own key is gone');
    assert.equal(await admin.zcard(`${base}a:jobs`), 1, "the other layer's message is still there");
  } finally {
    await globby.close();
    await other.close();
    await cleanPrefix(admin, base);
    admin.disconnect();
  }
});
