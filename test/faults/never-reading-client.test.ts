// A WebSocket client that sends but never reads, in a group the server pushes a lot to. The rule
// (docs/server.md, websocket-connection.ts): once more than maxBufferedBytes wait unsent for a
// socket, the server closes it with 1008 and drops what it held. So the server's memory stays
// bounded however much the group carries, and the group's other members keep getting every
// message in time.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import WebSocket from 'ws';
import { ROOT, serve, type Cli } from '../integration/cli-helpers.ts';
import { sleep, within } from './fuzz-setup.ts';

const MAX_BUFFERED = 2 << 20;
/** Messages the pusher may be ahead of the reader: 512 KiB, well under MAX_BUFFERED for those that read. */
const AHEAD = 8;
const PAYLOAD = 'x'.repeat(64 * 1024);
const MESSAGES = 2000; // 128 MiB through the group, to every member
const GROUP = `never-reads-${process.pid}`;
const DROPPED = /closing a client that is not reading/;
/** Loopback socket buffers (the kernel's, both ends) hold a few MiB before the server's own grow. */
const KERNEL_BUFFERS = 12 << 20;

let cli: (Cli & { url: string }) | null = null;
const sockets: Socket[] = [];
after(() => {
  for (const s of sockets) s.destroy();
  if (cli && cli.child.exitCode === null) cli.child.kill('SIGKILL');
});

function rssOf(pid: number): number {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  return Number(m![1]) * 1024;
}

/** A masked text frame (a client's), payload under 126 bytes. */
function clientFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

/** Joins the group over a raw socket, reads the 101, then never reads again. */
async function neverReader(port: number): Promise<Socket> {
  const sock = connect(port, '127.0.0.1');
  sockets.push(sock);
  sock.on('error', () => {});
  await within(new Promise((r) => sock.once('connect', r)), 3000, 'connect');
  sock.write(
    `GET /bench/group/${GROUP}/ HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  const head = await within(
    new Promise<string>((r) => sock.once('data', (d) => r(d.toString('latin1')))),
    3000,
    'the handshake answer',
  );
  assert.match(head, /^HTTP\/1\.1 101 /);
  sock.pause();
  return sock;
}

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('open', () => resolve(ws));
    ws.on('error', reject);
  });
}

describe('a client that never reads', () => {
  it('is closed once maxBufferedBytes wait for it; memory stays bounded, the others get every message', async (t) => {
    cli = await serve(
      [`${ROOT}/bench/app.ts`, '--port', '0', '--max-buffered-bytes', String(MAX_BUFFERED), '--ping-interval', '0'],
      { env: { LAYER: 'memory' } },
    );
    const port = Number(new URL(cli.url).port);
    const pid = Number(cli.stdout().match(/\(pid (\d+)\)/)![1]);
    const url = `ws://127.0.0.1:${port}/bench/group/${GROUP}/`;

    const stuck = await neverReader(port);
    const pusher = await within(open(url), 3000, 'pusher open');
    const reader = await within(open(url), 3000, 'reader open');
    let heard = 0;
    reader.on('message', (d) => String(d).length === PAYLOAD.length && heard++);
    pusher.on('message', () => {});
    // It sends too (into the group), and never reads what comes back.
    for (let i = 0; i < 10; i++) stuck.write(clientFrame(`from the one that never reads ${i}`));

    const rssBefore = rssOf(pid);
    let rssMax = rssBefore;
    let droppedAt = 0; // messages sent when the server's log said it closed the stuck client
    const deadline = Date.now() + 15_000;
    for (let sent = 0; sent < MESSAGES; ) {
      // Paced by the reader (the group's channels hold 100 messages; a burst over MAX_BUFFERED
      // would close a reading client too).
      if (sent - heard < AHEAD) {
        pusher.send(PAYLOAD);
        sent++;
        if (sent % 200 === 0) rssMax = Math.max(rssMax, rssOf(pid));
        if (droppedAt === 0 && DROPPED.test(cli.stderr())) droppedAt = sent;
      } else await sleep(1);
      assert.ok(Date.now() < deadline, `the reader heard ${heard} of ${sent} within 15 s; ${cli!.stderr()}`);
    }
    const all = Date.now() + 5000;
    while (heard < MESSAGES && Date.now() < all) await sleep(5);
    assert.equal(heard, MESSAGES, 'the reader heard every message');
    rssMax = Math.max(rssMax, rssOf(pid));

    await within(
      (async () => {
        while (!DROPPED.test(cli!.stderr())) await sleep(20);
      })(),
      5000,
      'the log line for the dropped client',
    );
    if (droppedAt === 0) droppedAt = MESSAGES;
    // Only the one that never reads was dropped.
    assert.equal(cli.stderr().match(new RegExp(DROPPED, 'g'))!.length, 1, cli.stderr());
    // What it still has unread arrives, then the end: the server closed it.
    stuck.resume();
    await within(new Promise((r) => (stuck.destroyed ? r(null) : stuck.once('close', r))), 5000, 'its close');
    // The server held at most MAX_BUFFERED for it: it was dropped once that much and what the
    // kernel holds had gone its way, not after the whole 128 MiB.
    const pushed = droppedAt * PAYLOAD.length;
    assert.ok(pushed <= MAX_BUFFERED + KERNEL_BUFFERS, `dropped after ${pushed >> 20} MiB had been sent to it`);
    t.diagnostic(
      `dropped after ${droppedAt} messages (${pushed >> 20} MiB); server RSS ${rssBefore >> 20} MiB, ` +
        `at most ${rssMax >> 20} MiB while 128 MiB went to the readers`,
    );

    // And the group still works, in time, for the members that read.
    const probe = new Promise<string>((r) => reader.once('message', (d) => r(String(d))));
    pusher.send('after');
    assert.equal(await within(probe, 1000, 'a message after the drop'), 'after');
    pusher.close();
    reader.close();
  });
});
