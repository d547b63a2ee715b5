#!/usr/bin/env node
// Recovery after a Redis outage: two layer instances in this process stand for two servers, one
// sending a group message at a steady rate, the other a member of the group. Redis (a
// redis-server of this script's own, no persistence) is killed with SIGKILL, kept down for each
// outage length, and started again on the same port. Per run: the time from Redis accepting
// connections again (first PING answered; polled every 5 ms) to the first message the member
// receives, the slowest groupSend while Redis was away, and where every message sent went.
//
//   node bench/outage-recovery.mjs [--outages 3,30] [--layers redis,redis-pubsub] [--rate 100]
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { RedisChannelLayer } from '../src/layers/redis/redis-layer.ts';
import { RedisPubSubChannelLayer } from '../src/layers/redis/pubsub-layer.ts';

const { values } = parseArgs({
  options: {
    outages: { type: 'string', default: '3,30' },
    layers: { type: 'string', default: 'redis,redis-pubsub' },
    rate: { type: 'string', default: '100' },
  },
});
const outages = values.outages.split(',').map(Number);
const layers = values.layers.split(',');
const everyMs = 1000 / Number(values.rate);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const freePort = () =>
  new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });

const dir = mkdtempSync(join(tmpdir(), 'canal-outage-'));
const port = await freePort();
const url = `redis://127.0.0.1:${port}/0`;
let server = null;

/** Starts redis-server; resolves with the moment it first answered a PING. */
async function startRedis() {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  server = spawn('redis-server', args, { stdio: 'ignore' });
  for (;;) {
    const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => {});
    try {
      await probe.connect();
      await probe.ping();
      return performance.now();
    } catch {
      await sleep(5);
    } finally {
      probe.disconnect();
    }
  }
}

async function killRedis() {
  const gone = new Promise((r) => server.once('exit', r));
  server.kill('SIGKILL');
  await gone;
}

const make = (name) =>
  name === 'redis'
    ? new RedisChannelLayer({ hosts: [url], blockTimeout: 1 })
    : new RedisPubSubChannelLayer({ hosts: [url] });

async function run(name, outageSeconds) {
  await startRedis();
  const sender = make(name);
  const receiver = make(name);
  const channel = await receiver.newChannel();
  let got = 0;
  let backAt = 0;
  let firstAfter = 0;
  receiver.listen(channel, () => {
    got++;
    if (backAt !== 0 && firstAfter === 0) firstAfter = performance.now();
    return true;
  });
  await receiver.groupAdd('room', channel);
  let sent = 0;
  let down = false;
  let slowest = 0;
  let stop = false;
  const sending = (async () => {
    while (!stop) {
      const t = performance.now();
      const timed = down;
      await sender.groupSend('room', { type: 'm', n: ++sent });
      if (timed) slowest = Math.max(slowest, performance.now() - t);
      await sleep(everyMs);
    }
  })();
  await sleep(1000);
  await killRedis();
  await sleep(200);
  down = true;
  await sleep(outageSeconds * 1000 - 200);
  down = false;
  backAt = await startRedis();
  const deadline = performance.now() + 10_000;
  while (firstAfter === 0 && performance.now() < deadline) await sleep(5);
  await sleep(1000);
  stop = true;
  await sending;
  await sleep(500);
  const s = sender.stats();
  const r = receiver.stats();
  await Promise.all([sender.close(), receiver.close()]);
  await killRedis();
  return {
    layer: name,
    outage: `${outageSeconds} s`,
    'recovery ms': firstAfter ? Math.round(firstAfter - backAt) : 'none in 10 s',
    'slowest groupSend while away ms': Number(slowest.toFixed(1)),
    sent,
    delivered: got,
    unavailable: s.unavailable,
    unconfirmed: s.unconfirmed,
    unheard: s.unheard ?? '-',
    'full/overflow/expired': s.droppedFull + r.overflow + r.expired,
    'not accounted': sent - got - s.dropped - s.unconfirmed - (s.unheard ?? 0) - r.dropped,
  };
}

const rows = [];
for (const outage of outages) for (const name of layers) rows.push(await run(name, outage));
console.table(rows);
