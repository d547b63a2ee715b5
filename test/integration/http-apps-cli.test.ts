// Each example in examples/http-apps runs under `canal serve` as a child process: the framework
// answers HTTP and the echo consumer answers WebSockets on the same port.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { wsEcho } from './http-apps-suite.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Starts `canal serve <app> --port 0` and resolves with its port from the "listening" line. */
function serve(app: string, timeoutMs = 15000): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  const child = spawn(process.execPath, ['bin/canal.mjs', 'serve', app, '--host', '127.0.0.1', '--port', '0'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_ENV: 'test' },
  });
  let out = '';
  const output = () => out;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`canal serve ${app} did not listen within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (data: Buffer) => {
      out += data.toString();
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), output });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`canal serve ${app} exited with ${code}:\n${out}`));
    });
  });
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  const [code] = (await exited) as [number | null];
  clearTimeout(timer);
  return code;
}

/** The first frame a WebSocket gets, opened with an optional Cookie header. */
function firstFrame(url: string, cookie?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: cookie ? { cookie } : {} });
    const timer = setTimeout(() => reject(new Error(`no frame from ${url} within 5 s`)), 5000);
    ws.once('message', (data) => {
      clearTimeout(timer);
      ws.close();
      resolve(String(data));
    });
    ws.once('error', reject);
  });
}

describe('canal serve examples/http-apps/*', () => {
  for (const name of ['express', 'connect', 'hono', 'fastify']) {
    it(`serves the ${name} example: HTTP from ${name}, WebSocket from a consumer, one session for both`, async () => {
      const { child, port, output } = await serve(`examples/http-apps/${name}.ts`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}/hello?name=canal`, { signal: AbortSignal.timeout(5000) });
        assert.equal(res.status, 200, output());
        assert.deepEqual(await res.json(), { hello: 'canal', from: name });
        assert.equal(await wsEcho(`ws://127.0.0.1:${port}/ws/echo`, 'ping'), 'ping');
        // the framework writes the Canal session; the WebSocket consumer beside it reads it
        const remember = await fetch(`http://127.0.0.1:${port}/remember?name=ada`, {
          signal: AbortSignal.timeout(5000),
        });
        assert.deepEqual(await remember.json(), { remembered: 'ada' });
        const cookie = remember.headers.get('set-cookie')!.split(';')[0]!;
        assert.match(cookie, /^sessionid=/);
        assert.deepEqual(JSON.parse(await firstFrame(`ws://127.0.0.1:${port}/ws/session`, cookie)), { name: 'ada' });
        assert.deepEqual(
          JSON.parse(await firstFrame(`ws://127.0.0.1:${port}/ws/session`)),
          { name: null },
          'no cookie, no session',
        );
      } finally {
        assert.equal(await stop(child), 0, output());
      }
    });
  }
});
