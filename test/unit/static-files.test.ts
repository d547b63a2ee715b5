// StaticFiles in-process: options, content types and headers, HEAD, 304s, byte ranges,
// refused paths (traversal, encoded separators, NUL, symlinks out, dotfiles), folder
// indexes, 405, mounting under URLRouter, the headers hook and the debug log.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Application } from '../../src/asgi/types.ts';
import { InvalidOptionError, UnknownScopeTypeError } from '../../src/errors.ts';
import { getLogLevel, setLogLevel, setLogSink } from '../../src/logging.ts';
import { path } from '../../src/routing/path-pattern.ts';
import { URLRouter } from '../../src/routing/url-router.ts';
import { MAX_RANGES } from '../../src/static/byte-range.ts';
import { StaticFiles, type StaticFilesOptions } from '../../src/static/static-files.ts';
import { HttpCommunicator } from '../../src/testing/http-communicator.ts';
import { WebsocketCommunicator } from '../../src/testing/websocket-communicator.ts';
import type { TestResponse } from '../../src/testing/http-communicator.ts';

let base: string;
let pub: string;
const MTIME = new Date('2024-03-01T12:00:00Z');
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 1, 2, 255]);

before(() => {
  base = mkdtempSync(join(tmpdir(), 'canal-static-'));
  pub = join(base, 'public');
  const files: Record<string, string | Buffer> = {
    'index.html': '<h1>home</h1>',
    'app.css': 'body { color: red }',
    'app.js': 'console.log(1)',
    'mod.mjs': 'export {}',
    'legacy.cjs': 'module.exports = {}',
    'feed.xml': '<feed/>',
    'data.json': '{"a":1}',
    'app.js.map': '{}',
    'logo.png': PNG,
    'UPPER.PNG': PNG,
    'font.woff2': Buffer.from('wOF2'),
    'icon.svg': '<svg/>',
    'page.htm': '<p>',
    'blob.nope': Buffer.from([1, 2, 3]),
    noext: 'x',
    'x.constructor': 'x',
    'ten.txt': '0123456789',
    'fifty.bin': Buffer.alloc(50, 7),
    'empty.txt': '',
    'café.txt': 'unicode name',
    '.env': 'SECRET=1',
    '.hidden/file.txt': 'hidden',
    'docs/index.html': '<h1>docs</h1>',
    'nodir/a.txt': 'a',
  };
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(pub, name, '..'), { recursive: true });
    writeFileSync(join(pub, name), content);
    utimesSync(join(pub, name), MTIME, MTIME);
  }
  writeFileSync(join(base, 'secret.txt'), 'TOP SECRET');
  mkdirSync(join(base, 'outside'));
  writeFileSync(join(base, 'outside', 'x.txt'), 'outside');
  symlinkSync(join(pub, 'ten.txt'), join(pub, 'link-in.txt'));
  symlinkSync(join(base, 'secret.txt'), join(pub, 'link-out.txt'));
  symlinkSync(join(base, 'outside'), join(pub, 'link-dir'));
});
after(() => rmSync(base, { recursive: true, force: true }));

function app(options: Partial<StaticFilesOptions> = {}): Application {
  return StaticFiles({ directory: pub, ...options });
}

async function get(
  a: Application,
  target: string,
  init: { method?: string; headers?: Record<string, string>; rootPath?: string } = {},
): Promise<TestResponse> {
  const comm = new HttpCommunicator(a, init.method ?? 'GET', target, {
    headers: init.headers ?? {},
    ...(init.rootPath ? { rootPath: init.rootPath } : {}),
  });
  const res = await comm.getResponse(2000);
  await comm.wait(2000);
  return res;
}

