// Regression: SIGTERM while the app was still in lifespan startup made `canal serve` exit 13
// with "Warning: Detected unsettled top-level await": the shutdown ran, but the command went on
// waiting for a listen() that never settled, until Node found nothing left to wait for. A stop
// during startup is a stop: exit 0, and the server never listens.
import { it, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCli, tempDir } from '../integration/cli-helpers.ts';

const tmp = tempDir();
after(() => tmp.remove());

it('SIGTERM during lifespan startup: exit 0, without listening', async () => {
  const app = join(tmp.dir, 'slow-startup.mjs');
  writeFileSync(
    app,
    `export default async (scope, receive, send) => {
  if (scope.type !== 'lifespan') return;
  for (;;) {
    const event = await receive();
    if (event.type === 'lifespan.startup') {
      process.stdout.write('fixture: startup begins\\n');
      await new Promise((r) => setTimeout(r, 1500));
      await send({ type: 'lifespan.startup.complete' });
    } else {
      await send({ type: 'lifespan.shutdown.complete' });
      return;
    }
  }
};
`,
  );
  const cli = startCli(['serve', app, '--port', '0']);
  await cli.waitFor(/fixture: startup begins/);
  cli.child.kill('SIGTERM');
  assert.equal(await cli.exited(10_000), 0, cli.stderr());
  assert.match(cli.stdout(), /canal: SIGTERM, shutting down/);
  assert.doesNotMatch(cli.stdout(), /listening on/);
  assert.doesNotMatch(cli.stderr(), /unsettled top-level await/);
});
