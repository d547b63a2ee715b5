// SIGTERM to `canal serve` while WebSocket clients are echoing and HTTP responses are still being
// streamed: the process exits 0 within the drain timeout, every WebSocket client gets 1012
// (service restart), every response in flight completes whole, and no new connection is taken.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import WebSocket from 'ws';
import { FIXTURES, serve, type Cli } from '../integration/cli-helpers.ts';
import { sleep, within } from './fuzz-setup.ts';

const SOCKETS = 20;
const REQUESTS = 10;
const DRAIN_S = 4;
const SLOW_MS = 1200; // each response's body ends this long after its head: in flight at SIGTERM

let cli: (Cli & { url: string }) | null = null;
after(() => {
  if (cli && cli.child.exitCode === null) cli.child.kill('SIGKILL');
});

/** A streamed GET /slow: resolves with the status and the whole body, or rejects. */
function slowRequest(port: number, headers: () => void): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: `/slow?ms=${SLOW_MS}`, agent: false }, (res) => {
      headers();
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** An echoing client: sends a numbered message every 10 ms and checks each echo comes back in order. */
function echoClient(url: string): Promise<{ ws: WebSocket; closed: Promise<number>; echoes: () => number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    let sent = 0;
    let echoed = 0;
    let timer: NodeJS.Timeout | undefined;
    const closed = new Promise<number>((r) =>
      ws.on('close', (code) => {
        clearInterval(timer);
        r(code);
      }),
    );
    ws.on('message', (d) => {
      assert.equal(String(d), `m${++echoed}`);
    });
    ws.on('error', reject);
    ws.on('open', () => {
      timer = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send(`m${++sent}`), 10);
      resolve({ ws, closed, echoes: () => echoed });
    });
  });
}

describe('SIGTERM under load', () => {
  it('exits 0 within the drain timeout: 1012 to WebSockets, responses complete, no new connection', async () => {
    cli = await serve([`${FIXTURES}/cli-app.ts`, '--port', '0', '--drain-timeout', String(DRAIN_S)]);
    const port = Number(new URL(cli.url).port);
    const clients = await within(
      Promise.all(Array.from({ length: SOCKETS }, () => echoClient(`ws://127.0.0.1:${port}/ws`))),
      5000,
      'WebSocket clients open',
    );
    let started = 0;
    const responses = Array.from({ length: REQUESTS }, () => slowRequest(port, () => started++));
    for (const r of responses) r.catch(() => {}); // awaited below
    const deadline = Date.now() + 5000;
    while (started < REQUESTS && Date.now() < deadline) await sleep(10);
    assert.equal(started, REQUESTS, 'every response started before SIGTERM');
    await sleep(100);
    assert.ok(
      clients.every((c) => c.echoes() > 0),
      'every client was echoed before SIGTERM',
    );

    const exited = cli.exited((DRAIN_S + 4) * 1000);
    const signalledAt = Date.now();
    cli.child.kill('SIGTERM');

    // New connections are refused while the responses drain.
    await sleep(150);
    const refused = await within(
      new Promise<string>((resolve) => {
        const sock = connect(port, '127.0.0.1');
        sock.once('connect', () => {
          sock.destroy();
          resolve('accepted');
        });
        sock.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      }),
      3000,
      'a new connection after SIGTERM',
    );
    assert.equal(refused, 'ECONNREFUSED');

    const codes = await within(Promise.all(clients.map((c) => c.closed)), 5000, 'WebSocket closes');
    assert.deepEqual(new Set(codes), new Set([1012]));

    const bodies = await within(Promise.all(responses), (DRAIN_S + 2) * 1000, 'responses in flight');
    for (const b of bodies) assert.deepEqual(b, { status: 200, body: 'slow done' });

    const code = await exited;
    const took = Date.now() - signalledAt;
    assert.equal(code, 0, cli.stderr());
    // The drain timeout, plus the grace `canal serve` gives buffered output before it exits.
    assert.ok(took < DRAIN_S * 1000 + 2500, `exited ${took} ms after SIGTERM`);
    assert.doesNotMatch(cli.stderr(), /ERROR/);
  });
});
