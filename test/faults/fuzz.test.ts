// The fault suite's fuzzing: generated and mutated input at the interface server on a real
// socket, and at the in-memory layer's name checks. The seed and the number of cases per part
// come from CANAL_FUZZ_SEED and CANAL_FUZZ_COUNT; every failure prints the seed, the case and
// its input. After each batch the server must still be alive: no uncaught error, no error log
// line, a normal HTTP request and a WebSocket echo answered, no connection left open.
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import WebSocket from 'ws';
import { createServer, type CanalServer } from '../../src/server/index.ts';
import type { Application, ReceiveEvent } from '../../src/asgi/types.ts';
import { JsonWebsocketConsumer } from '../../src/consumers/index.ts';
import { CanalError, SendAfterCloseError } from '../../src/errors.ts';
import { InMemoryChannelLayer } from '../../src/layers/memory.ts';
import { COUNT, CrashWatch, SEED, caseLabel, caseRandom, inBatches, sleep, within } from './fuzz-setup.ts';
import { BODY_LIMIT, httpCase } from './http-cases.ts';
import { frameBytes, frameCase, readFrames, type FrameCase, type ServerFrame } from './ws-frames.ts';

const MAX_MESSAGE = 64 * 1024;

class JsonEcho extends JsonWebsocketConsumer {
  static override channelLayerAlias = null;
  override async receiveJson(content: unknown): Promise<void> {
    await this.sendJson(content);
  }
}
const jsonEcho = JsonEcho.asApp();

/** Echoes every frame; a client that closed while its echo was on the way is not an app error. */
const echo: Application = async (_scope, receive, send) => {
  for (;;) {
    const e = await receive();
    if (e.type === 'websocket.connect') await send({ type: 'websocket.accept' });
    else if (e.type === 'websocket.receive') {
      const frame = e.text !== undefined ? { text: e.text } : { bytes: e.bytes! };
      await send({ type: 'websocket.send', ...frame }).catch((err) => {
        if (!(err instanceof SendAfterCloseError)) throw err;
      });
    } else if (e.type === 'websocket.disconnect') return;
  }
};

/** Answers every request with `METHOD path body-length` once it has read the whole body. */
const http: Application = async (scope, receive, send) => {
  if (scope.type !== 'http') return;
  let size = 0;
  for (;;) {
    const e: ReceiveEvent = await receive();
    if (e.type === 'http.disconnect') return;
    if (e.type === 'http.request') {
      size += e.body.length;
      if (!e.more_body) break;
    }
  }
  const body = Buffer.from(`${scope.method} ${scope.path} ${size}`);
  const headers: [string, string][] = [
    ['content-type', 'text/plain'],
    ['content-length', String(body.length)],
  ];
  await send({ type: 'http.response.start', status: 200, headers });
  await send({ type: 'http.response.body', body }).catch((err) => {
    if (!(err instanceof SendAfterCloseError)) throw err;
  });
};

const app: Application = async (scope, receive, send) => {
  if (scope.type === 'lifespan') return;
  if (scope.type !== 'websocket') return http(scope, receive, send);
  return scope.path === '/json' ? jsonEcho(scope, receive, send) : echo(scope, receive, send);
};

let server: CanalServer;
let port = 0;
const watch = new CrashWatch();
const statuses = new Map<string, number>();

before(async () => {
  watch.start();
  server = createServer(app, {
    port: 0,
    websocketMaxMessageBytes: MAX_MESSAGE,
    maxRequestBodyBytes: BODY_LIMIT,
    keepAliveTimeoutMs: 1000,
    applicationCloseTimeoutMs: 2000,
    drainTimeoutMs: 500,
  });
  ({ port } = await server.listen());
});

after(async () => {
  await server?.close();
  watch.stop();
});

/** Reads until the server closes the socket, `complete` says the answer is whole, or `ms` passes. */
function exchange(
  c: { bytes: Buffer; splits: number[]; halfClose: boolean },
  ms: number,
  complete: (answer: string) => boolean = () => false,
): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const sock = connect(port, '127.0.0.1');
    const finish = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(Buffer.concat(chunks));
    };
    const timer = setTimeout(finish, ms);
    sock.on('data', (d) => {
      chunks.push(d);
      if (complete(Buffer.concat(chunks).toString('latin1'))) finish();
    });
    sock.on('close', finish);
    sock.on('error', () => {});
    sock.once('connect', async () => {
      let at = 0;
      for (const split of [...c.splits, c.bytes.length]) {
        if (sock.destroyed) return;
        sock.write(c.bytes.subarray(at, split));
        at = split;
        if (split < c.bytes.length) await sleep(2);
      }
      if (c.halfClose && !sock.destroyed) sock.end();
    });
  });
}

