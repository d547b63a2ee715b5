// Headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core, and the chat page's
// moves: type into the form, wait for a row. Every wait has a timeout.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, afterEach, before } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CANAL_TEST_CHROMIUM ?? '/usr/bin/chromium';
/** What one step in a page may take: a message crossing two servers and Redis, a reconnect. */
export const STEP_MS = 10_000;

/** Fails (never skips) with the fix when Chromium is not installed. `args`: more command-line flags. */
export async function launchChromium(args: string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}; the end-to-end tests need it: ` +
        `apt-get install chromium (or set CANAL_TEST_CHROMIUM)`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...args,
    ],
    timeout: 30_000,
  });
}

/** Uncaught errors of the pages of a context, so a test can check the page's script never threw. */
async function newContext(browser: Browser): Promise<{ context: BrowserContext; pageErrors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  context.setDefaultTimeout(STEP_MS);
  const pageErrors: string[] = [];
  context.on('page', (page) => page.on('pageerror', (err) => pageErrors.push(`${page.url()}: ${err.message}`)));
  return { context, pageErrors };
}

/**
 * The usual setup of a browser test file: one Chromium for the file, a fresh context per call
 * of `context()` (its own cookies and localStorage; the chat keeps the handle there), closed
 * after the test, which then fails if a page's script threw.
 */
export function browserFixture(): { context(): Promise<BrowserContext> } {
  let browser: Browser | null = null;
  const current: { context: BrowserContext; pageErrors: string[] }[] = [];
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close().catch(() => {});
  });
  afterEach(async () => {
    const contexts = current.splice(0);
    const pageErrors: string[] = [];
    for (const c of contexts) {
      await c.context.close().catch(() => {});
      pageErrors.push(...c.pageErrors);
    }
    assert.deepEqual(pageErrors, [], "the pages' scripts threw no uncaught error");
  });
  return {
    async context() {
      if (!browser) throw new Error('the browser fixture is used before its before() hook ran');
      const made = await newContext(browser);
      current.push(made);
      return made.context;
    },
  };
}

/** Opens a room page and waits until its WebSocket is open. */
export async function openRoom(context: BrowserContext, baseUrl: string, label: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${baseUrl}/chat/${label}/`);
  await waitForSocket(page, 'open');
  return page;
}

/** The page's own report of its socket: `document.body.dataset.socket` (static/connection-status.js). */
export async function waitForSocket(
  page: Page,
  state: 'open' | 'closed' | 'connecting',
  timeout = STEP_MS,
): Promise<void> {
  await page.waitForSelector(`body[data-socket="${state}"]`, { state: 'attached', timeout });
}

/**
 * Types a message into the page's form and sends it with Enter, as a user does. (Enter, not a
 * mouse click: Playwright's click waits for animation frames, which Chromium holds back for a
 * page that is not in front, and the tests keep several open.)
 */
export async function say(page: Page, handle: string, message: string): Promise<void> {
  await page.fill('#handle', handle);
  await page.fill('#message', message);
  await page.press('#message', 'Enter');
  // The form empties the field once the socket took the message.
  await page.waitForSelector('#message:placeholder-shown', { state: 'attached', timeout: STEP_MS });
}

/** Waits for a row of the chat table whose message cell is exactly `message`. */
export async function waitForMessage(page: Page, message: string, timeout = STEP_MS): Promise<void> {
  await page
    .locator('#chat tbody td:nth-child(3)', { hasText: exactly(message) })
    .first()
    .waitFor({ state: 'attached', timeout });
}

/** The message cells of the chat table, top to bottom. */
export function messages(page: Page): Promise<string[]> {
  return page.locator('#chat tbody td:nth-child(3)').allTextContents();
}

export function exactly(text: string): RegExp {
  return new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
}
