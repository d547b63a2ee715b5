#!/usr/bin/env node
// Redis faults under two `canal serve bench/app.ts` processes sharing a redis-server of this
// script's own (loopback, no persistence). Receivers of one group are split over both servers; a
// sender on the first sends `d <seq>` to the group at a fixed rate. Per layer (`redis`,
// `redis-pubsub`) and fault:
//
//   kill    Redis killed (SIGKILL), started again on the same port after --outage seconds
//   pause   `CLIENT PAUSE <outage ms> ALL`: Redis takes no commands, connections stay open
//   stop    Redis stopped (SIGSTOP), continued (SIGCONT) after --outage seconds
//   absent  the servers start with no Redis; Redis starts --outage seconds later, and the
//           clients, refused meanwhile, connect again every 250 ms
//
// What each run reports: both servers and Redis alive after; every receiver, on both servers,
// hearing the group after the fault (its membership restored); the recovery time, from Redis
// back (first PING answered; the end of the pause; SIGCONT) to the first delivery on the second
// server; and every message accounted for per receiver: sent = delivered + the losses the
// servers counted (their layers' stats(), read through bench/faults-probe.mjs) + what is left,
// "not accounted". `unconfirmed` messages may have been delivered or not, so a receiver is
// accounted for when its missing messages lie between the sure losses and the sure losses plus
// the unconfirmed ones. The missing messages are also split by when they were sent: before the
// fault, during it, after Redis was back.
//
//   node bench/faults.mjs [--layers redis,redis-pubsub] [--faults kill,pause,stop,absent]
//                         [--receivers 100] [--rate 50] [--outage 3] [--before 2] [--after 3] [--json]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, openSocket, startServer } from './two-servers.mjs';

const { values } = parseArgs({
  options: {
    layers: { type: 'string', default: 'redis,redis-pubsub' },
    faults: { type: 'string', default: 'kill,pause,stop,absent' },
    receivers: { type: 'string', default: '100' },
    rate: { type: 'string', default: '50' }, // group messages a second
    outage: { type: 'string', default: '3' }, // seconds
    before: { type: 'string', default: '2' }, // seconds of steady sending before the fault
    after: { type: 'string', default: '3' }, // seconds of sending after recovery
    json: { type: 'boolean', default: false },
  },
});
const LAYERS = values.layers.split(',');
const FAULTS = values.faults.split(',');
const RECEIVERS = Number(values.receivers);
const EVERY_MS = 1000 / Number(values.rate);
const OUTAGE_MS = Number(values.outage) * 1000;
const BEFORE_MS = Number(values.before) * 1000;
const AFTER_MS = Number(values.after) * 1000;
const PROBE = new URL('./faults-probe.mjs', import.meta.url).href;
const MAX_SEQ = 1 << 20;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const say = (text) => values.json || process.stderr.write(`${text}\n`);