/** The server still serves: a plain request and a WebSocket echo, and no connection left behind. */
async function healthy(what: string): Promise<void> {
  const crashes = watch.report();
  assert.equal(crashes, '', `${what}: ${crashes}`);
  const health = Buffer.from('GET /health HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n');
  const answer = await exchange({ bytes: health, splits: [], halfClose: false }, 3000);
  const text = answer.toString('latin1');
  assert.match(text, /^HTTP\/1\.1 200 /, `${what}: the health request got ${JSON.stringify(text.slice(0, 200))}`);
  assert.ok(text.endsWith('GET /health 0'), `${what}: health body ${JSON.stringify(text.slice(-100))}`);
  const ws = new WebSocket(`ws://127.0.0.1:${port}/echo`);
  await within(opened(ws), 3000, `${what}: echo open`);
  const back = within(new Promise<string>((r) => ws.once('message', (d) => r(String(d)))), 3000, `${what}: echo`);
  ws.send('still there?');
  assert.equal(await back, 'still there?', what);
  ws.close(1000);
  await within(new Promise((resolve) => ws.once('close', resolve)), 3000, `${what}: echo close`);
  const deadline = Date.now() + 5000;
  while (server.stats().websocketsOpen > 0 || server.stats().httpInFlight > 0) {
    if (Date.now() > deadline) {
      const s = server.stats();
      const open = `${s.websocketsOpen} WebSockets and ${s.httpInFlight} HTTP requests`;
      assert.fail(`${what}: ${open} still open 5 s after their clients left`);
    }
    await sleep(20);
  }
}

function opened(ws: WebSocket): Promise<unknown> {
  return new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
}

function report(t: TestContext, part: string, count: number): void {
  t.diagnostic(`${part}: ${count} cases, seed ${SEED}, 0 crashes`);
}

describe(`fuzz (seed ${SEED}, ${COUNT} cases a part; CANAL_FUZZ_SEED / CANAL_FUZZ_COUNT to change)`, () => {
  it(`(a) ${COUNT} generated and mutated HTTP requests over raw sockets`, async (t) => {
    let plainOk = 0;
    await inBatches(
      COUNT,
      16,
      50,
      async (i) => {
        const c = httpCase(caseRandom('http', i));
        // A plain request has until its answer is whole (a slow machine must not fail it); the
        // others get 400 ms, then the socket is cut whatever the server is doing.
        const want = c.expect;
        const whole = want?.status === 200 ? Buffer.from(`\r\n\r\n${want.body}`).toString('latin1') : ' 413 ';
        const complete = (a: string) => want !== null && a.includes(whole);
        const answer = (await exchange(c, want ? 3000 : 400, complete)).toString('latin1');
        const status = /^HTTP\/1\.1 (\d{3}) /.exec(answer);
        const seen = answer.length === 0 ? 'none' : (status?.[1] ?? 'other');
        statuses.set(seen, (statuses.get(seen) ?? 0) + 1);
        const label = caseLabel('http', i, c.bytes);
        assert.ok(answer.length > 0 || c.expect?.status !== 200, `${label}: no answer to a plain request`);
        if (answer.length === 0) return; // the server may close without a word (a body cut off by a 413 too)
        const shown = JSON.stringify(answer.slice(0, 300));
        assert.ok(status, `${label}: the answer does not start with a status line: ${shown}`);
        const code = Number(status[1]);
        assert.ok(code < 500, `${label}: answered ${code}: ${shown}`);
        if (want?.status === 200) {
          // A plain request reaches the app whole: its method, its decoded path, every byte of its body.
          const ok = code === 200 && answer.endsWith(Buffer.from(`\r\n\r\n${want.body}`).toString('latin1'));
          assert.ok(ok, `${label}: want 200 "${want.body}", got ${shown}`);
          plainOk++;
        } else if (want?.status === 413) {
          assert.equal(code, 413, `${label}: a body over the limit`);
          plainOk++;
        }
      },
      (done) => healthy(`after ${done} HTTP cases (seed ${SEED})`),
    );
    report(t, 'HTTP', COUNT);
    t.diagnostic(`${plainOk} plain requests answered as they must be (200 from the app with all of it, or 413)`);
    t.diagnostic(
      `first answers: ${[...statuses]
        .sort()
        .map(([k, n]) => `${k} ×${n}`)
        .join(', ')}`,
    );
  });

  it(`(b) ${COUNT} sequences of WebSocket frames after a real handshake`, async (t) => {
    await inBatches(
      COUNT,
      8,
      50,
      async (i) => {
        const c = frameCase(caseRandom('frames', i), MAX_MESSAGE);
        await runFrameCase(i, c);
      },
      (done) => healthy(`after ${done} frame cases (seed ${SEED})`),
    );
    report(t, 'WebSocket frames', COUNT);
  });

  it(`(c) ${COUNT} JSON and not-quite-JSON payloads to a JsonWebsocketConsumer`, async (t) => {
    const payloads = fc.sample(jsonPayload, { seed: SEED, numRuns: COUNT });
    const lanes: (Lane | null)[] = [null, null, null, null];
    await inBatches(
      COUNT,
      4,
      100,
      async (i) => {
        const lane = i % lanes.length;
        lanes[lane] = await runJsonCase(i, payloads[i]!, lanes[lane] ?? null);
      },
      async (done) => {
        for (const l of lanes) l?.ws.close();
        lanes.fill(null);
        await healthy(`after ${done} JSON cases (seed ${SEED})`);
      },
    );
    report(t, 'JSON', COUNT);
  });

  it(`(d) ${COUNT * 10} channel and group names at InMemoryChannelLayer`, async (t) => {
    const layer = new InMemoryChannelLayer({ capacity: 10 });
    const names = fc.sample(nameArb, { seed: SEED, numRuns: COUNT * 10 });
    const good = await layer.newChannel();
    for (const [i, name] of names.entries()) {
      await runNameCase(layer, good, i, name);
    }
    await layer.close();
    assert.equal(watch.report(), '', `after the name cases (seed ${SEED})`);
    report(t, 'names', names.length);
  });
});

