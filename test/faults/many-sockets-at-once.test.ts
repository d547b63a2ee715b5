// 5,000 WebSocket handshakes begun at once against one `canal serve`: each completes or is refused
// with a status (none hangs), the server answers HTTP meanwhile and after, and every socket
// closes cleanly. The server is started from a shell that raises its descriptor limit when it
// may; the count is capped by the descriptors this process and the server have (the cap is
// reported as a diagnostic when it applies).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { BIN, FIXTURES } from '../integration/cli-helpers.ts';
import { within } from './fuzz-setup.ts';

const WANTED = 5000;
/** Descriptors kept free besides the sockets: node's own, the test runner's, a few requests. */
const SPARE = 200;

let server: ChildProcess | null = null;
after(() => {
  if (server && server.exitCode === null) server.kill('SIGKILL');
});

/** The soft limit on open descriptors of a process (this one's children inherit it). */
function descriptorLimit(pid: number | 'self'): number {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8').match(/Max open files\s+(\d+|unlimited)/)![1]!;
  return line === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(line);
}

async function get(url: string): Promise<number> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  await res.arrayBuffer();
  return res.status;
}

type Outcome = { ws: WebSocket; result: 'open' | number | string };

/** One handshake: 'open', the refusal's HTTP status, or the error's code; never left pending. */
function handshake(url: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { handshakeTimeout: 15_000 });
    ws.once('open', () => resolve({ ws, result: 'open' }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ ws, result: res.statusCode ?? 0 });
      res.resume();
    });
    ws.once('error', (err: NodeJS.ErrnoException) => resolve({ ws, result: err.code ?? err.message }));
  });
}

describe(`${WANTED} sockets opened at once`, () => {
  it('every handshake ends (open or a status), HTTP keeps answering, all close cleanly', async (t) => {
    const shell = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
    // A limit in the shell that starts the server: raised when allowed, else kept.
    server = spawn(
      'sh',
      [
        '-c',
        'ulimit -n 65536 2>/dev/null; exec "$0" "$@"',
        process.execPath,
        BIN,
        'serve',
        `${FIXTURES}/cli-app.ts`,
        '--port',
        '0',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    server.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const listening = await within(
      new Promise<RegExpMatchArray>((resolve) =>
        createInterface({ input: server!.stdout! }).on('line', (line) => {
          const m = line.match(/canal: listening on (http:\/\/\S+) \(pid (\d+)\)/);
          if (m) resolve(m);
        }),
      ),
      8000,
      'the listening line',
    );
    server.stdout!.resume();
    const base = listening[1]!;
    const serverLimit = descriptorLimit(Number(listening[2]));
    const ownLimit = descriptorLimit('self');
    const count = Math.min(WANTED, ownLimit - SPARE, serverLimit - SPARE);
    if (count < WANTED) {
      t.diagnostic(
        `only ${count} sockets: descriptor limits are ${ownLimit} here and ${serverLimit} for the server ` +
          `(ulimit -n was ${shell}; raising it to 65536 was not allowed)`,
      );
    }
    assert.ok(count >= 1000, `descriptor limits too low for this test: ${ownLimit} here, ${serverLimit} there`);

    const url = `${base.replace('http', 'ws')}/ws`;
    const pending = Array.from({ length: count }, () => handshake(url));
    // While the handshakes are under way, plain HTTP is still answered.
    assert.equal(await within(get(`${base}/during`), 6000, 'HTTP during the flood'), 200);
    const outcomes = await within(Promise.all(pending), 20_000, 'every handshake ending');
    const tally = new Map<Outcome['result'], number>();
    for (const o of outcomes) tally.set(o.result, (tally.get(o.result) ?? 0) + 1);
    t.diagnostic(`handshakes: ${JSON.stringify(Object.fromEntries(tally))}`);
    for (const result of tally.keys()) {
      assert.ok(result === 'open' || typeof result === 'number', `a handshake ended with ${result}, not a status`);
    }
    const open = outcomes.filter((o) => o.result === 'open').map((o) => o.ws);
    assert.equal(open.length, count, 'under maxConnections (10000), every handshake opens');

    // Every socket works: one echo each.
    const echoes = open.map(
      (ws, i) =>
        new Promise<boolean>((resolve) => {
          ws.once('message', (d) => resolve(String(d) === `e${i}`));
          ws.send(`e${i}`);
        }),
    );
    const echoed = await within(Promise.all(echoes), 15_000, 'an echo on every socket');
    assert.ok(echoed.every(Boolean), 'every echo was its own');
    assert.equal(await within(get(`${base}/while-open`), 5000, 'HTTP with every socket open'), 200);

    // Clean closes: each client's 1000 is answered with 1000.
    const closed = open.map((ws) => new Promise<number>((resolve) => ws.once('close', (code) => resolve(code))));
    for (const ws of open) ws.close(1000);
    const codes = await within(Promise.all(closed), 15_000, 'every close');
    assert.deepEqual(new Set(codes), new Set([1000]));
    assert.equal(await within(get(`${base}/after`), 5000, 'HTTP after'), 200);

    const exited = new Promise<number | null>((resolve) => server!.once('exit', (code) => resolve(code)));
    server.kill('SIGTERM');
    assert.equal(await within(exited, 10_000, 'exit after SIGTERM'), 0);
    assert.doesNotMatch(stderr, /ERROR/);
  });
});
