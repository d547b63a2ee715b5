// `canal dev` on real processes and sockets: a saved file is served within two seconds, open
// WebSockets are closed with 1012, a broken app is a 500 page naming the file (and its error is in
// the terminal) until a save mends it, no connection is refused during a reload, ignored files
// reload nothing, and SIGTERM exits 0.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { runCli, startCli, stop, tempDir, type Cli } from './cli-helpers.ts';
import { closed, opened, sleep } from './server-ws-helpers.ts';

/** An app that answers `version` to HTTP, and greets a WebSocket with it. */
const app = (version: string) => `export default async function app(scope, receive, send) {
  if (scope.type === 'websocket') {
    await receive();
    await send({ type: 'websocket.accept' });
    await send({ type: 'websocket.send', text: ${JSON.stringify(version)} });
    for (;;) if ((await receive()).type === 'websocket.disconnect') return;
  }
  if (scope.type !== 'http') return;
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
  await send({ type: 'http.response.body', body: Buffer.from(${JSON.stringify(version)}) });
}
`;

/** One GET on a connection of its own: a connection the old process kept cannot answer for the new one. */
function getOnce(url: string, timeoutMs = 3000): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject).on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

/** Polls until `check` holds for a response; fails with the last one after `ms`. */
async function served(url: string, check: (r: { status: number; text: string }) => boolean, ms: number) {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const r = await getOnce(url);
      if (check(r)) return r;
      last = r;
    } catch (err) {
      last = err;
    }
    await sleep(25);
  }
  throw new Error(`not served within ${ms} ms; last: ${JSON.stringify(last) ?? String(last)}`);
}

async function dev(args: string[], cwd: string): Promise<Cli & { url: string }> {
  const cli = startCli(['dev', ...args], { cwd });
  const m = await cli.waitFor(/canal: listening on (http:\/\/\S+) \(pid (\d+)\)/);
  return Object.assign(cli, { url: m[1]! });
}

describe('canal dev', () => {
  it('serves a saved change within 2 s, closes WebSockets with 1012, shows a broken app as a page', async () => {
    const tmp = tempDir();
    const file = join(tmp.dir, 'app.ts');
    writeFileSync(file, app('v1'));
    const cli = await dev(['app.ts', '--port', '0'], tmp.dir);
    try {
      assert.match(cli.stdout(), /app app\.ts:default, layer memory; reloading on changes in \./);
      assert.equal((await getOnce(cli.url)).text, 'v1');
      const ws = new WebSocket(cli.url.replace('http:', 'ws:'));
      const greeting = new Promise((resolve) => ws.once('message', (d) => resolve(String(d))));
      await opened(ws);
      assert.equal(await greeting, 'v1');
      const wsClosed = closed(ws);

      writeFileSync(file, app('v2'));
      await served(cli.url, (r) => r.text === 'v2', 2000);
      assert.equal((await wsClosed).code, 1012);
      await cli.waitFor(/canal: reloaded in \d+ ms: app\.ts changed/, 2000);

      // Two processes start before the page is up (the app's, which fails, then the page's).
      writeFileSync(file, `${app('v3')}\nexport const broken = ;\n`);
      const page = await served(cli.url, (r) => r.status === 500, 5000);
      assert.match(page.text, /The app failed to load/);
      assert.match(page.text, /app\.ts:13:23/);
      assert.match(cli.stderr(), /canal: cannot load \S*app\.ts: \S*app\.ts:13:23/);
      // WebSockets are refused while the app is broken.
      const refused = new WebSocket(cli.url.replace('http:', 'ws:'));
      const outcome = await new Promise<string>((resolve) => {
        refused.once('open', () => resolve('open'));
        refused.once('error', (err) => resolve(err.message));
      });
      assert.notEqual(outcome, 'open');

      writeFileSync(file, app('v3'));
      await served(cli.url, (r) => r.status === 200 && r.text === 'v3', 2000);
    } finally {
      assert.equal(await stop(cli), 0);
      tmp.remove();
    }
    assert.match(cli.stdout(), /canal: SIGTERM, shutting down/);
  });

  it('refuses no connection while the app is started again', async () => {
    const tmp = tempDir();
    const file = join(tmp.dir, 'app.mjs');
    writeFileSync(file, app('v1'));
    const cli = await dev(['app.mjs', '--port', '0'], tmp.dir);
    try {
      const answers: string[] = [];
      const failures: string[] = [];
      let going = true;
      const load = (async () => {
        while (going) {
          try {
            answers.push((await getOnce(cli.url)).text);
          } catch (err) {
            failures.push((err as Error).message);
          }
        }
      })();
      await sleep(100);
      writeFileSync(file, app('v2'));
      await cli.waitFor(/canal: reloaded in/, 3000);
      await sleep(200);
      going = false;
      await load;
      assert.deepEqual(failures, []);
      assert.ok(answers.includes('v1') && answers.at(-1) === 'v2', `answers: ${answers.join(' ')}`);
    } finally {
      assert.equal(await stop(cli), 0);
      tmp.remove();
    }
  });

  it('serves the error page of an app broken from the start, and recovers; ignored files reload nothing', async () => {
    const tmp = tempDir();
    const file = join(tmp.dir, 'app.mjs');
    writeFileSync(file, 'throw new Error("no DATABASE_URL <here>");\n');
    const cli = await dev([file, '--port', '0'], tmp.dir);
    try {
      assert.match(cli.stdout(), /the app failed to load/);
      const page = await getOnce(cli.url);
      assert.equal(page.status, 500);
      assert.match(page.text, /no DATABASE_URL &lt;here&gt;/);
      assert.match(page.text, /app\.mjs:1/);

      writeFileSync(file, app('v1'));
      await served(cli.url, (r) => r.text === 'v1', 2000);
      await cli.waitFor(/canal: reloaded in/, 2000);
      const before = cli.stdout();
      mkdirSync(join(tmp.dir, 'node_modules/pkg'), { recursive: true });
      writeFileSync(join(tmp.dir, 'node_modules/pkg/index.js'), '');
      writeFileSync(join(tmp.dir, '.env'), 'A=1');
      writeFileSync(join(tmp.dir, 'access.log'), 'GET /');
      writeFileSync(join(tmp.dir, 'chat.sqlite3-journal'), '');
      await sleep(500);
      assert.equal(cli.stdout(), before);
    } finally {
      assert.equal(await stop(cli), 0);
      tmp.remove();
    }
  });

  it('refuses flags that need more than one process or another listener (exit 2)', async () => {
    const processes = await runCli(['dev', 'app.ts', '--processes', '2']);
    assert.equal(processes.code, 2);
    assert.match(processes.stderr, /unknown option --processes/);
    const help = await runCli(['dev', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /usage: canal dev \[app\]/);
  });
});