// ---- (b) frames ----------------------------------------------------------------------------

async function runFrameCase(i: number, c: FrameCase): Promise<void> {
  const shown = c.frames.map((f) => ({ ...f, payload: f.payload.toString('hex').slice(0, 40) }));
  const label = () =>
    caseLabel(
      'frames',
      i,
      JSON.stringify(shown, (_k, v) => (typeof v === 'bigint' ? String(v) : v)),
    );
  const sock = connect(port, '127.0.0.1');
  sock.on('error', () => {});
  let received = Buffer.alloc(0);
  let headDone = false;
  let ended = false;
  let wake: () => void = () => {};
  sock.on('data', (d) => {
    received = Buffer.concat([received, d]);
    if (!headDone) {
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = received.subarray(0, end).toString('latin1');
      assert.match(head, /^HTTP\/1\.1 101 /, `${label()}: handshake answered ${JSON.stringify(head)}`);
      received = received.subarray(end + 4);
      headDone = true;
    }
    wake();
  });
  sock.on('close', () => {
    ended = true;
    wake();
  });
  const key = randomBytes(16).toString('base64');
  sock.write(
    `GET /echo HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const r = caseRandom('frames', i); // masks and pieces: the same each replay
  const frames = () => readFrames(received).frames;
  const waitFor = async (check: () => boolean, what: string) => {
    const deadline = Date.now() + 3000;
    while (!check()) {
      if (Date.now() > deadline) {
        sock.destroy();
        const closed = ended ? ' and the socket closed' : '';
        assert.fail(`${label()}: ${what} within 3000 ms; got ${describeFrames(frames())}${closed}`);
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
  };
  await waitFor(() => headDone, 'no handshake answer');
  for (const spec of c.frames) {
    const bytes = frameBytes(spec, r.bytes(4));
    if (c.pieces && bytes.length > 1) {
      const cut = r.int(1, bytes.length - 1);
      sock.write(bytes.subarray(0, cut));
      await sleep(1);
      sock.write(bytes.subarray(cut));
      await sleep(1);
    } else sock.write(bytes);
  }
  const want = c.expected;
  const data = () => frames().filter((f) => f.opcode === 1 || f.opcode === 2);
  const pongs = () => frames().filter((f) => f.opcode === 10);
  const close = () => frames().find((f) => f.opcode === 8);
  if (want.closeCode === null) {
    const answered = () => data().length >= want.echoes.length && pongs().length >= want.pongs.length;
    await waitFor(answered, 'the echoes and pongs did not come');
    sock.write(frameBytes(c.finalClose!, r.bytes(4)));
    await waitFor(() => ended, 'no close after ours');
    const sent = c.finalClose!.payload;
    const got = close();
    assert.ok(got, `${label()}: no close frame back`);
    assert.deepEqual(got.payload.subarray(0, 2), sent.subarray(0, 2), `${label()}: the close code echoed`);
  } else {
    await waitFor(() => ended, `no close for the fault (want ${want.closeCode})`);
    const got = close();
    const code = got && got.payload.length >= 2 ? got.payload.readUInt16BE(0) : null;
    const expected = code === want.closeCode || (code !== null && want.orElse?.includes(code));
    assert.ok(expected, `${label()}: closed with ${code}, want ${want.closeCode}`);
  }
  // What came back is well-formed: unmasked frames, known opcodes, no reserved bits, nothing cut off.
  const { frames: all, rest } = readFrames(received);
  assert.equal(rest.length, 0, `${label()}: ${rest.length} bytes of a cut-off frame`);
  for (const f of all) {
    const wellFormed = !f.masked && f.rsv === 0 && [1, 2, 8, 9, 10].includes(f.opcode) && f.fin;
    assert.ok(wellFormed, `${label()}: bad frame ${describeFrames([f])}`);
  }
  // The valid part was answered in order: every pong, and the echoes (all of them when no fault
  // cut the connection; a prefix when one did, as a close may overtake an echo under way).
  const hex = (b: Buffer) => b.toString('hex');
  assert.deepEqual(
    pongs().map((f) => hex(f.payload)),
    want.pongs.map(hex),
    `${label()}: pongs`,
  );
  const echoes = data().map((f) => (f.opcode === 1 ? f.payload.toString('utf8') : f.payload.toString('hex')));
  const expected = want.echoes.map((e) => (typeof e === 'string' ? e : e.toString('hex')));
  if (want.closeCode === null) assert.deepEqual(echoes, expected, `${label()}: echoes`);
  else assert.deepEqual(echoes, expected.slice(0, echoes.length), `${label()}: echoes before the fault`);
  sock.destroy();
}

function describeFrames(frames: ServerFrame[]): string {
  const shown = frames.map((f) => ({
    op: f.opcode,
    fin: f.fin,
    rsv: f.rsv,
    masked: f.masked,
    len: f.payload.length,
    head: f.payload.subarray(0, 16).toString('hex'),
  }));
  return JSON.stringify(shown);
}

// ---- (c) JSON -------------------------------------------------------------------------------

type JsonPayload = { text: string } | { bytes: Buffer };

const jsonPayload: fc.Arbitrary<JsonPayload> = fc.oneof(
  { weight: 5, arbitrary: fc.json({ maxDepth: 6 }).map((text) => ({ text })) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }).map((text) => ({ text })) },
  {
    weight: 2,
    // valid JSON with a few characters put in, taken out or repeated
    arbitrary: fc
      .tuple(fc.json({ maxDepth: 3 }), fc.nat(), fc.constantFrom(...',"\\{}[]:\u0000e-.'), fc.nat(3))
      .map(([json, at, ch, op]) => {
        const i = json.length ? at % json.length : 0;
        const edits = [
          () => json.slice(0, i) + ch + json.slice(i),
          () => json.slice(0, i) + json.slice(i + 1),
          () => json.slice(0, i),
          () => json + json,
        ];
        return { text: edits[op]!() };
      }),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      { text: '['.repeat(2000) + ']'.repeat(2000) },
      { text: '{"a":'.repeat(500) + '1' + '}'.repeat(500) },
      { text: JSON.stringify({ big: 'x'.repeat(60_000) }) },
      { text: '"\\ud800"' },
      { text: '{"__proto__": {"polluted": 1}, "constructor": {"prototype": 1}}' },
      { text: '1e400' },
      { text: '' },
      { text: ' ' },
      { bytes: Buffer.from('{"binary": true}') },
    ),
  },
);

interface Lane {
  ws: WebSocket;
  events: (string | { close: number; reason: string })[];
  wake: () => void;
}

async function openLane(): Promise<Lane> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/json`);
  const lane: Lane = { ws, events: [], wake: () => {} };
  ws.on('message', (d) => {
    lane.events.push(String(d));
    lane.wake();
  });
  ws.on('close', (code, reason) => {
    lane.events.push({ close: code, reason: String(reason) });
    lane.wake();
  });
  ws.on('error', () => {});
  await within(opened(ws), 3000, 'JSON lane open');
  return lane;
}

