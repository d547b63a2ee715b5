// The chat example's room page in headless Chromium on two servers, Redis and PostgreSQL: who is
// here (presence across servers, joined and left live), and a page cut off by a restart of its
// server catching up on the messages sent meanwhile, each once, in order, with no reload.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { browserFixture, messages, openRoom, say, STEP_MS, waitForMessage, waitForSocket } from './browser.ts';
import { chatClusterFixture } from './chat-processes.ts';

const browser = browserFixture();
const cluster = chatClusterFixture();
let room = 0;
const newRoom = () => `here-${process.pid}-${++room}`;

/** The names in the page's "Here:" list, in its order. */
function people(page: Page): Promise<string[]> {
  return page.locator('#people li').allTextContents();
}

/** Waits until the page lists exactly `names` (in any order). */
async function waitForPeople(page: Page, names: string[], timeoutMs = STEP_MS): Promise<void> {
  const want = JSON.stringify([...names].sort());
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await people(page);
    if (JSON.stringify([...got].sort()) === want) return;
    if (Date.now() > deadline) throw new Error(`${page.url()} lists ${JSON.stringify(got)}, not ${want}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Types a handle and leaves the field, as a user does: the page's presence entry takes the name. */
async function setHandle(page: Page, handle: string): Promise<void> {
  await page.fill('#handle', handle);
  await page.press('#handle', 'Tab');
}

/** A room page of its own handle (each page's handle is set in the form, not kept in localStorage). */
async function enter(url: string, label: string, handle: string): Promise<Page> {
  const page = await openRoom(await browser.context(), url, label);
  await setHandle(page, handle);
  return page;
}

describe('chat example in Chromium: who is here, and catching up after a cut (two servers, Redis)', () => {
  it('two pages in a room on two servers see each other in the presence list, joined and left live', async () => {
    const label = newRoom();
    const pageA = await enter(cluster.a.url, label, 'ana');
    await waitForPeople(pageA, ['ana']);
    assert.equal(await pageA.locator('#people li.me').textContent(), 'ana', 'the page knows which entry is its own');

    const pageB = await enter(cluster.b.url, label, 'bo');
    await Promise.all([waitForPeople(pageA, ['ana', 'bo']), waitForPeople(pageB, ['ana', 'bo'])]);
    assert.equal(await pageB.locator('#people li.me').textContent(), 'bo');

    // Another room on the same servers is not listed here.
    const elsewhere = await enter(cluster.b.url, newRoom(), 'cy');
    await waitForPeople(elsewhere, ['cy']);
    assert.deepEqual((await people(pageA)).sort(), ['ana', 'bo']);

    await pageB.close();
    await waitForPeople(pageA, ['ana']);
  });

  it(
    'a page whose server restarts catches up on the messages sent meanwhile, ' +
      'once each and in order, without a reload; what it sent while cut off goes out on reconnect',
    async () => {
      const label = newRoom();
      const pageA = await enter(cluster.a.url, label, 'ana');
      const pageB = await enter(cluster.b.url, label, 'bo');
      await Promise.all([waitForPeople(pageA, ['ana', 'bo']), waitForPeople(pageB, ['ana', 'bo'])]);
      await say(pageA, 'ana', 'before the cut');
      await waitForMessage(pageB, 'before the cut');
      // Gone after a reload: the page must catch up in place.
      await pageA.evaluate(() => ((globalThis as unknown as { e2eSamePage: boolean }).e2eSamePage = true));

      const { code, startAgain } = await cluster.stopA();
      assert.equal(code, 0, 'the server stops cleanly on SIGTERM');
      await pageA.waitForSelector('body:not([data-socket="open"])', { state: 'attached', timeout: STEP_MS });
      await waitForPeople(pageB, ['bo']);

      const meanwhile = ['while you were away 1', 'while you were away 2', 'while you were away 3'];
      for (const text of meanwhile) await say(pageB, 'bo', text);
      await waitForMessage(pageB, meanwhile.at(-1)!);
      await say(pageA, 'ana', 'written while cut off');
      assert.match((await pageA.locator('#error').textContent()) ?? '', /will be sent when the connection is back/);

      await startAgain();
      await waitForSocket(pageA, 'open', 20_000);
      await Promise.all([
        waitForMessage(pageA, 'written while cut off'),
        waitForMessage(pageB, 'written while cut off'),
      ]);
      const all = ['before the cut', ...meanwhile, 'written while cut off'];
      assert.deepEqual(await messages(pageA), all, 'each once, in order');
      assert.deepEqual(await messages(pageB), all);
      assert.equal(
        await pageA.evaluate(() => (globalThis as unknown as { e2eSamePage?: boolean }).e2eSamePage),
        true,
        'the page was not reloaded',
      );
      assert.equal(await pageA.locator('#error').textContent(), '', 'the notice is gone once connected');
      await Promise.all([waitForPeople(pageA, ['ana', 'bo']), waitForPeople(pageB, ['ana', 'bo'])]);
    },
  );
});
