// The chat example in headless Chromium, deployed as in production: two `canal serve`
// processes and one `canal worker` on the Redis layer and PostgreSQL, started with the
// example's own config and the environment a process manager would give them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { png } from '../examples/chat-helpers.ts';
import { browserFixture, exactly, messages, openRoom, say, STEP_MS, waitForMessage, waitForSocket } from './browser.ts';
import { chatClusterFixture } from './chat-processes.ts';

/** Browser-side globals this file uses (the test code is type-checked without the DOM library). */
type Delivered = { id: number; handle: string; message: string; timestamp: string };
interface PageGlobals {
  EventSource: new (
    url: string,
  ) => {
    addEventListener(type: string, listener: (event: { data: string; lastEventId: string }) => void): void;
    close(): void;
  };
  e2eStream?: Promise<Delivered & { lastEventId: string }>;
}

const browser = browserFixture();
const cluster = chatClusterFixture({ worker: true });
let room = 0;
/** A room of its own for each test. */
const newRoom = () => `e2e-${process.pid}-${++room}`;

describe('chat example in Chromium: two servers, a worker, Redis and PostgreSQL', () => {
  it("two pages in one room on two different server processes see each other's messages", async () => {
    const context = await browser.context();
    const label = newRoom();
    assert.notEqual(cluster.a.port, cluster.b.port);
    const [pageA, pageB] = await Promise.all([
      openRoom(context, cluster.a.url, label),
      openRoom(context, cluster.b.url, label),
    ]);
    await say(pageA, 'ana', 'hello from server A');
    await Promise.all([waitForMessage(pageA, 'hello from server A'), waitForMessage(pageB, 'hello from server A')]);
    await say(pageB, 'bo', 'hello from server B');
    await Promise.all([waitForMessage(pageA, 'hello from server B'), waitForMessage(pageB, 'hello from server B')]);
    for (const page of [pageA, pageB])
      assert.deepEqual(await messages(page), ['hello from server A', 'hello from server B']);
    const handles = await pageB.locator('#chat tbody td:nth-child(2)').allTextContents();
    assert.deepEqual(handles, ['ana', 'bo']);
  });

  it("a reload shows the room's history in order, with HTML in a message shown as text", async () => {
    const context = await browser.context();
    const label = newRoom();
    const [pageA, pageB] = await Promise.all([
      openRoom(context, cluster.a.url, label),
      openRoom(context, cluster.b.url, label),
    ]);
    const sent = ['first', '<b>x</b>', '<img src=x onerror="document.body.dataset.injected=1">', 'last & "quoted"'];
    for (const [i, text] of sent.entries()) {
      const from = i % 2 === 0 ? pageA : pageB;
      await say(from, i % 2 === 0 ? 'ana' : 'bo', text);
      // Each message is seen by both before the next is sent, so the order is the database's.
      await Promise.all([waitForMessage(pageA, text), waitForMessage(pageB, text)]);
    }
    await pageB.reload();
    await waitForSocket(pageB, 'open');
    assert.deepEqual(await messages(pageB), sent, 'the history as rendered by the server, oldest first');
    for (const page of [pageA, pageB]) {
      // Live rows (page A, appended by chat.js) and rendered rows (page B, after the reload) alike.
      assert.equal(await page.locator('#chat b, #chat img').count(), 0, 'no element was made from a message');
      assert.equal(await page.locator('body').getAttribute('data-injected'), null, 'no handler of a message ran');
      assert.equal(await page.locator('#chat tbody td:nth-child(3)', { hasText: exactly('<b>x</b>') }).count(), 1);
    }
    assert.equal(await pageB.locator('#chat tbody tr').count(), sent.length, 'the reload shows each message once');
  });

  it(
    'a post appears on the notifications pages of both servers, ' + "from a page's form and from an HTTP POST",
    async () => {
      const context = await browser.context();
      const [onA, onB] = await Promise.all([context.newPage(), context.newPage()]);
      await Promise.all([onA.goto(`${cluster.a.url}/notifications/`), onB.goto(`${cluster.b.url}/notifications/`)]);
      await Promise.all([waitForSocket(onA, 'open'), waitForSocket(onB, 'open')]);
      const tag = newRoom();

      await onA.fill('#post-message', `from the form ${tag}`);
      await onA.press('#post-message', 'Enter');
      for (const page of [onA, onB])
        await page
          .locator('#notifications li', { hasText: `New Post: from the form ${tag}` })
          .waitFor({ timeout: STEP_MS });
      assert.equal(await onA.inputValue('#post-message'), '', 'the form is emptied once the post is stored');

      const res = await fetch(`${cluster.b.url}/posts/`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ message: `from an HTTP POST ${tag}` }),
        signal: AbortSignal.timeout(STEP_MS),
      });
      assert.equal(res.status, 201);
      for (const page of [onA, onB])
        await page
          .locator('#notifications li', { hasText: `New Post: from an HTTP POST ${tag}` })
          .waitFor({ timeout: STEP_MS });
      // Newest first.
      const shown = (await onB.locator('#notifications li').allTextContents()).filter((t) => t.includes(tag));
      assert.deepEqual(shown, [`New Post: from an HTTP POST ${tag}`, `New Post: from the form ${tag}`]);
    },
  );

  it("an uploaded image's thumbnail turns done, made by the separate canal worker process", async () => {
    const context = await browser.context();
    const page = await context.newPage();
    await page.goto(`${cluster.b.url}/thumbnails/`);
    await page.setInputFiles('#image', { name: 'wide.png', mimeType: 'image/png', buffer: await png(640, 480) });
    await page.click('#uploadform button[type=submit]');
    const item = page.locator('#uploads li').first();
    await item.waitFor({ timeout: STEP_MS });
    assert.match((await item.textContent()) ?? '', /^wide\.png: /);
    await page.locator('#uploads li[data-state="done"] img').waitFor({ timeout: 20_000 });
    assert.equal(await item.locator('.state').textContent(), 'done');
    const size = await item.locator('img').evaluate(async (img) => {
      await img.decode();
      return [img.naturalWidth, img.naturalHeight];
    });
    assert.deepEqual(size, [200, 150], 'the thumbnail fits in 200×200 and keeps the aspect ratio');
    const id = await item.getAttribute('data-id');
    assert.match(
      cluster.worker.stderr(),
      new RegExp(`thumbnail of image ${id}: \\d+ → \\d+ bytes`),
      'the worker process made it',
    );
    assert.doesNotMatch(cluster.a.cli.stderr() + cluster.b.cli.stderr(), /thumbnail of image/, 'not a server');
  });

  it('Server-Sent Events and a long-poll in a page on one server receive a message sent on the other', async () => {
    const context = await browser.context();
    const label = newRoom();
    const [pageA, pageB] = await Promise.all([
      openRoom(context, cluster.a.url, label),
      openRoom(context, cluster.b.url, label),
    ]);
    await pageA.evaluate(
      (path) =>
        new Promise<void>((ready, fail) => {
          const page = globalThis as unknown as PageGlobals;
          const events = new page.EventSource(path);
          events.addEventListener('error', () => fail(new Error(`EventSource ${path} failed`)));
          page.e2eStream = new Promise((resolve) => {
            events.addEventListener('message', (event) => {
              events.close();
              resolve({ ...JSON.parse(event.data), lastEventId: event.lastEventId });
            });
          });
          events.addEventListener('ready', () => ready());
        }),
      `/events/${label}/`,
    );
    // after=0 on an empty room: the poll is held until the first message, and one stored while
    // the request was joining the room's group is answered too, so the test does not race it.
    const poll = pageA.evaluate(async (path) => {
      const res = await fetch(path);
      return { status: res.status, body: (await res.json()) as Delivered };
    }, `/poll/${label}/?after=0`);
    const early = await Promise.race([
      poll.then(() => 'answered'),
      new Promise((r) => setTimeout(() => r('held'), 300)),
    ]);
    assert.equal(early, 'held', 'the long-poll waits for a message');

    await say(pageB, 'bo', 'over HTTP too');
    const [streamed, polled] = await Promise.all([
      pageA.evaluate(() => (globalThis as unknown as PageGlobals).e2eStream!),
      poll,
    ]);
    assert.equal(streamed.message, 'over HTTP too');
    assert.equal(streamed.handle, 'bo');
    assert.equal(streamed.lastEventId, String(streamed.id), 'the event id is the message id');
    assert.equal(polled.status, 200);
    assert.deepEqual(polled.body, {
      id: streamed.id,
      handle: 'bo',
      message: 'over HTTP too',
      timestamp: streamed.timestamp,
    });
  });
});
