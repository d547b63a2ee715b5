// AsyncConsumer: dispatch by type, refused handler names, missing handlers, StopConsumer,
// one-at-a-time handling, layer messages, asApp init options.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncConsumer } from '../../src/consumers/index.ts';
import { InvalidOptionError, NoHandlerError, StopConsumer } from '../../src/errors.ts';
import { getChannelLayer, resetChannelLayers } from '../../src/layers/registry.ts';
import { ApplicationCommunicator } from '../../src/testing/application-communicator.ts';
import { websocketScope } from '../../src/testing/scope-builder.ts';
import type { LayerMessage } from '../../src/layers/types.ts';
import { until } from './consumers-helpers.ts';
import { SETTLED } from '../../src/asgi/settled.ts';

afterEach(() => resetChannelLayers());

const scope = () => websocketScope('/ws/');

describe('AsyncConsumer dispatch', () => {
  test('calls the method named after the type, dots as underscores, with the event', async () => {
    const seen: unknown[] = [];
    class C extends AsyncConsumer {
      async websocket_connect(): Promise<void> {
        await this.baseSend({ type: 'websocket.accept' });
      }
      async websocket_receive(event: { text?: string }): Promise<void> {
        seen.push(event.text);
        await this.baseSend({ type: 'websocket.send', text: `got ${event.text}` });
      }
    }
    const comm = new ApplicationCommunicator(C.asApp(), scope());
    await comm.sendInput({ type: 'websocket.connect' });
    assert.deepEqual(await comm.receiveOutput(), { type: 'websocket.accept' });
    await comm.sendInput({ type: 'websocket.receive', text: 'hi' });
    assert.deepEqual(await comm.receiveOutput(), { type: 'websocket.send', text: 'got hi' });
    assert.deepEqual(seen, ['hi']);
  });

  test('a type whose handler name starts with _ is refused, even when the method exists', async () => {
    let called = false;
    class Secret extends AsyncConsumer {
      async _internal_reset(): Promise<void> {
        called = true;
      }
    }
    const comm = new ApplicationCommunicator(Secret.asApp(), scope());
    await comm.sendInput({ type: '_internal.reset' } as never);
    await assert.rejects(comm.wait(1000), (err: unknown) => {
      assert.ok(err instanceof NoHandlerError);
      assert.equal(err.code, 'ERR_NO_HANDLER');
      assert.match(err.message, /"_internal\.reset"/);
      assert.match(err.message, /Secret\._internal_reset/);
      return true;
    });
    assert.equal(called, false);
  });

  test("a type naming one of the consumer's own API methods is refused (no 'stop' or 'run' by message)", async () => {
    class C extends AsyncConsumer {}
    for (const type of ['stop', 'dispatch', 'constructor', 'toString']) {
      const comm = new ApplicationCommunicator(C.asApp(), scope());
      await comm.sendInput({ type } as never);
      await assert.rejects(
        comm.wait(1000),
        (err: unknown) => err instanceof NoHandlerError && /not a handler/.test(err.message),
        type,
      );
    }
  });

  test('a type with no handler fails with an error naming the type and the consumer class', async () => {
    class ChatConsumer extends AsyncConsumer {}
    const comm = new ApplicationCommunicator(ChatConsumer.asApp(), scope());
    await comm.sendInput({ type: 'websocket.connect' });
    await assert.rejects(comm.wait(1000), (err: unknown) => {
      assert.ok(err instanceof NoHandlerError);
      assert.match(err.message, /"websocket\.connect"/);
      assert.match(err.message, /ChatConsumer\.websocket_connect/);
      return true;
    });
  });

  test('StopConsumer from a handler ends the instance cleanly; later events are not handled', async () => {
    const handled: string[] = [];
    class C extends AsyncConsumer {
      async websocket_connect(): Promise<void> {
        handled.push('connect');
        throw new StopConsumer();
      }
      async websocket_receive(): Promise<void> {
        handled.push('receive');
      }
    }
    const comm = new ApplicationCommunicator(C.asApp(), scope());
    await comm.sendInput({ type: 'websocket.connect' });
    await comm.sendInput({ type: 'websocket.receive', text: 'x' });
    await comm.wait(1000); // resolves: no error
    assert.deepEqual(handled, ['connect']);
  });

  test('a receive() that rejects with StopConsumer (how a worker ends an instance) is a clean end', async () => {
    const handled: string[] = [];
    class Job extends AsyncConsumer {
      static override channelLayerAlias = null;
      async thumbnail_make(event: { id: number }): Promise<void> {
        handled.push(`thumb ${event.id}`);
      }
    }
    let calls = 0;
    const receive = async () => {
      if (calls++ === 0) return { type: 'thumbnail.make', id: 7 } as never;
      throw new StopConsumer();
    };
    const send = async (): Promise<void> => {};
    await Job.asApp()(
      { type: 'channel', channel: 'thumbs', asgi: { version: '3.0', spec_version: '2.4' } },
      receive,
      send,
    );
    assert.deepEqual(handled, ['thumb 7']);
  });

  test('an error in a handler ends the instance with that error', async () => {
    class C extends AsyncConsumer {
      async websocket_connect(): Promise<void> {
        throw new RangeError('boom in connect');
      }
    }
    const comm = new ApplicationCommunicator(C.asApp(), scope());
    await comm.sendInput({ type: 'websocket.connect' });
    await assert.rejects(comm.wait(1000), /boom in connect/);
  });

  test('events are handled one at a time, in arrival order, each handler awaited before the next', async () => {
    const log: string[] = [];
    let active = 0;
    let maxActive = 0;
    let channelName = '';
    class Slow extends AsyncConsumer {
      async websocket_receive(event: { text?: string }): Promise<void> {
        channelName = this.channelName;
        active++;
        maxActive = Math.max(maxActive, active);
        log.push(`start ${event.text}`);
        await new Promise((r) => setTimeout(r, event.text === 'a' ? 30 : 1));
        log.push(`end ${event.text}`);
        active--;
      }
      async test_ping(event: LayerMessage): Promise<void> {
        log.push(`layer ${String(event.n)}`);
      }
    }
    const comm = new ApplicationCommunicator(Slow.asApp(), scope());
    await comm.sendInput({ type: 'websocket.receive', text: 'a' });
    await comm.sendInput({ type: 'websocket.receive', text: 'b' });
    await until(() => log.length > 0);
    // A layer message that arrives while 'a' is being handled waits its turn behind 'b'.
    await getChannelLayer().send(channelName, { type: 'test.ping', n: 1 });
    await until(() => log.length === 5);
    assert.deepEqual(log, ['start a', 'end a', 'start b', 'end b', 'layer 1']);
    assert.equal(maxActive, 1);
  });

  test('one group send runs every member; a member whose handler throws ends alone, the rest go on', async () => {
    const handled: string[] = [];
    class Member extends AsyncConsumer {
      async websocket_connect(): Promise<void> {
        await this.channelLayer.groupAdd('room', this.channelName);
        await this.baseSend({ type: 'websocket.accept' });
      }
      // Not async: a throw comes out of the call itself, in the middle of the group's members.
      room_news(event: LayerMessage): Promise<void> | void {
        if (this.scope.type === 'websocket' && this.scope.path === '/ws/bad/') throw new Error('bad member');
        handled.push(`${this.scope.type === 'websocket' ? this.scope.path : ''} ${String(event.n)}`);
      }
    }
    const paths = ['/ws/a/', '/ws/bad/', '/ws/b/', '/ws/c/'];
    const comms = paths.map((p) => new ApplicationCommunicator(Member.asApp(), websocketScope(p)));
    for (const c of comms) {
      await c.sendInput({ type: 'websocket.connect' });
      await c.receiveOutput();
    }
    await getChannelLayer().groupSend('room', { type: 'room.news', n: 1 });
    await assert.rejects(comms[1]!.wait(1000), /bad member/);
    await getChannelLayer().groupSend('room', { type: 'room.news', n: 2 });
    await until(() => handled.length === 6);
    assert.deepEqual(handled.sort(), ['/ws/a/ 1', '/ws/a/ 2', '/ws/b/ 1', '/ws/b/ 2', '/ws/c/ 1', '/ws/c/ 2']);
  });

  test('a message sent by a handler during a group send is handled in arrival order by every member', async () => {
    const seen = new Map<string, string[]>();
    const names: string[] = [];
    class Relay extends AsyncConsumer {
      async websocket_connect(): Promise<void> {
        names.push(this.channelName);
        seen.set(this.channelName, []);
        await this.channelLayer.groupAdd('relay', this.channelName);
      }
      // The first member, on the group message, sends a direct message to every member.
      room_go(event: LayerMessage): void {
        seen.get(this.channelName)!.push(`go ${String(event.n)}`);
        if (this.channelName === names[0])
          for (const n of names) void this.channelLayer.send(n, { type: 'room.direct', n: event.n });
      }
      async room_direct(event: LayerMessage): Promise<void> {
        await new Promise((r) => setImmediate(r));
        seen.get(this.channelName)!.push(`direct ${String(event.n)}`);
      }
    }
    const comms = [0, 1, 2].map(() => new ApplicationCommunicator(Relay.asApp(), scope()));
    for (const c of comms) await c.sendInput({ type: 'websocket.connect' });
    await until(() => names.length === 3);
    await new Promise((r) => setTimeout(r, 5));
    await getChannelLayer().groupSend('relay', { type: 'room.go', n: 1 });
    await getChannelLayer().groupSend('relay', { type: 'room.go', n: 2 });
    await until(() => [...seen.values()].every((l) => l.length === 4));
    // Each member: its group message first, then the direct one that came while the group send
    // was still being handed out, then the second group send.
    for (const n of names) assert.deepEqual(seen.get(n), ['go 1', 'direct 1', 'go 2', 'direct 2'], n);
  });

  test(
    "a handler that returns the send's SETTLED lets the next message run at once, in order; " +
      'a rejected send ends the instance',
    async () => {
      const sent: string[] = [];
      let name = '';
      class Quick extends AsyncConsumer {
        async websocket_connect(): Promise<void> {
          name = this.channelName;
        }
        chat_message(event: LayerMessage): Promise<void> {
          return this.baseSend({ type: 'websocket.send', text: String(event.text) });
        }
      }
      let fail = false;
      const send = (event: { type: string; text?: string }): Promise<void> => {
        if (event.type !== 'websocket.send') return SETTLED;
        if (fail) return Promise.reject(new Error('socket gone'));
        sent.push(event.text!);
        return SETTLED;
      };
      let given = false;
      const receive = () =>
        given
          ? new Promise<never>(() => {})
          : ((given = true), Promise.resolve({ type: 'websocket.connect' } as const));
      const ended = Quick.asApp()(scope(), receive as never, send as never);
      await until(() => name !== '');
      const layer = getChannelLayer();
      for (let i = 0; i < 20; i++) void layer.send(name, { type: 'chat.message', text: `m${i}` });
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(
        sent,
        Array.from({ length: 20 }, (_, i) => `m${i}`),
      );
      fail = true;
      await layer.send(name, { type: 'chat.message', text: 'lost' });
      await assert.rejects(
        Promise.race([ended, new Promise((_, no) => setTimeout(() => no(new Error('did not end')), 1000))]),
        /socket gone/,
      );
    },
  );

  test('messages on its own channel reach the handler; this.channelName comes from newChannel()', async () => {
    const got: LayerMessage[] = [];
    let name = '';
    class C extends AsyncConsumer {
      async websocket_connect(): Promise<void> {
        name = this.channelName;
        await this.baseSend({ type: 'websocket.accept' });
      }
      async chat_message(event: LayerMessage): Promise<void> {
        got.push(event);
        await this.baseSend({ type: 'websocket.send', text: String(event.text) });
      }
    }
    const comm = new ApplicationCommunicator(C.asApp(), scope());
    await comm.sendInput({ type: 'websocket.connect' });
    await comm.receiveOutput();
    assert.match(name, /^specific\..+!.+/);
    await getChannelLayer().send(name, { type: 'chat.message', text: 'from the layer' });
    assert.deepEqual(await comm.receiveOutput(), { type: 'websocket.send', text: 'from the layer' });
    assert.deepEqual(got, [{ type: 'chat.message', text: 'from the layer' }]);
  });

  test('channelLayerAlias null: no layer, no channel', async () => {
    class NoLayer extends AsyncConsumer {
      static override channelLayerAlias = null;
      async websocket_connect(): Promise<void> {
        await this.baseSend({
          type: 'websocket.send',
          text: `[${this.channelName}] ${this.channelLayer === undefined}`,
        });
      }
    }
    const comm = new ApplicationCommunicator(NoLayer.asApp(), scope());
    await comm.sendInput({ type: 'websocket.connect' });
    assert.deepEqual(await comm.receiveOutput(), { type: 'websocket.send', text: '[] true' });
  });

  test('an unknown channelLayerAlias fails with an error naming it', async () => {
    class Elsewhere extends AsyncConsumer {
      static override channelLayerAlias = 'analytics';
    }
    const comm = new ApplicationCommunicator(Elsewhere.asApp(), scope());
    await assert.rejects(
      comm.wait(1000),
      (err: unknown) => err instanceof InvalidOptionError && /'analytics'/.test(err.message),
    );
  });

  test('once it has ended, its channel is released: later messages are not handled', async () => {
    const handled: string[] = [];
    let name = '';
    class C extends AsyncConsumer {
      async websocket_connect(): Promise<void> {
        name = this.channelName;
      }
      async websocket_disconnect(): Promise<void> {
        throw new StopConsumer();
      }
      async chat_message(): Promise<void> {
        handled.push('late');
      }
    }
    const comm = new ApplicationCommunicator(C.asApp(), scope());
    await comm.sendInput({ type: 'websocket.connect' });
    await comm.sendInput({ type: 'websocket.disconnect', code: 1000 });
    await comm.wait(1000);
    await getChannelLayer().send(name, { type: 'chat.message' });
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(handled, []);
  });

  for (const alias of ['default', null]) {
    test(
      `stop() ends an idle instance without waiting for another event ` + `(channelLayerAlias ${String(alias)})`,
      async () => {
        const handled: string[] = [];
        let cleanUps = 0;
        class C extends AsyncConsumer {
          static override channelLayerAlias = alias;
          async websocket_connect(): Promise<void> {
            handled.push('connect');
            setTimeout(() => this.stop(), 10);
          }
          async websocket_receive(): Promise<void> {
            handled.push('receive');
          }
          protected override async cleanUp(): Promise<void> {
            cleanUps++;
          }
        }
        const comm = new ApplicationCommunicator(C.asApp(), scope());
        await comm.sendInput({ type: 'websocket.connect' });
        await comm.wait(1000);
        // An event that comes after the end is not handled, and clean-up ran once.
        await comm.sendInput({ type: 'websocket.receive', text: 'late' });
        await new Promise((r) => setTimeout(r, 20));
        assert.deepEqual(handled, ['connect']);
        assert.equal(cleanUps, 1);
      },
    );
  }

  test('without a layer, the instance ends after a disconnect its handler did not stop on', async () => {
    class C extends AsyncConsumer {
      static override channelLayerAlias = null;
      async websocket_connect(): Promise<void> {}
      async websocket_disconnect(): Promise<void> {}
    }
    const comm = new ApplicationCommunicator(C.asApp(), scope());
    await comm.sendInput({ type: 'websocket.connect' });
    await comm.sendInput({ type: 'websocket.disconnect', code: 1000 });
    await comm.wait(1000);
  });

  test('without a layer, an error from a handler still ends the instance with it, after clean-up', async () => {
    const order: string[] = [];
    class C extends AsyncConsumer {
      static override channelLayerAlias = null;
      async websocket_connect(): Promise<void> {
        throw new Error('boom in connect');
      }
      protected override async cleanUp(): Promise<void> {
        order.push('cleanUp');
      }
    }
    const comm = new ApplicationCommunicator(C.asApp(), scope());
    await comm.sendInput({ type: 'websocket.connect' });
    await assert.rejects(comm.wait(1000), /boom in connect/);
    assert.deepEqual(order, ['cleanUp']);
  });
});

