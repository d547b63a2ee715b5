// What only the in-memory layer promises: counters and drop events, one shared frozen copy per
// group send, direct hand-over to waiting receivers, lazy expiry, discardChannel.
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { InMemoryChannelLayer, type DropEvent } from '../../src/layers/memory.ts';
import type { LayerMessage } from '../../src/layers/types.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function within<T>(p: Promise<T>, ms = 1000): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, rej) => (timer = setTimeout(() => rej(new Error(`nothing within ${ms} ms`)), ms))),
  ]);
}
/** True when `p` has settled after the current microtasks ran (no timer was needed). */
async function settledNow(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return done;
}

const layers: InMemoryChannelLayer[] = [];
const make = (options?: ConstructorParameters<typeof InMemoryChannelLayer>[0]) => {
  const layer = new InMemoryChannelLayer(options);
  layers.push(layer);
  return layer;
};
afterEach(async () => {
  await Promise.all(layers.splice(0).map((l) => l.close()));
});

describe('InMemoryChannelLayer', () => {
  it('shares one deep-frozen copy among all members of a group send', async () => {
    const layer = make();
    const members = await Promise.all([1, 2, 3].map(() => layer.newChannel()));
    for (const m of members) await layer.groupAdd('room', m);
    const waiting = layer.receive(members[0]!); // one member already waiting, two queued
    const sent = { type: 'chat.message', body: { text: 'hi', tags: ['a'] } };
    await layer.groupSend('room', sent);
    const got = [
      await within(waiting),
      await within(layer.receive(members[1]!)),
      await within(layer.receive(members[2]!)),
    ];
    assert.equal(got[0], got[1]);
    assert.equal(got[1], got[2]);
    assert.notEqual(got[0], sent);
    assert.notEqual(got[0]!.body, sent.body);
    assert.ok(
      Object.isFrozen(got[0]) &&
        Object.isFrozen(got[0]!.body) &&
        Object.isFrozen((got[0]!.body as { tags: string[] }).tags),
    );
    assert.equal(Object.isFrozen(sent), false, "the sender's object is left alone");
  });

  it('gives send() receivers a private, unfrozen copy', async () => {
    const layer = make();
    const ch = await layer.newChannel();
    const sent = { type: 't', list: [1] };
    await layer.send(ch, sent);
    const got = await within(layer.receive(ch));
    assert.notEqual(got, sent);
    assert.equal(Object.isFrozen(got), false);
    (got.list as number[]).push(2);
    assert.deepEqual(sent.list, [1]);
  });

  it('hands a message to a waiting receiver within the send, with no timer', async () => {
    const layer = make();
    const ch = await layer.newChannel();
    const pending = layer.receive(ch);
    await layer.send(ch, { type: 't' });
    assert.ok(await settledNow(pending));
    assert.equal(layer.stats().queued, 0, 'nothing was queued on the way');
  });

  it('serves many concurrent receivers on different channels, and two on one channel in turn', async () => {
    const layer = make();
    const names = await Promise.all(Array.from({ length: 2000 }, () => layer.newChannel()));
    const pending = names.map((n) => layer.receive(n));
    await Promise.all(names.map((n, i) => layer.send(n, { type: 't', i })));
    const got = await within(Promise.all(pending));
    assert.deepEqual(
      got.map((m) => m.i),
      names.map((_, i) => i),
    );

    const ch = names[0]!;
    const [first, second] = [layer.receive(ch), layer.receive(ch)];
    await layer.send(ch, { type: 't', n: 1 });
    await layer.send(ch, { type: 't', n: 2 });
    assert.deepEqual(
      [(await within(first)).n, (await within(second)).n],
      [1, 2],
      'the earlier receive gets the earlier message',
    );
  });

  it('fans out to 1000 members, one skipped when full, and counts it', async () => {
    const layer = make({ capacity: 1 });
    const drops: DropEvent[] = [];
    layer.on('drop', (e: DropEvent) => drops.push(e));
    const members = await Promise.all(Array.from({ length: 1000 }, () => layer.newChannel()));
    for (const m of members) await layer.groupAdd('big', m);
    await layer.send(members[7]!, { type: 'filler' }); // member 7 is now full
    await layer.groupSend('big', { type: 'news', n: 1 });
    assert.deepEqual(drops, [{ channel: members[7], group: 'big', reason: 'full' }]);
    const first = await within(layer.receive(members[0]!));
    const last = await within(layer.receive(members[999]!));
    assert.equal(first, last);
    assert.equal((await within(layer.receive(members[7]!))).type, 'filler', 'the full member keeps its older message');
    const s = layer.stats();
    assert.equal(s.sent, 1);
    assert.equal(s.groupSends, 1);
    assert.equal(s.droppedFull, 1);
    assert.equal(s.dropped, 1);
    assert.equal(s.delivered, 1 + 999);
    assert.equal(s.groups, 1);
  });

  it('counts expiries, emits a drop per expired message and takes the channel out of its groups', async () => {
    const layer = make({ expiry: 0.1 });
    const drops: DropEvent[] = [];
    layer.on('drop', (e: DropEvent) => drops.push(e));
    const [stale, live] = [await layer.newChannel(), await layer.newChannel()];
    await layer.groupAdd('g', stale);
    await layer.groupAdd('g', live);
    await layer.send(stale, { type: 't', n: 1 });
    await layer.send(stale, { type: 't', n: 2 });
    assert.equal(layer.stats().queued, 2);
    await sleep(250); // the sweep (every 100 ms here) finds them
    assert.deepEqual(drops, [
      { channel: stale, group: null, reason: 'expired' },
      { channel: stale, group: null, reason: 'expired' },
    ]);
    const s = layer.stats();
    assert.equal(s.expired, 2);
    assert.equal(s.dropped, 2);
    assert.equal(s.queued, 0);
    await layer.groupSend('g', { type: 't', n: 3 });
    assert.equal((await within(layer.receive(live))).n, 3);
    assert.equal(layer.stats().queued, 0, 'the stale channel got nothing: it left the group');
  });

  it('an expiry takes the channel out of every one of its groups, and only it', async () => {
    const layer = make({ expiry: 0.05 });
    const [stale, other] = [await layer.newChannel(), await layer.newChannel()];
    for (const g of ['solo-1', 'solo-2', 'shared']) await layer.groupAdd(g, stale);
    await layer.groupAdd('shared', other);
    await layer.groupAdd('left', stale);
    await layer.groupDiscard('left', stale);
    assert.equal(layer.stats().groups, 3);
    await layer.send(stale, { type: 't' });
    await sleep(80);
    const waiting = layer.receive(stale); // the lazy purge runs here; nothing is left to return
    assert.equal(await settledNow(waiting), false);
    assert.equal(layer.stats().groups, 1, 'the groups it was alone in are gone');
    await layer.groupSend('shared', { type: 't', n: 1 });
    assert.equal((await within(layer.receive(other))).n, 1);
    await layer.groupAdd('solo-1', stale); // it may join again
    await layer.groupSend('solo-1', { type: 't', n: 2 });
    assert.equal((await within(waiting)).n, 2);
  });

  it('purges an expired head lazily on receive, and before refusing a send as full', async () => {
    // The second message must outlive the gap between its send and its receive on a busy
    // machine, so the expiry is long next to that gap (one line of code) but short to wait for.
    const layer = make({ expiry: 1, capacity: 1 });
    const ch = await layer.newChannel();
    await layer.send(ch, { type: 't', n: 1 });
    await assert.rejects(layer.send(ch, { type: 't' }), {
      code: 'ERR_CHANNEL_FULL',
      message: new RegExp(`${ch.replace(/[.!]/g, '\\$&')} is full \\(capacity 1\\)`),
    });
    await sleep(1050);
    await layer.send(ch, { type: 't', n: 2 }); // the expired one made room
    assert.equal((await within(layer.receive(ch))).n, 2);
    assert.equal(layer.stats().expired, 1);
  });

  it('drops memberships older than groupExpiry on the next group send', async () => {
    const layer = make({ groupExpiry: 0.05 });
    const [old, fresh] = [await layer.newChannel(), await layer.newChannel()];
    await layer.groupAdd('g', old);
    await sleep(80);
    await layer.groupAdd('g', fresh);
    await layer.groupSend('g', { type: 't' });
    assert.equal(layer.stats().queued, 1, 'only the fresh member got it');
    assert.equal((await within(layer.receive(fresh))).type, 't');
    await sleep(80);
    await layer.groupSend('g', { type: 't' });
    assert.equal(layer.stats().groups, 0, 'an emptied group is forgotten');
  });

  it('re-adding a member refreshes its membership', async () => {
    const layer = make({ groupExpiry: 0.1 });
    const ch = await layer.newChannel();
    await layer.groupAdd('g', ch);
    await sleep(60);
    await layer.groupAdd('g', ch);
    await sleep(60);
    await layer.groupSend('g', { type: 't' });
    assert.equal((await within(layer.receive(ch))).type, 't');
  });

  it('discardChannel forgets queued messages of a channel whose reader has gone', async () => {
    const layer = make();
    const ch = await layer.newChannel();
    await layer.send(ch, { type: 't' });
    await layer.send(ch, { type: 't' });
    layer.discardChannel(ch);
    assert.equal(layer.stats().queued, 0);
    assert.equal(layer.stats().channels, 0);
  });

  it('flush empties queues and groups but keeps waiting receivers', async () => {
    const layer = make();
    const [a, b] = [await layer.newChannel(), await layer.newChannel()];
    await layer.send(a, { type: 't' });
    await layer.groupAdd('g', a);
    const waiting = layer.receive(b);
    await layer.flush();
    assert.equal(layer.stats().queued, 0);
    assert.equal(layer.stats().groups, 0);
    await layer.send(b, { type: 'after' });
    assert.equal((await within(waiting)).type, 'after');
  });

  it('after close, every call fails with ERR_LAYER_CLOSED and close is idempotent', async () => {
    const layer = make();
    const ch = await layer.newChannel();
    const pending = layer.receive(ch);
    await layer.close();
    await layer.close();
    await assert.rejects(within(pending), { code: 'ERR_LAYER_CLOSED' });
    await assert.rejects(layer.send(ch, { type: 't' }), { code: 'ERR_LAYER_CLOSED' });
    await assert.rejects(layer.receive(ch), { code: 'ERR_LAYER_CLOSED' });
    await assert.rejects(layer.groupSend('g', { type: 't' }), { code: 'ERR_LAYER_CLOSED' });
    await assert.rejects(layer.newChannel(), { code: 'ERR_LAYER_CLOSED' });
  });

  it('lets the process exit while messages are queued (the sweep timer is unref’d)', async () => {
    const { spawnSync } = await import('node:child_process');
    const script = `import { InMemoryChannelLayer } from './src/layers/memory.ts';
      const l = new InMemoryChannelLayer(); const c = await l.newChannel();
      await l.send(c, { type: 't' }); console.log('queued');`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: process.cwd(),
      timeout: 10_000,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'queued');
  });

  it('refuses unknown options at construction', () => {
    assert.throws(() => new InMemoryChannelLayer({ capcity: 5 } as object), {
      code: 'ERR_INVALID_OPTION',
      message: /capcity/,
    });
  });

  it('types messages by the layer parameter', async () => {
    type Chat = { type: 'chat.message'; text: string };
    const layer = new InMemoryChannelLayer<Chat>();
    layers.push(layer as unknown as InMemoryChannelLayer<LayerMessage>);
    const ch = await layer.newChannel();
    await layer.send(ch, { type: 'chat.message', text: 'x' });
    const m: Chat = await within(layer.receive(ch));
    assert.equal(m.text, 'x');
  });
});