/** Sends one payload on a lane (opening one if needed); returns the lane, or null once closed. */
async function runJsonCase(i: number, p: JsonPayload, current: Lane | null): Promise<Lane | null> {
  const label = caseLabel('json', i, 'text' in p ? p.text : p.bytes);
  const lane = current ?? (await openLane());
  const deadline = Date.now() + 3000;
  const next = async () => {
    while (lane.events.length === 0) {
      if (Date.now() > deadline) assert.fail(`${label}: no answer within 3000 ms`);
      await new Promise<void>((resolve) => {
        lane.wake = resolve;
        setTimeout(resolve, 50);
      });
    }
    return lane.events.shift()!;
  };
  if ('bytes' in p) {
    lane.ws.send(p.bytes);
    const e = await next();
    assert.deepEqual(typeof e === 'string' ? e : e.close, 1003, `${label}: a binary frame is refused with 1003`);
    return null;
  }
  const arrives = Buffer.from(p.text, 'utf8').toString('utf8'); // lone surrogates travel as U+FFFD
  let want: string | null = null;
  try {
    want = JSON.stringify(JSON.parse(arrives));
  } catch {
    want = null;
  }
  lane.ws.send(p.text);
  const e = await next();
  if (want !== null) {
    assert.equal(e, want, `${label}: echo`);
    return lane;
  }
  const refused = typeof e !== 'string' && e.close === 1007 && e.reason.startsWith('invalid JSON');
  assert.ok(refused, `${label}: got ${JSON.stringify(e)}, want a close with 1007`);
  return null;
}

