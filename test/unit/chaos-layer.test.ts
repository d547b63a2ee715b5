// ChaosLayer: the same seed gives the same faults, the rates are honoured over many messages,
// delays and copies behave as a layer's would, and with no faults it passes the conformance
// suite as the layer it wraps.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChaosLayer, type ChaosLayerOptions, type ChaosStats } from '../../src/layers/chaos-layer.ts';
import { InMemoryChannelLayer } from '../../src/layers/memory.ts';
import { layerConformanceSuite } from '../../src/testing/conformance.ts';
import type { LayerMessage } from '../../src/layers/types.ts';
import { configureChannelLayers, registerLayerBackend, resetChannelLayers } from '../../src/layers/registry.ts';
import { WebsocketConsumer, type Frame } from '../../src/consumers/index.ts';
import { WebsocketCommunicator } from '../../src/testing/websocket-communicator.ts';
import { MEMORY_CAPABILITIES } from '../conformance/memory-capabilities.ts';

const passThrough = (options?: Record<string, unknown>) =>
  new ChaosLayer(new InMemoryChannelLayer(options), { seed: 7 });
layerConformanceSuite('chaos layer, every rate 0, over memory', passThrough, MEMORY_CAPABILITIES);

const roomy = () => new InMemoryChannelLayer({ capacity: 100_000 });

/** Everything queued on `channel` now, in order (the memory layer queues synchronously). */
async function drain(inner: InMemoryChannelLayer, layer: ChaosLayer, channel: string): Promise<number[]> {
  const out: number[] = [];
  while (inner.stats().queued > 0) out.push((await layer.receive(channel)).n as number);
  return out;
}

/** Sends 0..count-1 to one channel through a chaos layer; returns what arrived, in order, and the stats. */
async function run(options: ChaosLayerOptions, count: number): Promise<{ got: number[]; stats: ChaosStats }> {
  const inner = roomy();
  const layer = new ChaosLayer(inner, options);
  const channel = await layer.newChannel();
  for (let n = 0; n < count; n++) await layer.send(channel, { type: 't', n });
  await withinMs(layer.idle(), 5000, 'idle');
  const got = await drain(inner, layer, channel);
  const stats = layer.stats();
  await layer.close();
  return { got, stats };
}

function withinMs<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer!: NodeJS.Timeout;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Allowed distance from n·p: five standard deviations of the binomial count, at least 5. */
function tolerance(n: number, p: number): number {
  return Math.max(5, 5 * Math.sqrt(n * p * (1 - p)));
}