describe('StaticFiles: options are checked at construction', () => {
  test('a missing or non-folder directory names the path', () => {
    assert.throws(
      () => StaticFiles({ directory: join(base, 'nope') }),
      (err: unknown) => err instanceof InvalidOptionError && /directory .*nope.* does not exist/.test(err.message),
    );
    assert.throws(() => StaticFiles({ directory: join(base, 'secret.txt') }), /is not a folder/);
    assert.throws(() => StaticFiles({} as StaticFilesOptions), /directory must be the path of a folder/);
  });

  test('bad values and unknown keys name the option', () => {
    const bad: [Partial<StaticFilesOptions> & Record<string, unknown>, RegExp][] = [
      [{ maxAgeMs: -1 }, /maxAgeMs/],
      [{ maxAgeMs: Number.NaN }, /maxAgeMs/],
      [{ immutable: true }, /immutable needs maxAgeMs > 0/],
      [{ immutable: 'yes' as unknown as boolean, maxAgeMs: 1000 }, /immutable must be true or false/],
      [{ index: 'a/b.html' }, /index must be a file name/],
      [{ index: '..' }, /index must be a file name/],
      [{ dotfiles: 1 as unknown as boolean }, /dotfiles/],
      [{ headers: 'x' as unknown as StaticFilesOptions['headers'] }, /headers must be a function/],
      [{ maxAge: 10 }, /unknown option 'maxAge'/],
    ];
    for (const [options, message] of bad) {
      assert.throws(
        () => app(options),
        (err: unknown) => err instanceof InvalidOptionError && message.test(err.message),
        JSON.stringify(options),
      );
    }
  });
});

describe('StaticFiles: responses', () => {
  test('content types by extension, charset on text, unknown types download', async () => {
    const a = app();
    const expected: Record<string, string> = {
      '/index.html': 'text/html; charset=utf-8',
      '/page.htm': 'text/html; charset=utf-8',
      '/app.css': 'text/css; charset=utf-8',
      '/app.js': 'text/javascript; charset=utf-8',
      '/mod.mjs': 'text/javascript; charset=utf-8',
      '/data.json': 'application/json; charset=utf-8',
      '/app.js.map': 'application/json; charset=utf-8',
      '/ten.txt': 'text/plain; charset=utf-8',
      '/logo.png': 'image/png',
      '/UPPER.PNG': 'image/png',
      '/icon.svg': 'image/svg+xml',
      '/font.woff2': 'font/woff2',
      '/legacy.cjs': 'text/javascript; charset=utf-8',
      '/feed.xml': 'application/xml; charset=utf-8',
      '/blob.nope': 'application/octet-stream',
      '/noext': 'application/octet-stream',
      '/x.constructor': 'application/octet-stream',
    };
    for (const [target, type] of Object.entries(expected)) {
      const res = await get(a, target);
      assert.equal(res.status, 200, target);
      assert.equal(res.header('content-type'), type, target);
    }
  });

  test('body, content-length, nosniff, validators and no-cache by default', async () => {
    const res = await get(app(), '/logo.png');
    assert.deepEqual(res.body, PNG);
    assert.equal(res.header('content-length'), String(PNG.length));
    assert.equal(res.header('x-content-type-options'), 'nosniff');
    assert.equal(res.header('cache-control'), 'no-cache');
    assert.equal(res.header('accept-ranges'), 'bytes');
    assert.equal(res.header('last-modified'), MTIME.toUTCString());
    assert.match(res.header('etag')!, /^"[0-9a-f]+-[0-9a-f]+"$/);
  });

  test('maxAgeMs and immutable make Cache-Control', async () => {
    assert.equal((await get(app({ maxAgeMs: 3_600_000 }), '/app.css')).header('cache-control'), 'public, max-age=3600');
    assert.equal(
      (await get(app({ maxAgeMs: 31_536_000_000, immutable: true }), '/app.css')).header('cache-control'),
      'public, max-age=31536000, immutable',
    );
  });

  test('the ETag changes when the file changes', async () => {
    const file = join(pub, 'changing.txt');
    writeFileSync(file, 'one');
    utimesSync(file, MTIME, MTIME);
    const first = (await get(app(), '/changing.txt')).header('etag');
    writeFileSync(file, 'two!');
    const second = (await get(app(), '/changing.txt')).header('etag');
    assert.notEqual(first, second);
    rmSync(file);
  });

  test('a percent-encoded name is served; an empty file has an empty body', async () => {
    const res = await get(app(), '/caf%C3%A9.txt');
    assert.equal(res.text(), 'unicode name');
    const empty = await get(app(), '/empty.txt');
    assert.equal(empty.status, 200);
    assert.equal(empty.header('content-length'), '0');
    assert.equal(empty.body.length, 0);
  });

  test('HEAD: the same headers, no body', async () => {
    const res = await get(app(), '/ten.txt', { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.header('content-length'), '10');
    assert.equal(res.header('content-type'), 'text/plain; charset=utf-8');
    assert.equal(res.body.length, 0);
  });

  test('other methods: 405 with allow', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
      const res = await get(app(), '/ten.txt', { method });
      assert.equal(res.status, 405, method);
      assert.equal(res.header('allow'), 'GET, HEAD');
    }
  });

  test('the headers hook adds headers and replaces defaults of the same name', async () => {
    const seen: string[] = [];
    const a = app({
      headers: (p, stats) => {
        seen.push(`${p}:${stats.size}`);
        return p.endsWith('.html')
          ? { 'Cache-Control': 'no-store', 'x-frame-options': 'DENY' }
          : [['link', '</app.css>; rel=preload']];
      },
    });
    const html = await get(a, '/docs/');
    assert.equal(html.header('cache-control'), 'no-store');
    assert.equal(html.headers.filter(([k]) => k.toString() === 'cache-control').length, 1);
    assert.equal(html.header('x-frame-options'), 'DENY');
    assert.equal((await get(a, '/ten.txt')).header('link'), '</app.css>; rel=preload');
    assert.deepEqual(seen, ['docs/index.html:13', 'ten.txt:10']);
  });
});

