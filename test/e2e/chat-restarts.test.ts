// The chat example in headless Chromium through restarts: a server restarted under an open page
// (graceful SIGTERM, close 1012, the page reconnects and catches up), and Redis restarted under
// two servers (the layer comes back with the groups it had; messages are at most once).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Cli } from '../integration/cli-helpers.ts';
import { browserFixture, messages, openRoom, say, STEP_MS, waitForMessage, waitForSocket } from './browser.ts';
import { chatClusterFixture } from './chat-processes.ts';

/** Browser-side globals this file uses (the test code is type-checked without the DOM library). */
interface PageGlobals {
  MutationObserver: new (callback: () => void) => { observe(target: unknown, options: Record<string, boolean>): void };
}

const browser = browserFixture();
const cluster = chatClusterFixture();
let room = 0;
const newRoom = () => `restart-${process.pid}-${++room}`;

/** Resolves once `cli` has logged `pattern` after its first `since` characters of stderr. */
async function logged(cli: Cli, since: number, pattern: RegExp, timeoutMs = STEP_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(cli.stderr().slice(since))) {
    if (Date.now() > deadline)
      throw new Error(`no ${pattern} within ${timeoutMs} ms; stderr:\n${cli.stderr().slice(since)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('chat example in Chromium through restarts (two servers, Redis, PostgreSQL)', () => {
  it('a page whose server restarts reconnects by itself, catches up on what it missed and keeps chatting', async () => {
    const context = await browser.context();
    const label = newRoom();
    const [pageA, pageB] = await Promise.all([
      openRoom(context, cluster.a.url, label),
      openRoom(context, cluster.b.url, label),
    ]);
    await say(pageA, 'ana', 'before the restart');
    await waitForMessage(pageB, 'before the restart');
    // Keep every status line the page shows: the close code is on screen only for a moment.
    // (No named functions inside: the page gets the source as compiled, without its helpers.)
    await pageA.locator('#status').evaluate((el) => {
      const { MutationObserver } = globalThis as unknown as PageGlobals;
      new MutationObserver(() => (el.dataset.seen = `${el.dataset.seen ?? ''}${el.textContent}\n`)).observe(el, {
        childList: true,
        characterData: true,
        subtree: true,
      });
    });

    const port = cluster.a.port;
    const { code, startAgain } = await cluster.stopA();
    assert.equal(code, 0, 'the server stops cleanly on SIGTERM');
    await pageA.waitForSelector('#status[data-seen*="Disconnected (1012)"]', { state: 'attached', timeout: STEP_MS });
    assert.notEqual(await pageA.locator('body').getAttribute('data-socket'), 'open');
    await say(pageB, 'bo', 'while you were away');

    assert.equal((await startAgain()).port, port);
    await waitForSocket(pageA, 'open', 20_000);
    await waitForMessage(pageA, 'while you were away');
    await say(pageA, 'ana', 'back again');
    await Promise.all([waitForMessage(pageA, 'back again'), waitForMessage(pageB, 'back again')]);
    assert.deepEqual(
      await messages(pageA),
      ['before the restart', 'while you were away', 'back again'],
      'each once, in order',
    );
    assert.deepEqual(await messages(pageB), ['before the restart', 'while you were away', 'back again']);
  });

  it(
    'after a Redis restart open pages keep chatting; ' +
      'a message sent while Redis was away is stored and shown on reload',
    async () => {
      const context = await browser.context();
      const label = newRoom();
      const [pageA, pageB] = await Promise.all([
        openRoom(context, cluster.a.url, label),
        openRoom(context, cluster.b.url, label),
      ]);
      await say(pageA, 'ana', 'before Redis went away');
      await waitForMessage(pageB, 'before Redis went away');

      const since = [cluster.a.cli.stderr().length, cluster.b.cli.stderr().length];
      await cluster.redis.stop();
      await Promise.all(
        [cluster.a.cli, cluster.b.cli].map((cli, i) => logged(cli, since[i]!, /Redis at \S+ is unreachable/)),
      );
      // Stored in PostgreSQL; the broadcast is dropped (at most once), counted and summed up in
      // the log within 5 s, and the sockets stay open.
      await say(pageA, 'ana', 'while Redis was away');
      await logged(cluster.a.cli, since[0]!, /\d+ group messages? dropped in the last \d+ s: Redis unreachable/);

      // A restart without persistence loses the group memberships; each server adds its own back.
      await cluster.redis.start();
      await Promise.all(
        [cluster.a.cli, cluster.b.cli].map((cli, i) => logged(cli, since[i]!, /restored \d+ group memberships/)),
      );
      for (const page of [pageA, pageB])
        assert.equal(
          await page.locator('body').getAttribute('data-socket'),
          'open',
          'the pages did not have to reconnect',
        );
      await say(pageB, 'bo', 'after Redis came back');
      await Promise.all([
        waitForMessage(pageA, 'after Redis came back'),
        waitForMessage(pageB, 'after Redis came back'),
      ]);

      await pageB.reload();
      await waitForSocket(pageB, 'open');
      assert.deepEqual(await messages(pageB), [
        'before Redis went away',
        'while Redis was away',
        'after Redis came back',
      ]);
    },
  );
});