// ---- (d) names ------------------------------------------------------------------------------

const NAME_CHARS = [...'abcXYZ019._-', '!', ' ', '/', ':', 'é', '\u0000', '\n', '*'];
const nameArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: fc.constantFrom(...NAME_CHARS), maxLength: 110 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9._-]{1,104}(![A-Za-z0-9._-]{0,8})?$/) },
  { weight: 1, arbitrary: fc.anything() },
);

/** The name rules of docs/channel-layer-spec.md, written again from the text. */
function modelChannelName(name: unknown): boolean {
  if (typeof name !== 'string' || name.length === 0 || name.length >= 100) return false;
  const parts = name.split('!');
  if (parts.length > 2) return false;
  return /^[A-Za-z0-9._-]+$/.test(parts[0]!) && (parts.length === 1 || /^[A-Za-z0-9._-]*$/.test(parts[1]!));
}

async function runNameCase(layer: InMemoryChannelLayer, good: string, i: number, name: unknown): Promise<void> {
  const shown = typeof name === 'string' ? name : `(${typeof name}) ${safeString(name)}`;
  const label = caseLabel('names', i, shown);
  const outcome = async (what: string, call: () => Promise<unknown>): Promise<boolean> => {
    let p: Promise<unknown>;
    try {
      p = call();
    } catch (err) {
      assert.fail(`${label}: ${what} threw synchronously (${(err as Error)?.message}); layer methods reject instead`);
    }
    try {
      await within(p, 1000, `${label}: ${what}`);
      return true;
    } catch (err) {
      const ok = err instanceof CanalError && err.code === 'ERR_INVALID_CHANNEL_NAME';
      const why = (err as Error)?.stack ?? String(err);
      assert.ok(ok, `${label}: ${what} failed with ${why}, not ERR_INVALID_CHANNEL_NAME`);
      return false;
    }
  };
  const n = name as string;
  const isChannel = modelChannelName(name);
  const isGroup = isChannel && !n.includes('!');
  const sent = await outcome('send', () => layer.send(n, { type: 'fuzz.name', i }));
  assert.equal(sent, isChannel, `${label}: send ${sent ? 'accepted' : 'refused'} the name`);
  if (sent) assert.equal((await within(layer.receive(n), 1000, `${label}: receive`)).i, i);
  else await outcome('receive', () => layer.receive(n));
  const added = await outcome('groupAdd (as group)', () => layer.groupAdd(n, good));
  assert.equal(added, isGroup, `${label}: groupAdd with it as the group`);
  const joined = await outcome('groupAdd (as channel)', () => layer.groupAdd('fuzz', n));
  assert.equal(joined, isChannel, `${label}: groupAdd with it as the channel`);
  const groupSent = await outcome('groupSend', () => layer.groupSend(n, { type: 'fuzz.group' }));
  assert.equal(groupSent, isGroup, `${label}: groupSend`);
  if (isGroup) assert.equal((await within(layer.receive(good), 1000, `${label}: group receive`)).type, 'fuzz.group');
  await outcome('groupDiscard (as group)', () => layer.groupDiscard(n, good));
  await outcome('groupDiscard (as channel)', () => layer.groupDiscard('fuzz', n));
  await outcome('newChannel(prefix)', () => layer.newChannel(n));
  await layer.flush(); // nothing of this case is left for the next one
}

function safeString(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x)) ?? String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}