describe('StaticFiles: conditional requests', () => {
  test('If-None-Match: 304 with no body for the current ETag (exact, in a list, weak, *)', async () => {
    const a = app();
    const etag = (await get(a, '/ten.txt')).header('etag')!;
    for (const value of [etag, `"other", ${etag}`, `W/${etag}`, '*']) {
      const res = await get(a, '/ten.txt', { headers: { 'if-none-match': value } });
      assert.equal(res.status, 304, value);
      assert.equal(res.body.length, 0);
      assert.equal(res.header('etag'), etag);
      assert.equal(res.header('content-type'), undefined);
    }
    assert.equal((await get(a, '/ten.txt', { headers: { 'if-none-match': '"stale"' } })).status, 200);
  });

  test('If-Modified-Since: 304 when not older than the file, 200 when older or invalid', async () => {
    const a = app();
    const at = (d: Date) => get(a, '/ten.txt', { headers: { 'if-modified-since': d.toUTCString() } });
    assert.equal((await at(MTIME)).status, 304);
    assert.equal((await at(new Date(MTIME.getTime() + 60_000))).status, 304);
    assert.equal((await at(new Date(MTIME.getTime() - 1000))).status, 200);
    assert.equal((await get(a, '/ten.txt', { headers: { 'if-modified-since': 'yesterday' } })).status, 200);
  });

  test('If-None-Match wins over If-Modified-Since', async () => {
    const res = await get(app(), '/ten.txt', {
      headers: { 'if-none-match': '"stale"', 'if-modified-since': MTIME.toUTCString() },
    });
    assert.equal(res.status, 200);
  });
});

