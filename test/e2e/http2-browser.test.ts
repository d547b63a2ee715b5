// Chromium loads a page and fetches from it over HTTP/2 (h2 by ALPN on a TLS listener with the
// `http2` option), the protocol a browser picks when the server offers it.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import type { Application } from '../../src/asgi/types.ts';
import { createServer } from '../../src/server/server.ts';
import { makeCerts, type TestCerts } from '../integration/tls-certs.ts';
import { launchChromium, STEP_MS } from './browser.ts';

const PAGE = '<!doctype html><title>h2</title><p id="v"></p>';

const app: Application = async (scope, receive, send) => {
  if (scope.type !== 'http') return;
  await receive();
  const html = scope.path === '/';
  await send({
    type: 'http.response.start',
    status: 200,
    headers: [['content-type', html ? 'text/html; charset=utf-8' : 'text/plain']],
  });
  await send({ type: 'http.response.body', body: html ? PAGE : `http_version ${scope.http_version}` });
};

describe('HTTP/2 in Chromium', { timeout: 60_000 }, () => {
  let certs: TestCerts;
  let browser: Browser;
  before(async () => {
    certs = makeCerts();
    // The test CA is not one Chromium trusts: certificate errors are let through here only.
    browser = await launchChromium(['--ignore-certificate-errors']);
  });
  after(async () => {
    await browser?.close().catch(() => {});
    certs.remove();
  });

  it('a page over h2: nextHopProtocol is h2, the app sees http_version 2', async () => {
    const server = createServer(app, { port: 0, http2: true, tls: { key: certs.serverKey, cert: certs.serverCert } });
    const { port } = await server.listen();
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(STEP_MS);
      await page.goto(`https://localhost:${port}/`);
      const protocol = await page.evaluate(
        () => (performance.getEntries()[0] as unknown as { nextHopProtocol: string }).nextHopProtocol,
      );
      assert.equal(protocol, 'h2');
      const said = await page.evaluate(() => fetch('/version').then((r) => r.text()));
      assert.equal(said, 'http_version 2');
    } finally {
      await context.close().catch(() => {});
      await server.close();
    }
  });
});
