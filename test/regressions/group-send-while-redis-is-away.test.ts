// Regression: `canal group-send` exited 0 with Redis unreachable. The layer's groupSend counts
// an undelivered message as a drop instead of raising, and the command never looked: a script
// was told the message had gone when it had not. It fails as `canal send` does: one line on
// stderr naming the host, exit 1.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startCli } from '../integration/cli-helpers.ts';
import { freePort } from '../redis/helpers.ts';

describe('canal group-send while Redis is away', { concurrency: 2 }, () => {
  for (const backend of ['redis', 'redis-pubsub']) {
    it(`exits 1 with the reason on stderr (LAYER=${backend})`, async () => {
      // Nothing listens on a free port: the layer cannot connect.
      const url = `redis://127.0.0.1:${await freePort()}/0`;
      const cli = startCli(['group-send', 'lobby', '{"type": "chat.message", "text": "hi"}'], {
        env: { LAYER: backend, REDIS_URL: url },
      });
      // The layer waits commandTimeoutMs (2 s) for Redis, and its client lingers after closing.
      assert.equal(await cli.exited(20_000), 1, cli.stderr());
      assert.match(cli.stderr(), new RegExp(`^canal: group-send to lobby failed: Redis at ${url} is unreachable`, 'm'));
      assert.equal(cli.stdout(), '');
    });
  }
});