describe('StaticFiles: byte ranges', () => {
  const range = (value: string, extra: Record<string, string> = {}) =>
    get(app(), '/ten.txt', { headers: { range: value, ...extra } });

  test('bytes=a-b, a-, -n, and an end past the file', async () => {
    const cases: [string, string, string][] = [
      ['bytes=0-4', '01234', 'bytes 0-4/10'],
      ['bytes=5-', '56789', 'bytes 5-9/10'],
      ['bytes=-3', '789', 'bytes 7-9/10'],
      ['bytes=8-100', '89', 'bytes 8-9/10'],
      ['bytes=-100', '0123456789', 'bytes 0-9/10'],
      ['BYTES = 2-2', '2', 'bytes 2-2/10'],
    ];
    for (const [value, body, contentRange] of cases) {
      const res = await range(value);
      assert.equal(res.status, 206, value);
      assert.equal(res.text(), body, value);
      assert.equal(res.header('content-range'), contentRange, value);
      assert.equal(res.header('content-length'), String(body.length), value);
    }
  });

  test('unsatisfiable: 416 with content-range bytes */size', async () => {
    // An end before the start is a range no byte satisfies (range-parser), as RFC 9110 §15.5.17 allows.
    for (const value of ['bytes=10-', 'bytes=50-60', 'bytes=-0', 'bytes=5-2', 'bytes=10-12, 20-']) {
      const res = await range(value);
      assert.equal(res.status, 416, value);
      assert.equal(res.header('content-range'), 'bytes */10');
    }
    const empty = await get(app(), '/empty.txt', { headers: { range: 'bytes=0-' } });
    assert.equal(empty.status, 416);
  });

  test('malformed headers, other units and too many ranges get the whole file (200)', async () => {
    const many = `bytes=${Array.from({ length: MAX_RANGES + 1 }, (_, i) => `${i * 2}-${i * 2}`).join(',')}`;
    const big = app();
    for (const value of ['bytes=x-y', 'items=0-1', 'bytes=-', 'bytes=0-1;4-5', 'bytes']) {
      const res = await range(value);
      assert.equal(res.status, 200, value);
      assert.equal(res.text(), '0123456789', value);
      assert.equal(res.header('content-range'), undefined);
    }
    const res = await get(big, '/fifty.bin', { headers: { range: many } });
    assert.equal(res.status, 200, `${MAX_RANGES + 1} ranges`);
    assert.equal(res.body.length, 50);
    const most = `bytes=${Array.from({ length: MAX_RANGES }, (_, i) => `${i * 2}-${i * 2}`).join(',')}`;
    assert.equal((await get(big, '/fifty.bin', { headers: { range: most } })).status, 206, `${MAX_RANGES} ranges`);
  });

  test('a range past the end of the file is dropped when another one is satisfiable', async () => {
    const res = await range('bytes=2-3, 40-50');
    assert.equal(res.status, 206);
    assert.equal(res.header('content-range'), 'bytes 2-3/10');
    assert.equal(res.text(), '23');
  });

  test('If-Range: the range only while the ETag or date still matches', async () => {
    const etag = (await get(app(), '/ten.txt')).header('etag')!;
    assert.equal((await range('bytes=0-1', { 'if-range': etag })).status, 206);
    assert.equal((await range('bytes=0-1', { 'if-range': '"old"' })).status, 200);
    assert.equal(
      (await range('bytes=0-1', { 'if-range': `W/${etag}` })).status,
      200,
      'a weak tag never matches If-Range',
    );
    assert.equal((await range('bytes=0-1', { 'if-range': MTIME.toUTCString() })).status, 206);
    assert.equal(
      (await range('bytes=0-1', { 'if-range': new Date(MTIME.getTime() - 5000).toUTCString() })).status,
      200,
    );
  });
});

describe('StaticFiles: paths that must not be served (404)', () => {
  test('traversal: .., encoded dots, encoded slashes and backslashes, NUL, absolute, empty segments', async () => {
    const a = app();
    for (const target of [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2E%2E/%2E%2E/etc/passwd',
      '/docs/../../secret.txt',
      '/..%2fsecret.txt',
      '/..%2Fsecret.txt',
      '/docs%2findex.html',
      '/..%5csecret.txt',
      '/..\\secret.txt',
      '/ten.txt%00.png',
      '//etc/passwd',
      '/docs//index.html',
      '/./ten.txt',
      '/ten.txt/',
    ]) {
      const res = await get(a, target);
      assert.equal(res.status, 404, target);
      assert.doesNotMatch(res.text(), /SECRET|root:/, target);
    }
  });

  test('a symlink resolving outside the folder is refused; one inside is served', async () => {
    const a = app();
    assert.equal((await get(a, '/link-out.txt')).status, 404);
    assert.equal((await get(a, '/link-dir/x.txt')).status, 404);
    const inner = await get(a, '/link-in.txt');
    assert.equal(inner.status, 200);
    assert.equal(inner.text(), '0123456789');
  });

  test('missing files and folders without an index are 404', async () => {
    assert.equal((await get(app(), '/nope.css')).status, 404);
    assert.equal((await get(app(), '/nodir/')).status, 404);
    assert.equal((await get(app(), '/nodir')).status, 404);
  });

  test('dotfiles are refused unless allowed; .. stays refused either way', async () => {
    assert.equal((await get(app(), '/.env')).status, 404);
    assert.equal((await get(app(), '/.hidden/file.txt')).status, 404);
    const allowed = app({ dotfiles: true });
    assert.equal((await get(allowed, '/.env')).text(), 'SECRET=1');
    assert.equal((await get(allowed, '/.hidden/file.txt')).text(), 'hidden');
    assert.equal((await get(allowed, '/../secret.txt')).status, 404);
  });
});

