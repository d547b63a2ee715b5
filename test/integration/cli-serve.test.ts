// `canal serve` as a child process: listening line, export selection, PORT, canal.config.ts,
// access log, lifespan, and graceful shutdown on SIGTERM.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WebSocket } from 'ws';
import { FIXTURES, ROOT, get, runCli, serve, startCli, stop, tempDir } from './cli-helpers.ts';

const APP = join(FIXTURES, 'cli-app.ts');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

describe('canal serve', { concurrency: 3 }, () => {
  it('prints where it listens, serves the default export, and exits 0 on SIGTERM after lifespan shutdown', async () => {
    const cli = await serve([APP, '--port', '0']);
    try {
      assert.match(cli.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.match(cli.stdout(), new RegExp(`\\(pid ${cli.child.pid}\\)`));
      const res = await get(`${cli.url}/hello`);
      assert.equal(res.status, 200);
      assert.equal(res.text, 'default GET /hello root= state=default');
    } finally {
      assert.equal(await stop(cli), 0);
    }
    assert.match(cli.stdout(), /fixture: lifespan shutdown \(default\)/);
  });

  it('serves a named export given as module:export, with a path relative to the working directory', async () => {
    const cli = await serve(['fixtures/cli-app.ts:other', '--port', '0'], { cwd: join(ROOT, 'test') });
    try {
      assert.equal((await get(`${cli.url}/x`)).text, 'other GET /x root= state=other');
    } finally {
      assert.equal(await stop(cli), 0);
    }
  });

  it("falls back to the 'application' export, and finds the file without its extension", async () => {
    const cli = await serve([join(FIXTURES, 'cli-only-application'), '--port', '0']);
    try {
      assert.equal((await get(cli.url)).text, 'from application');
    } finally {
      assert.equal(await stop(cli), 0);
    }
  });

  it('listens on PORT from the environment, and --port wins over it', async () => {
    const port = await freePort();
    const cli = await serve([APP], { env: { PORT: String(port) } });
    try {
      assert.equal(cli.url, `http://127.0.0.1:${port}`);
      assert.equal((await get(cli.url)).status, 200);
    } finally {
      assert.equal(await stop(cli), 0);
    }
    const flagged = await serve([APP, '--port', '0'], { env: { PORT: String(port) } });
    try {
      assert.notEqual(flagged.url, `http://127.0.0.1:${port}`);
    } finally {
      // Straight after the listening line: the signal handlers must already be in place.
      assert.equal(await stop(flagged), 0);
    }
  });

  it('maps --root-path onto scope.root_path', async () => {
    const cli = await serve([APP, '--port', '0', '--root-path', '/mounted/']);
    try {
      assert.equal((await get(`${cli.url}/a`)).text, 'default GET /a root=/mounted state=default');
    } finally {
      assert.equal(await stop(cli), 0);
    }
  });

  it('picks up application and server options from canal.config.ts in the working directory', async () => {
    const tmp = tempDir();
    try {
      // No package.json here: the config and app load as CommonJS TypeScript.
      writeFileSync(
        join(tmp.dir, 'app.ts'),
        `export const api = async (scope: any, _receive: any, send: any) => {
          if (scope.type !== 'http') return;
          await send({ type: 'http.response.start', status: 200 });
          await send({ type: 'http.response.body', body: 'config app at ' + scope.root_path });
        };\n`,
      );
      writeFileSync(
        join(tmp.dir, 'canal.config.ts'),
        `export default { application: './app.ts:api', server: { port: 0, rootPath: '/from-config' } };\n`,
      );
      const cli = await serve([], { cwd: tmp.dir });
      try {
        assert.equal((await get(cli.url)).text, 'config app at /from-config');
      } finally {
        assert.equal(await stop(cli), 0);
      }
      // A flag overrides the config's server option.
      const flagged = await serve(['--root-path', '/from-flag'], { cwd: tmp.dir });
      try {
        assert.equal((await get(flagged.url)).text, 'config app at /from-flag');
      } finally {
        assert.equal(await stop(flagged), 0);
      }
    } finally {
      tmp.remove();
    }
  });

  it("configures the config's channel layers before the app module is imported", async () => {
    const tmp = tempDir();
    try {
      const registry = pathToFileURL(join(ROOT, 'src/layers/registry.ts')).href;
      writeFileSync(join(tmp.dir, 'package.json'), '{ "type": "module" }\n');
      writeFileSync(
        join(tmp.dir, 'app.ts'),
        `import { getChannelLayer } from ${JSON.stringify(registry)};
        // Top level: this throws unless the CLI configured the 'jobs' alias first.
        const layer = getChannelLayer('jobs') as unknown as { expiry: number };
        export default async (scope: any, _receive: any, send: any) => {
          if (scope.type !== 'http') return;
          await send({ type: 'http.response.start', status: 200 });
          await send({ type: 'http.response.body', body: 'jobs expiry ' + layer.expiry });
        };\n`,
      );
      writeFileSync(
        join(tmp.dir, 'canal.config.mjs'),
        `export default { application: 'app.ts', channelLayers: { default: { backend: 'memory' }, ` +
          `jobs: { backend: 'memory', options: { expiry: 7 } } } };\n`,
      );
      const cli = await serve(['--port', '0'], { cwd: tmp.dir });
      try {
        assert.equal((await get(cli.url)).text, 'jobs expiry 7');
      } finally {
        assert.equal(await stop(cli), 0);
      }
    } finally {
      tmp.remove();
    }
  });

  it('writes an access log line per request to the --access-log file', async () => {
    const tmp = tempDir();
    try {
      const log = join(tmp.dir, 'access.log');
      const cli = await serve([APP, '--port', '0', '--access-log', log]);
      try {
        await get(`${cli.url}/logged?x=1`);
        await get(`${cli.url}/again`);
      } finally {
        assert.equal(await stop(cli), 0);
      }
      const lines = readFileSync(log, 'utf8').trim().split('\n');
      assert.equal(lines.length, 2);
      assert.match(lines[0]!, /^127\.0\.0\.1:\d+ - - \[.+\] "GET \/logged\?x=1 HTTP\/1\.1" 200 \d+ \d+\.\d{3}$/);
      assert.match(lines[1]!, /"GET \/again HTTP\/1\.1" 200/);
    } finally {
      tmp.remove();
    }
  });

  it('--access-log - writes the access log to stdout', async () => {
    const cli = await serve([APP, '--port', '0', '--access-log', '-']);
    try {
      await get(`${cli.url}/to-stdout`);
      await cli.waitFor(/"GET \/to-stdout HTTP\/1\.1" 200/, 3000);
    } finally {
      assert.equal(await stop(cli), 0);
    }
  });

  it('on SIGTERM lets an in-flight response finish, then exits 0', async () => {
    const cli = await serve([APP, '--port', '0']);
    const res = await fetch(`${cli.url}/slow?ms=700`, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 200);
    cli.child.kill('SIGTERM');
    assert.equal(await res.text(), 'slow done');
    assert.equal(await cli.exited(), 0);
    assert.match(cli.stdout(), /SIGTERM, shutting down/);
  });

  it('cuts in-flight responses after --drain-timeout', async () => {
    // The /slow app ignores http.disconnect: after the cut it has --application-close-timeout to return.
    const cli = await serve([APP, '--port', '0', '--drain-timeout', '0.3', '--application-close-timeout', '0.5']);
    const res = await fetch(`${cli.url}/slow?ms=4000`, { signal: AbortSignal.timeout(5000) });
    const started = Date.now();
    cli.child.kill('SIGTERM');
    await assert.rejects(res.text());
    assert.equal(await cli.exited(), 0);
    assert.ok(Date.now() - started < 3000, 'shutdown did not wait for the 4 s response');
  });

  it('an app error gives 500, is logged once with the path, and the server keeps serving', async () => {
    const cli = await serve([APP, '--port', '0']);
    try {
      assert.equal((await get(`${cli.url}/raise`)).status, 500);
      assert.equal((await get(`${cli.url}/after`)).text, 'default GET /after root= state=default');
    } finally {
      assert.equal(await stop(cli), 0);
    }
    const lines = cli
      .stderr()
      .split('\n')
      .filter((l) => l.includes('the application raised'));
    assert.equal(lines.length, 1, cli.stderr());
    assert.match(lines[0]!, /ERROR \[server\] GET \/raise: the application raised Error: fixture failure on purpose/);
  });

  it('on SIGTERM closes open WebSockets with 1012 and exits 0', async () => {
    const cli = await serve([APP, '--port', '0']);
    const ws = new WebSocket(cli.url.replace('http', 'ws') + '/ws');
    const closed = new Promise<number>((resolve, reject) => {
      ws.once('close', (code) => resolve(code));
      ws.once('error', reject);
      setTimeout(() => reject(new Error('no close within 5 s')), 5000).unref();
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => ws.send('ping'));
      ws.once('message', (data) =>
        String(data) === 'ping' ? resolve() : reject(new Error(`echo was ${String(data)}`)),
      );
      ws.once('error', reject);
    });
    cli.child.kill('SIGTERM');
    assert.equal(await closed, 1012);
    assert.equal(await cli.exited(), 0);
    assert.match(cli.stdout(), /fixture: websocket disconnect 1012/);
  });

  it('a second signal forces exit 1', async () => {
    const cli = await serve([APP, '--port', '0']);
    const res = await fetch(`${cli.url}/slow?ms=4000`, { signal: AbortSignal.timeout(5000) });
    cli.child.kill('SIGINT');
    await cli.waitFor(/SIGINT, shutting down/, 3000);
    cli.child.kill('SIGINT');
    assert.equal(await cli.exited(), 1);
    await res.text().catch(() => {});
  });

  it('reports a failed lifespan startup and exits 1 without listening', async () => {
    const { code, stdout, stderr } = await runCli(['serve', join(FIXTURES, 'cli-lifespan-fails.ts'), '--port', '0']);
    assert.equal(code, 1);
    assert.match(stderr, /startup failed: database unreachable/);
    assert.doesNotMatch(stdout, /listening/);
  });

  it('reports a port in use in one line and exits 1', async () => {
    const cli = await serve([APP, '--port', '0']);
    try {
      const port = new URL(cli.url).port;
      const { code, stderr } = await runCli(['serve', APP, '--port', port]);
      assert.equal(code, 1);
      assert.match(stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the address is in use`));
      assert.doesNotMatch(stderr, /\n\s+at /);
    } finally {
      assert.equal(await stop(cli), 0);
    }
  });

  it('serve --help lists every flag and exits 0', async () => {
    const cli = startCli(['serve', '--help']);
    assert.equal(await cli.exited(), 0);
    for (const flag of [
      '--host',
      '--port',
      '--root-path',
      '--websocket-max-message-size',
      '--websocket-handshake-timeout',
      '--ping-interval',
      '--ping-timeout',
      '--websocket-timeout',
      '--http-timeout',
      '--application-close-timeout',
      '--max-request-body-size',
      '--max-header-count',
      '--max-header-size',
      '--max-buffered-bytes',
      '--drain-timeout',
      '--access-log',
      '--log-level',
    ]) {
      assert.ok(cli.stdout().includes(flag), `--help mentions ${flag}`);
    }
  });
});