describe('asApp init options', () => {
  class Room extends AsyncConsumer {
    room = 'lobby';
    maxUsers = 10;
    async websocket_connect(): Promise<void> {
      await this.baseSend({ type: 'websocket.send', text: `${this.room}/${this.maxUsers}` });
      throw new StopConsumer();
    }
  }

  test('known fields are set on every new instance; defaults stay otherwise', async () => {
    const app = Room.asApp({ room: 'kitchen' });
    for (let i = 0; i < 2; i++) {
      const comm = new ApplicationCommunicator(app, scope());
      await comm.sendInput({ type: 'websocket.connect' });
      assert.deepEqual(await comm.receiveOutput(), { type: 'websocket.send', text: 'kitchen/10' });
      await comm.wait();
    }
    const plain = new ApplicationCommunicator(Room.asApp(), scope());
    await plain.sendInput({ type: 'websocket.connect' });
    assert.deepEqual(await plain.receiveOutput(), { type: 'websocket.send', text: 'lobby/10' });
  });

  test('each connection gets its own instance', async () => {
    const instances = new Set<object>();
    class Counter extends AsyncConsumer {
      async websocket_connect(): Promise<void> {
        instances.add(this);
        throw new StopConsumer();
      }
    }
    const app = Counter.asApp();
    for (let i = 0; i < 3; i++) {
      const comm = new ApplicationCommunicator(app, scope());
      await comm.sendInput({ type: 'websocket.connect' });
      await comm.wait();
    }
    assert.equal(instances.size, 3);
  });

  test('an unknown key fails at asApp() time with an InvalidOptionError naming it', () => {
    assert.throws(
      () => Room.asApp({ rooom: 'x' } as never),
      (err: unknown) =>
        err instanceof InvalidOptionError && /'rooom'/.test(err.message) && /Room\.asApp/.test(err.message),
    );
  });

  test('methods and per-connection properties are not init options', () => {
    assert.throws(() => Room.asApp({ websocket_connect: () => {} } as never), /'websocket_connect' is a method/);
    assert.throws(() => Room.asApp({ scope: {} } as never), /'scope' is set by the consumer/);
    assert.throws(() => Room.asApp({ channelName: 'x' } as never), /'channelName'/);
    assert.throws(() => Room.asApp(null as never), /must be an object/);
  });
});