describe('StaticFiles: folders', () => {
  test('a folder with a trailing slash serves its index', async () => {
    assert.equal((await get(app(), '/')).text(), '<h1>home</h1>');
    const docs = await get(app(), '/docs/');
    assert.equal(docs.text(), '<h1>docs</h1>');
    assert.equal(docs.header('content-type'), 'text/html; charset=utf-8');
  });

  test('a folder without its slash is redirected (query kept); index: false serves no index', async () => {
    const res = await get(app(), '/docs?x=1');
    assert.equal(res.status, 301);
    assert.equal(res.header('location'), './docs/?x=1');
    assert.equal((await get(app({ index: false }), '/docs/')).status, 404);
    assert.equal((await get(app({ index: 'ten.txt' }), '/')).text(), '0123456789');
  });
});

describe('StaticFiles: mounting', () => {
  test('under URLRouter it serves the rest of the path', async () => {
    const router = URLRouter([path('static/', app()), path('other/', app({ index: false }))]);
    const res = await get(router, '/static/app.css');
    assert.equal(res.status, 200);
    assert.equal(res.text(), 'body { color: red }');
    assert.equal((await get(router, '/static/docs/')).text(), '<h1>docs</h1>');
    assert.equal((await get(router, '/static/../secret.txt')).status, 404);
    assert.equal((await get(router, '/static/%2e%2e/secret.txt')).status, 404);
  });

  test('nested routers pass the remainder on', async () => {
    const router = URLRouter([path('assets/', URLRouter([path('v1/', app())]))]);
    assert.equal((await get(router, '/assets/v1/ten.txt')).text(), '0123456789');
  });

  test('not mounted: the path without root_path', async () => {
    assert.equal((await get(app(), '/ten.txt')).text(), '0123456789');
    assert.equal((await get(app(), '/prefix/ten.txt', { rootPath: '/prefix' })).text(), '0123456789');
  });

  test('a websocket scope is an UnknownScopeTypeError', async () => {
    const comm = new WebsocketCommunicator(app(), '/ten.txt');
    await assert.rejects(comm.connect(1000), UnknownScopeTypeError);
  });
});

describe('StaticFiles: streaming', () => {
  test('a large file goes out in chunks with more_body, and stops at http.disconnect', async () => {
    const size = 16 * 1024 * 1024;
    writeFileSync(join(pub, 'big.bin'), '');
    truncateSync(join(pub, 'big.bin'), size);
    try {
      const whole = await get(app(), '/big.bin');
      assert.equal(whole.body.length, size);
      assert.ok(whole.chunks.length >= size / (64 * 1024), `${whole.chunks.length} chunks`);

      const comm = new HttpCommunicator(app(), 'GET', '/big.bin');
      await comm.sendRequest();
      assert.equal((await comm.receiveOutput(2000)).type, 'http.response.start');
      const first = await comm.receiveOutput(2000);
      assert.equal(first.type === 'http.response.body' && first.more_body, true);
      await comm.sendInput({ type: 'http.disconnect' });
      await comm.wait(2000);
      let bodies = 1;
      while (!(await comm.receiveNothing(0))) {
        const e = await comm.receiveOutput(100);
        if (e.type === 'http.response.body') bodies++;
      }
      assert.ok(
        bodies < whole.chunks.length / 2,
        `${bodies} of ${whole.chunks.length} chunks were sent after the client left`,
      );
    } finally {
      rmSync(join(pub, 'big.bin'));
    }
  });
});

describe('StaticFiles: logging', () => {
  test('one debug line per request under [static]', async () => {
    const lines: string[] = [];
    const prevSink = setLogSink((line) => lines.push(line));
    const prevLevel = getLogLevel();
    setLogLevel('debug');
    try {
      await get(app(), '/ten.txt');
      await get(app(), '/../secret.txt');
    } finally {
      setLogSink(prevSink);
      setLogLevel(prevLevel);
    }
    const mine = lines.filter((l) => l.includes('[static]'));
    assert.equal(mine.length, 2, mine.join('\n'));
    assert.match(mine[0]!, /DEBUG \[static\] GET \/ten\.txt → 200 ten\.txt \(10 bytes\)/);
    assert.match(mine[1]!, /→ 404 \(refused path\)/);
  });
});
