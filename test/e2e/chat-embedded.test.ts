// The chat example in headless Chromium on its embedded defaults: one `canal serve` on the
// in-memory layer and an SQLite file, the thumbnails worker running inside the server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { png } from '../examples/chat-helpers.ts';
import { browserFixture, messages, openRoom, say, STEP_MS, waitForMessage } from './browser.ts';
import { Children, type Server } from './chat-processes.ts';

const SCREENSHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));

const browser = browserFixture();
let dir: string;
let children: Children;
let server: Server;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'canal-e2e-'));
  children = new Children({ LAYER: 'memory', DATABASE_URL: `sqlite:${join(dir, 'chat.sqlite3')}` });
  server = await children.serve();
});

after(async () => {
  await children?.stopAll();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('chat example in Chromium: one server on the in-memory layer and SQLite', () => {
  it("runs the thumbnails worker inside the server: an uploaded image's thumbnail turns done", async () => {
    assert.match(server.cli.stdout(), /canal: running workers for thumbnails in this process \(in-memory layer/);
    const context = await browser.context();
    const page = await context.newPage();
    await page.goto(`${server.url}/thumbnails/`);
    await page.setInputFiles('#image', { name: 'tall.png', mimeType: 'image/png', buffer: await png(300, 600) });
    await page.click('#uploadform button[type=submit]');
    const item = page.locator('#uploads li').first();
    await page.locator('#uploads li[data-state="done"] img').waitFor({ timeout: 20_000 });
    const size = await item.locator('img').evaluate(async (img) => {
      await img.decode();
      return [img.naturalWidth, img.naturalHeight];
    });
    assert.deepEqual(size, [100, 200]);
    assert.match(
      server.cli.stderr(),
      new RegExp(`thumbnail of image ${await item.getAttribute('data-id')}: `),
      'made in the server process',
    );
  });

  it(
    "the index page's form leads into the room it names, " + 'and no page makes the browser ask for /favicon.ico',
    async () => {
      const context = await browser.context();
      const page = await context.newPage();
      await page.goto(`${server.url}/`);
      await page.fill('#room', 'from-index');
      await page.click('#roomform button[type=submit]');
      await page.waitForURL(`${server.url}/chat/from-index/`, { timeout: STEP_MS });
      assert.equal(await page.locator('h1').textContent(), 'from-index');
      assert.doesNotMatch(
        server.cli.stderr(),
        /favicon/,
        'the pages name their icon, so browsers do not ask for /favicon.ico',
      );
    },
  );

  it('shows a room with several messages, every row visible and laid out one under another (screenshot)', async () => {
    const context = await browser.context();
    const [page, other] = [
      await openRoom(context, server.url, 'screenshot'),
      await openRoom(context, server.url, 'screenshot'),
    ];
    const sent: [typeof page, string, string][] = [
      [page, 'ana', 'Hello! Is this the room for the Friday release?'],
      [other, 'bo', 'It is. The build is green, the notes are in the wiki.'],
      [page, 'ana', '<b>bold?</b> No: HTML is shown as typed.'],
      [
        other,
        'carmen-from-the-support-team',
        'A longer message, to see how the text wraps when it does not fit on one line of the table: ' +
          'the handle and the time stay on the left, the message takes the rest of the width.',
      ],
      [page, 'ana', 'Thanks, see you on Friday.'],
    ];
    for (const [from, handle, text] of sent) {
      await say(from, handle, text);
      await waitForMessage(page, text);
    }
    assert.deepEqual(
      await messages(page),
      sent.map(([, , text]) => text),
    );

    mkdirSync(SCREENSHOTS, { recursive: true });
    const file = join(SCREENSHOTS, 'chat.png');
    await page.screenshot({ path: file, fullPage: true, timeout: STEP_MS });
    const meta = await sharp(file).metadata();
    assert.equal(meta.format, 'png');
    assert.equal(meta.width, 1000, "the viewport's width");
    assert.ok(meta.height! >= 700, `at least the viewport's height, not ${meta.height}`);
    assert.ok(statSync(file).size > 20_000, `a page with text in it, not a blank image (${statSync(file).size} bytes)`);
    const { channels, isOpaque } = await sharp(file).stats();
    assert.ok(isOpaque);
    assert.ok(
      channels.some((c) => c.stdev > 20),
      'the image has contrast (text on a background)',
    );

    const viewport = page.viewportSize()!;
    let bottom = 0;
    for (const row of await page.locator('#chat tbody tr').all()) {
      assert.ok(await row.isVisible());
      const box = (await row.boundingBox())!;
      assert.ok(box.height > 10 && box.width > viewport.width / 2, `a row of readable size: ${JSON.stringify(box)}`);
      assert.ok(
        box.x >= 0 && box.x + box.width <= viewport.width,
        `a row inside the page's width: ${JSON.stringify(box)}`,
      );
      assert.ok(box.y >= bottom - 0.5, 'each row below the one before');
      bottom = box.y + box.height;
    }
    for (const selector of ['#status', '#chatform #handle', '#chatform #message', '#chatform button'])
      assert.ok(await page.locator(selector).isVisible(), `${selector} is visible`);
    assert.equal(await page.locator('#status').textContent(), 'Connected');
  });
});