describe('ChaosLayer decisions', () => {
  it('the same seed gives the same drops, copies and order; another seed does not', async () => {
    const options = { drop: 0.2, duplicate: 0.2, reorder: 0.2 };
    const a = await run({ seed: 42, ...options }, 500);
    const b = await run({ seed: 42, ...options }, 500);
    const c = await run({ seed: 43, ...options }, 500);
    assert.deepEqual(a.stats, b.stats);
    assert.deepEqual(a.got, b.got);
    assert.notDeepEqual(a.got, c.got);
    assert.ok(a.stats.dropped > 0 && a.stats.duplicated > 0 && a.stats.reordered > 0, JSON.stringify(a.stats));
  });

  it('with delays, the same seed still drops and copies the same messages (timers decide the order)', async () => {
    const options = { drop: 0.2, duplicate: 0.2, reorder: 0.1, delayMs: [0, 3] as const };
    const a = await run({ seed: 11, ...options }, 300);
    const b = await run({ seed: 11, ...options }, 300);
    const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);
    assert.deepEqual(sorted(a.got), sorted(b.got));
    assert.deepEqual(a.stats, b.stats);
    assert.ok(a.stats.delayed > 0);
  });

  it('honours the rates over 10,000 messages and loses nothing it did not drop', async () => {
    const n = 10_000;
    const { got, stats } = await run({ seed: 3, drop: 0.1, duplicate: 0.05, reorder: 0.02 }, n);
    assert.equal(stats.messages, n);
    assert.ok(Math.abs(stats.dropped - n * 0.1) <= tolerance(n, 0.1), `dropped ${stats.dropped} of ${n}`);
    const kept = n - stats.dropped;
    const near = (got: number, n: number, p: number) => Math.abs(got - n * p) <= tolerance(n, p);
    assert.ok(near(stats.duplicated, kept, 0.05), `duplicated ${stats.duplicated} of ${kept}`);
    assert.ok(near(stats.reordered, kept, 0.02), `reordered ${stats.reordered} of ${kept}`);
    assert.equal(got.length, kept + stats.duplicated, 'every message not dropped arrives, duplicates twice');
    assert.equal(new Set(got).size, kept);
    assert.equal(stats.forwarded, got.length);
    let descents = 0;
    for (let i = 1; i < got.length; i++) if (got[i]! < got[i - 1]!) descents++;
    assert.ok(descents > 0 && descents <= stats.reordered, `${descents} overtaken, ${stats.reordered} held back`);
    assert.deepEqual([stats.failed, stats.pending, stats.delayed], [0, 0, 0]);
  });

  it('a held-back message goes after the next one to its destination, or after the window', async () => {
    const inner = roomy();
    const layer = new ChaosLayer(inner, { reorder: 1, reorderWindowMs: 30 });
    const channel = await layer.newChannel();
    await layer.send(channel, { type: 't', n: 1 });
    assert.equal(inner.stats().queued, 0, 'held back');
    await withinMs(layer.idle(), 1000, 'idle');
    assert.equal((await layer.receive(channel)).n, 1, 'released after the window');
    const plain = new ChaosLayer(roomy(), { seed: 1, reorder: 0.5 });
    const ch = await plain.newChannel();
    for (let n = 0; n < 50; n++) await plain.send(ch, { type: 't', n });
    await withinMs(plain.idle(), 2000, 'idle');
    assert.equal(plain.stats().pending, 0);
    await Promise.all([layer.close(), plain.close()]);
  });

  it('delays each message by at least min ms, copying it at send time', async () => {
    const inner = roomy();
    const layer = new ChaosLayer(inner, { seed: 9, delayMs: [15, 40] });
    const channel = await layer.newChannel();
    const sentAt = new Map<number, number>();
    const lateness: number[] = [];
    const lists: unknown[] = [];
    const stop = layer.listen!(channel, (m) => {
      lateness.push(performance.now() - sentAt.get(m.n as number)!);
      lists.push(m.list);
      return true;
    });
    for (let n = 0; n < 40; n++) {
      const message = { type: 't', n, list: [n] };
      sentAt.set(n, performance.now());
      await layer.send(channel, message);
      message.list.push(-1); // changed after send: the receiver must not see it
    }
    assert.equal(layer.stats().pending, 40, 'send returns while the message is on its way');
    await withinMs(layer.idle(), 2000, 'idle');
    await new Promise((r) => setTimeout(r, 5));
    stop();
    assert.equal(lateness.length, 40);
    assert.ok(
      lists.every((l) => Array.isArray(l) && l.length === 1),
      'each message as it was when sent',
    );
    assert.ok(Math.min(...lateness) >= 14, `earliest ${Math.min(...lateness)} ms`);
    assert.equal(layer.stats().delayed, 40);
    await layer.close();
  });

  it('a group send is one message for every member: dropped for all, or duplicated to each', async () => {
    const inner = roomy();
    const layer = new ChaosLayer(inner, { seed: 5, drop: 0.3, duplicate: 0.3 });
    const [a, b] = [await layer.newChannel(), await layer.newChannel()];
    await layer.groupAdd('room', a);
    await layer.groupAdd('room', b);
    for (let n = 0; n < 200; n++) await layer.groupSend('room', { type: 't', n });
    const perMember = inner.stats().queued / 2;
    const byMember: number[][] = [[], []];
    for (let i = 0; i < perMember; i++) {
      byMember[0]!.push((await withinMs(layer.receive(a), 1000, 'receive a')).n as number);
      byMember[1]!.push((await withinMs(layer.receive(b), 1000, 'receive b')).n as number);
    }
    assert.equal(inner.stats().queued, 0);
    assert.deepEqual(byMember[0], byMember[1]);
    const stats = layer.stats();
    assert.equal(byMember[0]!.length, 200 - stats.dropped + stats.duplicated);
    await layer.close();
  });

  it('refuses a bad name or message even when the message would have been dropped', async () => {
    const layer = new ChaosLayer(roomy(), { drop: 1 });
    const channel = await layer.newChannel();
    await layer.send(channel, { type: 't' });
    await assert.rejects(layer.send('bad name', { type: 't' }), { code: 'ERR_INVALID_CHANNEL_NAME' });
    await assert.rejects(layer.groupSend('bad!group', { type: 't' }), { code: 'ERR_INVALID_CHANNEL_NAME' });
    const unsendable = { type: 't', f: () => 1 } as LayerMessage;
    await assert.rejects(layer.send(channel, unsendable), { code: 'ERR_INVALID_MESSAGE' });
    assert.deepEqual([layer.stats().messages, layer.stats().dropped], [1, 1]);
    await layer.close();
    await assert.rejects(layer.send(channel, { type: 't' }), { code: 'ERR_LAYER_CLOSED' });
  });

  it('a pass-through send raises the wrapped layer errors; a delayed one counts them', async () => {
    const tight = new InMemoryChannelLayer({ capacity: 1 });
    const direct = new ChaosLayer(tight);
    const ch = await direct.newChannel();
    await direct.send(ch, { type: 't' });
    await assert.rejects(direct.send(ch, { type: 't' }), { code: 'ERR_CHANNEL_FULL' });
    const later = new ChaosLayer(tight, { delayMs: [1, 1] });
    await later.send(ch, { type: 't' });
    await withinMs(later.idle(), 1000, 'idle');
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(later.stats().failed, 1);
    await tight.close();
  });

  it('flush and close forget messages still on their way', async () => {
    const inner = roomy();
    const layer = new ChaosLayer(inner, { delayMs: [50, 50] });
    const channel = await layer.newChannel();
    await layer.send(channel, { type: 't', n: 1 });
    await layer.flush();
    assert.equal(layer.stats().pending, 0);
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(inner.stats().queued, 0);
    await layer.send(channel, { type: 't', n: 2 });
    await layer.close();
    await withinMs(layer.idle(), 100, 'idle after close');
  });

  it('refuses unknown options and out-of-range values with ERR_INVALID_OPTION', () => {
    const inner = roomy();
    const bads = [
      { drop: 1.5 },
      { duplicate: -0.1 },
      { reorder: Number.NaN },
      { delayMs: [5, 1] },
      { delayMs: [0.5, 1] },
      { seed: Infinity },
      { loss: 0.1 },
    ];
    for (const bad of bads) {
      const make = () => new ChaosLayer(inner, bad as ChaosLayerOptions);
      assert.throws(make, { code: 'ERR_INVALID_OPTION' }, JSON.stringify(bad));
    }
    assert.throws(() => new ChaosLayer({} as InMemoryChannelLayer), { code: 'ERR_INVALID_OPTION' });
  });
});