/** A redis-server of this script's own on a fixed port, started and killed at will. */
class RedisProcess {
  constructor(port) {
    this.port = port;
    this.url = `redis://127.0.0.1:${port}/0`;
    this.dir = mkdtempSync(join(tmpdir(), 'canal-faults-'));
    this.child = null;
  }
  /** Starts it; resolves with the moment it first answered a PING (polled every 5 ms). */
  async start() {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    this.child = spawn('redis-server', [...args, '--dir', this.dir], { stdio: 'ignore' });
    for (const deadline = performance.now() + 10_000; performance.now() < deadline; ) {
      const probe = new Redis(this.url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
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
    throw new Error(`redis-server did not answer on port ${this.port}`);
  }
  alive() {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }
  async kill() {
    if (!this.alive()) return;
    const gone = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGCONT'); // a stopped process takes SIGKILL too; this only makes it prompt
    this.child.kill('SIGKILL');
    await gone;
  }
  /** Runs one command on a connection of its own (e.g. CLIENT PAUSE). */
  async command(...args) {
    const client = new Redis(this.url, { maxRetriesPerRequest: 0 });
    client.on('error', () => {});
    try {
      return await client.call(...args);
    } finally {
      client.disconnect();
    }
  }
}

/** Opens a WebSocket, trying again every 250 ms until `deadline`; notes each refusal's reason. */
async function connect(url, deadline, refusals) {
  for (;;) {
    try {
      return await openSocket(url);
    } catch (err) {
      refusals.set(err.message, (refusals.get(err.message) ?? 0) + 1);
      if (performance.now() > deadline) throw new Error(`no connection to ${url}: ${err.message}`);
      await sleep(250);
    }
  }
}

async function run(layer, fault) {
  const redis = new RedisProcess(await freePort());
  if (fault !== 'absent') await redis.start();
  const probes = [null, null];
  const warnings = [[], []];
  const onLine = (i) => (line) => {
    if (line.startsWith('faults-probe ')) probes[i] = JSON.parse(line.slice(13));
    else if (/WARN|ERROR|restored/.test(line)) warnings[i].push(line);
  };
  const env = { REDIS_URL: redis.url };
  const servers = [];
  for (const i of [0, 1]) {
    servers.push(await startServer({ layer, env, nodeArgs: ['--import', PROBE], onLine: onLine(i) }));
  }
  /** The layers' counts now, from both servers (the probes' answers to SIGUSR2). */
  const readProbes = async () => {
    probes.fill(null);
    for (const s of servers) s.child.kill('SIGUSR2');
    for (const deadline = performance.now() + 3000; probes.includes(null) && performance.now() < deadline; )
      await sleep(20);
    return probes.map((p) => ({ stats: p?.stats ?? {}, byChannel: { ...p?.byChannel } }));
  };
  await readProbes(); // arms them: losses are tallied by channel from now on
  const exits = servers.map((s) => new Promise((r) => s.child.once('exit', (code, signal) => r(signal ?? code))));
  const group = `faults-${fault}-${process.pid}`;
  const urlOf = (i) => `ws://127.0.0.1:${servers[i].port}/bench/group/${group}/`;

  const sentAt = new Float64Array(MAX_SEQ); // performance.now() of each `d <seq>` sent
  let sent = 0;
  let backAt = Number.POSITIVE_INFINITY;
  let firstAfter = 0;
  let duplicates = 0;
  let unexpectedCloses = 0;
  const refusals = new Map();
  const receivers = Array.from({ length: RECEIVERS }, (_, i) => ({
    server: i % 2,
    got: new Uint8Array(MAX_SEQ),
    delivered: 0,
    heardAfterBack: false,
    ws: null,
  }));
  const senderAsMember = { server: 0, got: new Uint8Array(MAX_SEQ), delivered: 0, heardAfterBack: false, ws: null };
  let probeHeard = new Set();
  const attach = (r, index, ws) => {
    r.ws = ws;
    ws.on('close', () => r.closing || unexpectedCloses++);
    ws.on('message', (data) => {
      const text = String(data);
      const now = performance.now();
      if (now >= backAt) {
        r.heardAfterBack = true;
        if (r.server === 1 && index >= 0 && firstAfter === 0) firstAfter = now;
      }
      if (text.startsWith('p') && index >= 0) probeHeard.add(index);
      if (!text.startsWith('d ')) return;
      const seq = Number(text.slice(2));
      if (r.got[seq]) duplicates++;
      else {
        r.got[seq] = 1;
        r.delivered++;
      }
    });
  };
  const connectAll = async (deadline) => {
    await Promise.all(receivers.map(async (r, i) => attach(r, i, await connect(urlOf(r.server), deadline, refusals))));
    const sender = await connect(urlOf(0), deadline, refusals);
    attach(senderAsMember, -1, sender); // a member of the group too: its losses are counted as well
    sender.stop = () => {
      senderAsMember.closing = true;
      sender.terminate();
    };
    return sender;
  };
  /** Probes until every receiver heard one (memberships in place on both servers). */
  const settle = async (sender, ms) => {
    probeHeard = new Set();
    for (let n = 0, deadline = performance.now() + ms; performance.now() < deadline; n++) {
      sender.send(`p${n}`);
      await sleep(50);
      if (probeHeard.size === RECEIVERS) return true;
    }
    return false;
  };
  let sending = false;
  let atStart = null; // the counts when the steady sending began: only its losses are accounted
  const sendSteadily = async (sender) => {
    atStart = await readProbes();
    sending = true;
    while (sending && sent < MAX_SEQ - 1) {
      sentAt[++sent] = performance.now();
      sender.send(`d ${sent}`);
      await sleep(EVERY_MS);
    }
  };

  let faultAt = 0;
  let sender;
  let settled;
  let loop = null;
  if (fault === 'absent') {
    // The clients try while Redis is away: each refusal is noted; Redis starts meanwhile.
    faultAt = performance.now();
    const connecting = connectAll(faultAt + OUTAGE_MS + 15_000);
    await sleep(OUTAGE_MS);
    backAt = await redis.start();
    sender = await connecting;
    const firstDeadline = performance.now() + 10_000;
    while (firstAfter === 0 && performance.now() < firstDeadline) {
      sender.send('p-first');
      await sleep(20);
    }
    settled = await settle(sender, 10_000);
    loop = sendSteadily(sender);
    await sleep(AFTER_MS);
  } else {
    sender = await connectAll(performance.now() + 15_000);
    settled = await settle(sender, 10_000);
    loop = sendSteadily(sender);
    await sleep(BEFORE_MS);
    faultAt = performance.now();
    if (fault === 'kill') {
      await redis.kill();
      await sleep(OUTAGE_MS);
      backAt = await redis.start();
    } else if (fault === 'pause') {
      await redis.command('CLIENT', 'PAUSE', String(OUTAGE_MS), 'ALL');
      faultAt = performance.now();
      await sleep(OUTAGE_MS);
      backAt = faultAt + OUTAGE_MS;
    } else if (fault === 'stop') {
      redis.child.kill('SIGSTOP');
      await sleep(OUTAGE_MS);
      redis.child.kill('SIGCONT');
      backAt = performance.now();
    } else throw new Error(`unknown fault ${fault}`);
    const deadline = performance.now() + 15_000;
    while (firstAfter === 0 && performance.now() < deadline) await sleep(5);
    await sleep(AFTER_MS);
  }
  sending = false;
  await loop;
  await sleep(1500); // the last messages on their way

  // The layers' counts, while the servers still run, less those from before the steady sending.
  const atEnd = await readProbes();
  const alive = servers.every((s) => s.child.exitCode === null && s.child.signalCode === null) && redis.alive();
  for (const r of receivers) {
    r.closing = true;
    r.ws.terminate();
  }
  sender.stop();
  for (const s of servers) s.child.kill('SIGTERM');
  const exitCodes = await Promise.all(exits);
  await redis.kill();
  rmSync(redis.dir, { recursive: true, force: true });

  const stats = atEnd.map((p, i) =>
    Object.fromEntries(Object.entries(p.stats).map(([k, v]) => [k, v - (atStart[i].stats[k] ?? 0)])),
  );
  const s0 = stats[0];
  const sure = (s0.unavailable ?? 0) + (s0.unheard ?? 0); // every group message of these reached no one
  const maybe = s0.unconfirmed ?? 0;
  const perChannel = stats.reduce(
    (n, s) => n + (s.droppedFull ?? 0) + (s.overflow ?? 0) + (s.expired ?? 0) + (s.undecodable ?? 0),
    0,
  );
  // Losses counted for one channel (full, overflow, expired) are matched to the members of the
  // server that counted them: the members' losses beyond the group-wide ones, in order, against
  // that server's counts by channel, in order (zero for a channel that lost nothing). A `full`
  // is counted by the sending server, for the member's channel, wherever the member is.
  const tallies = [[], []];
  for (const [i, p] of atEnd.entries()) {
    for (const [channel, n] of Object.entries(p.byChannel)) {
      const since = n - (atStart[i].byChannel[channel] ?? 0);
      if (since > 0) tallies[i].push(since);
    }
  }
  const windows = { before: 0, during: 0, after: 0 };
  let notAccounted = 0;
  const notAccountedOn = [0, 0];
  let exact = 0;
  for (const k of [0, 1]) {
    const members = [...receivers.filter((r) => r.server === k), ...(k === 0 ? [senderAsMember] : [])];
    const counts = tallies[k].sort((a, b) => a - b);
    const beyond = members.map((r) => ({ r, n: sent - r.delivered - sure })).sort((a, b) => a.n - b.n);
    const offset = beyond.length - counts.length; // members whose channels counted nothing come first
    for (const [j, { r, n }] of beyond.entries()) {
      const counted = j < offset ? 0 : counts[j - offset];
      const left = Math.max(0, n - counted - maybe);
      if (r === senderAsMember) continue;
      if (n >= counted && left === 0) exact++;
      notAccounted += left;
      notAccountedOn[k] += left;
      for (let seq = 1; seq <= sent; seq++) {
        if (r.got[seq]) continue;
        const t = sentAt[seq];
        windows[t < faultAt ? 'before' : t < backAt ? 'during' : 'after']++;
      }
    }
  }
  const perReceiver = (n) => Number((n / RECEIVERS).toFixed(1));
  const delivered = receivers.map((r) => r.delivered);
  return {
    layer,
    fault,
    outage_s: OUTAGE_MS / 1000,
    alive,
    exit_codes: exitCodes,
    settled_before: settled,
    hearing_after: receivers.filter((r) => r.heardAfterBack).length,
    receivers: RECEIVERS,
    recovery_ms: firstAfter ? Math.round(firstAfter - backAt) : null,
    sent,
    delivered_min: Math.min(...delivered),
    delivered_max: Math.max(...delivered),
    counted_unavailable: s0.unavailable ?? 0,
    counted_unconfirmed: maybe,
    counted_unheard: s0.unheard ?? null,
    counted_per_channel: perChannel,
    receivers_accounted: exact,
    not_accounted: notAccounted,
    not_accounted_by_server: notAccountedOn,
    missing_per_receiver: {
      before: perReceiver(windows.before),
      during: perReceiver(windows.during),
      after: perReceiver(windows.after),
    },
    duplicates,
    unexpected_closes: unexpectedCloses,
    refusals: Object.fromEntries(refusals),
    log: warnings,
  };
}

const started = performance.now();
const rows = [];
for (const fault of FAULTS) {
  for (const layer of LAYERS) {
    say(`${layer} / ${fault} …`);
    rows.push(await run(layer, fault));
  }
}
const totalS = Number(((performance.now() - started) / 1000).toFixed(1));
if (values.json) console.log(JSON.stringify({ total_s: totalS, runs: rows }));
else {
  console.table(
    rows.map((r) => ({
      layer: r.layer,
      fault: r.fault,
      alive: r.alive && r.exit_codes.every((c) => c === 0),
      'hearing after': `${r.hearing_after}/${r.receivers}`,
      'recovery ms': r.recovery_ms ?? 'none in 15 s',
      sent: r.sent,
      delivered: `${r.delivered_min}–${r.delivered_max}`,
      'counted unavail/unconf/unheard': [r.counted_unavailable, r.counted_unconfirmed, r.counted_unheard ?? '–'].join(
        ' / ',
      ),
      'missing before/during/after': Object.values(r.missing_per_receiver).join(' / '),
      'receivers accounted': `${r.receivers_accounted}/${r.receivers}`,
      'not accounted': r.not_accounted,
    })),
  );
  for (const r of rows) {
    const refused = Object.entries(r.refusals).map(([why, n]) => `${n}× ${why}`);
    if (refused.length > 0) console.log(`${r.layer} / ${r.fault}: refused meanwhile: ${refused.join('; ')}`);
    if (r.duplicates || r.unexpected_closes) {
      console.log(`${r.layer} / ${r.fault}: ${r.duplicates} duplicates, ${r.unexpected_closes} sockets closed`);
    }
  }
  console.log(`total ${totalS} s`);
}