describe('ChaosLayer under consumers', () => {
  afterEach(() => resetChannelLayers());

  class Room extends WebsocketConsumer<{ type: 'chat.message'; text: string }> {
    static override groups = ['room'];
    override async receive(frame: Frame): Promise<void> {
      await this.channelLayer.groupSend('room', { type: 'chat.message', text: frame.text ?? '' });
    }
    async chat_message(event: { text: string }): Promise<void> {
      await this.send({ text: event.text });
    }
  }

  registerLayerBackend('chaos-memory', (options) => {
    return new ChaosLayer(new InMemoryChannelLayer(), options as ChaosLayerOptions);
  });
  const member = () => new WebsocketCommunicator(Room.asApp(), '/room/');

  it('as a configured backend: a duplicated group message reaches each member twice', async () => {
    configureChannelLayers({ default: { backend: 'chaos-memory', options: { seed: 1, duplicate: 1 } } });
    const [alice, bob] = [member(), member()];
    assert.equal((await alice.connect()).connected, true);
    assert.equal((await bob.connect()).connected, true);
    await alice.sendTo({ text: 'hi' });
    for (const c of [alice, bob]) {
      assert.equal(await c.receiveFrom(), 'hi');
      assert.equal(await c.receiveFrom(), 'hi');
      assert.equal(await c.receiveNothing(), true);
    }
    await alice.disconnect();
    await bob.disconnect();
  });

  it('with drop 1 nothing arrives, and the consumers still end cleanly', async () => {
    configureChannelLayers({ default: { backend: 'chaos-memory', options: { drop: 1 } } });
    const [alice, bob] = [member(), member()];
    await alice.connect();
    await bob.connect();
    await alice.sendTo({ text: 'lost' });
    assert.equal(await bob.receiveNothing(200), true);
    assert.equal(await alice.receiveNothing(), true);
    await alice.disconnect();
    await bob.disconnect();
  });
});
