// WebsocketConsumer and JsonWebsocketConsumer through the WebSocket communicator and the
// in-memory layer: accept/deny, frames both ways, close, groups, JSON errors.
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AsyncJsonWebsocketConsumer,
  AsyncWebsocketConsumer,
  JsonWebsocketConsumer,
  WebsocketConsumer,
  type Frame,
} from '../../src/consumers/index.ts';
import { AcceptConnection, DenyConnection } from '../../src/errors.ts';
import { getChannelLayer, resetChannelLayers } from '../../src/layers/registry.ts';
import { WebsocketCommunicator } from '../../src/testing/websocket-communicator.ts';
import type { LayerMessage } from '../../src/layers/types.ts';
import { until, useWatchedLayer, type WatchedLayer } from './consumers-helpers.ts';

afterEach(() => resetChannelLayers());

let layer: WatchedLayer;
beforeEach(() => {
  layer = useWatchedLayer();
});
const members = (group: string) => layer.count(group);

class Echo extends WebsocketConsumer {
  override async receive(frame: Frame): Promise<void> {
    if (frame.text !== undefined) await this.send({ text: `echo: ${frame.text}` });
    else await this.send({ bytes: Buffer.concat([Buffer.from('echo: '), frame.bytes]) });
  }
}

describe('WebsocketConsumer', () => {
  test('accepts by default and echoes text and binary frames', async () => {
    const comm = new WebsocketCommunicator(Echo.asApp(), '/echo/');
    const result = await comm.connect();
    assert.equal(result.connected, true);
    await comm.sendTo({ text: 'hello' });
    assert.equal(await comm.receiveFrom(), 'echo: hello');
    await comm.sendTo({ bytes: Buffer.from([1, 2]) });
    assert.deepEqual(await comm.receiveFrom(), Buffer.concat([Buffer.from('echo: '), Buffer.from([1, 2])]));
    await comm.disconnect();
  });

  test('accept(subprotocol, headers) picks a subprotocol the client offered and adds headers', async () => {
    class Proto extends WebsocketConsumer {
      override async connect(): Promise<void> {
        await this.accept(this.scope.subprotocols.includes('chat.v2') ? 'chat.v2' : null, [['x-served-by', 'canal']]);
      }
    }
    const comm = new WebsocketCommunicator(Proto.asApp(), '/p/', { subprotocols: ['chat.v1', 'chat.v2'] });
    const result = await comm.connect();
    assert.equal(result.subprotocol, 'chat.v2');
    assert.deepEqual(
      result.headers?.map(([k, v]) => [k.toString(), v.toString()]),
      [['x-served-by', 'canal']],
    );
    await comm.disconnect();
  });

  test('DenyConnection from connect() refuses the handshake (a close before accept: 403 on the wire)', async () => {
    let disconnected = false;
    class Private extends WebsocketConsumer {
      override async connect(): Promise<void> {
        throw new DenyConnection();
      }
      override async disconnect(): Promise<void> {
        disconnected = true;
      }
    }
    const comm = new WebsocketCommunicator(Private.asApp(), '/private/');
    const result = await comm.connect();
    assert.equal(result.connected, false);
    assert.equal(result.closeCode, 1000);
    await comm.disconnect(1006);
    assert.equal(disconnected, true);
  });

  test('AcceptConnection from connect() accepts', async () => {
    class Quick extends WebsocketConsumer {
      override async connect(): Promise<void> {
        throw new AcceptConnection();
      }
    }
    const comm = new WebsocketCommunicator(Quick.asApp(), '/q/');
    assert.equal((await comm.connect()).connected, true);
    await comm.disconnect();
  });

  test('close(code, reason) closes from the server side', async () => {
    class Closer extends WebsocketConsumer {
      override async receive(): Promise<void> {
        await this.close(4001, 'bye now');
      }
    }
    const comm = new WebsocketCommunicator(Closer.asApp(), '/c/');
    await comm.connect();
    await comm.sendTo('x');
    assert.deepEqual(await comm.receiveOutput(), { type: 'websocket.close', code: 4001, reason: 'bye now' });
    await comm.disconnect(4001);
  });

  test('send(text) shorthand sends a text frame', async () => {
    class Short extends WebsocketConsumer {
      override async connect(): Promise<void> {
        await this.accept();
        await this.send('welcome');
      }
    }
    const comm = new WebsocketCommunicator(Short.asApp(), '/s/');
    await comm.connect();
    assert.equal(await comm.receiveFrom(), 'welcome');
    await comm.disconnect();
  });

  test('disconnect(code, reason) runs with the client close code, then the instance ends', async () => {
    const calls: [number, string][] = [];
    class C extends WebsocketConsumer {
      override async disconnect(code: number, reason: string): Promise<void> {
        calls.push([code, reason]);
      }
    }
    const comm = new WebsocketCommunicator(C.asApp(), '/d/');
    await comm.connect();
    await comm.sendInput({ type: 'websocket.disconnect', code: 4321, reason: 'tab closed' });
    await comm.wait(1000);
    assert.deepEqual(calls, [[4321, 'tab closed']]);
  });

  test('static groups are joined on connect and left on disconnect', async () => {
    class Lobby extends WebsocketConsumer {
      static override groups = ['lobby', 'everyone'];
    }
    const a = new WebsocketCommunicator(Lobby.asApp(), '/lobby/');
    const b = new WebsocketCommunicator(Lobby.asApp(), '/lobby/');
    await a.connect();
    await b.connect();
    assert.equal(members('lobby'), 2);
    assert.equal(members('everyone'), 2);
    await a.disconnect();
    assert.equal(members('lobby'), 1);
    await b.disconnect();
    assert.equal(members('lobby'), 0);
    assert.equal(members('everyone'), 0);
  });

  test('static groups are left too when the consumer ends with an error', async () => {
    class Fragile extends WebsocketConsumer {
      static override groups = ['fragile'];
      override async receive(): Promise<void> {
        throw new Error('handler bug');
      }
    }
    const comm = new WebsocketCommunicator(Fragile.asApp(), '/f/');
    await comm.connect();
    assert.equal(members('fragile'), 1);
    await comm.sendTo('x');
    await assert.rejects(comm.wait(1000), /handler bug/);
    assert.equal(members('fragile'), 0);
  });

  test('two consumers talk through a group: groupSend reaches every member handler', async () => {
    type ChatMessage = { type: 'chat.message'; text: string; from: string };
    class Chat extends WebsocketConsumer<ChatMessage> {
      static override groups = ['room-1'];
      override async receive(frame: Frame): Promise<void> {
        await this.channelLayer.groupSend('room-1', {
          type: 'chat.message',
          text: frame.text ?? '',
          from: this.channelName,
        });
      }
      async chat_message(event: ChatMessage): Promise<void> {
        await this.send({ text: `${event.from === this.channelName ? 'me' : 'them'}: ${event.text}` });
      }
    }
    const alice = new WebsocketCommunicator(Chat.asApp(), '/chat/');
    const bob = new WebsocketCommunicator(Chat.asApp(), '/chat/');
    await alice.connect();
    await bob.connect();
    await alice.sendTo('hi bob');
    assert.equal(await alice.receiveFrom(), 'me: hi bob');
    assert.equal(await bob.receiveFrom(), 'them: hi bob');
    await bob.sendTo('hi alice');
    assert.equal(await bob.receiveFrom(), 'me: hi alice');
    assert.equal(await alice.receiveFrom(), 'them: hi alice');
    await bob.disconnect();
    await alice.sendTo('anyone?');
    assert.equal(await alice.receiveFrom(), 'me: anyone?');
    assert.equal(await bob.receiveNothing(50), true);
    await alice.disconnect();
  });

  test('groups without a channel layer is an error naming the fix', async () => {
    class Odd extends WebsocketConsumer {
      static override channelLayerAlias = null;
      static override groups = ['g'];
    }
    const comm = new WebsocketCommunicator(Odd.asApp(), '/o/');
    await assert.rejects(comm.connect(), /channelLayerAlias is null/);
  });

  test('the Async* names are the same classes', () => {
    assert.equal(AsyncWebsocketConsumer, WebsocketConsumer);
    assert.equal(AsyncJsonWebsocketConsumer, JsonWebsocketConsumer);
  });
});

describe('JsonWebsocketConsumer', () => {
  class JsonEcho extends JsonWebsocketConsumer {
    override async receiveJson(content: { n: number }): Promise<void> {
      await this.sendJson({ doubled: content.n * 2 });
    }
  }

  test('receiveJson gets the decoded object; sendJson encodes', async () => {
    const comm = new WebsocketCommunicator(JsonEcho.asApp(), '/j/');
    await comm.connect();
    await comm.sendJsonTo({ n: 21 });
    assert.deepEqual(await comm.receiveJsonFrom(), { doubled: 42 });
    await comm.disconnect();
  });

  test('malformed JSON closes with 1007 and a reason, by default, and the app does not crash', async () => {
    const comm = new WebsocketCommunicator(JsonEcho.asApp(), '/j/');
    await comm.connect();
    await comm.sendTo('{"n": 1');
    const close = await comm.receiveOutput();
    assert.equal(close.type, 'websocket.close');
    assert.equal((close as { code?: number }).code, 1007);
    const reason = (close as { reason?: string }).reason ?? '';
    assert.match(reason, /^invalid JSON: /);
    assert.ok(Buffer.byteLength(reason) <= 123, 'a close reason fits in a close frame');
    await comm.disconnect(1007); // ends cleanly: no error re-raised
  });

  test('a long malformed frame with non-ASCII text still gets a reason of at most 123 bytes', async () => {
    const comm = new WebsocketCommunicator(JsonEcho.asApp(), '/j/');
    await comm.connect();
    await comm.sendTo('{"ключ": ' + 'ж'.repeat(500));
    const close = (await comm.receiveOutput()) as { code?: number; reason?: string };
    assert.equal(close.code, 1007);
    assert.ok(Buffer.byteLength(close.reason!) <= 123, `reason is ${Buffer.byteLength(close.reason!)} bytes`);
    await comm.disconnect(1007);
  });

  test('onInvalidJson can answer with an error frame and keep the socket open', async () => {
    class Lenient extends JsonEcho {
      override async onInvalidJson(error: Error, text: string): Promise<void> {
        await this.sendJson({ error: 'invalid_json', length: text.length, detail: error.name });
      }
    }
    const comm = new WebsocketCommunicator(Lenient.asApp(), '/j/');
    await comm.connect();
    await comm.sendTo('not json');
    assert.deepEqual(await comm.receiveJsonFrom(), { error: 'invalid_json', length: 8, detail: 'SyntaxError' });
    await comm.sendJsonTo({ n: 2 });
    assert.deepEqual(await comm.receiveJsonFrom(), { doubled: 4 });
    await comm.disconnect();
  });

  test('binary frames are refused with 1003 by default', async () => {
    const comm = new WebsocketCommunicator(JsonEcho.asApp(), '/j/');
    await comm.connect();
    await comm.sendTo({ bytes: Buffer.from('{}') });
    const close = (await comm.receiveOutput()) as { type: string; code?: number };
    assert.equal(close.type, 'websocket.close');
    assert.equal(close.code, 1003);
    await comm.disconnect(1003);
  });

  test('encodeJson and decodeJson can be overridden', async () => {
    class Dates extends JsonWebsocketConsumer {
      override decodeJson(text: string): unknown {
        return JSON.parse(text, (k, v) => (k === 'at' ? new Date(v) : v));
      }
      override encodeJson(content: unknown): string {
        return JSON.stringify(content, null, 1);
      }
      override async receiveJson(content: { at: Date }): Promise<void> {
        await this.sendJson({ year: content.at.getUTCFullYear() });
      }
    }
    const comm = new WebsocketCommunicator(Dates.asApp(), '/j/');
    await comm.connect();
    await comm.sendJsonTo({ at: '2024-05-01T00:00:00Z' });
    assert.equal(await comm.receiveFrom(), '{\n "year": 2024\n}');
    await comm.disconnect();
  });

  test('sendJson(content, true) sends then closes', async () => {
    class Once extends JsonWebsocketConsumer {
      override async receiveJson(): Promise<void> {
        await this.sendJson({ done: true }, true);
      }
    }
    const comm = new WebsocketCommunicator(Once.asApp(), '/j/');
    await comm.connect();
    await comm.sendJsonTo({});
    assert.deepEqual(await comm.receiveJsonFrom(), { done: true });
    assert.equal((await comm.receiveOutput()).type, 'websocket.close');
    await comm.disconnect();
  });

  test('layer messages reach JSON consumers too', async () => {
    class Notify extends JsonWebsocketConsumer {
      static override groups = ['alerts'];
      async alert_raised(event: LayerMessage): Promise<void> {
        await this.sendJson({ alert: event.level });
      }
    }
    const comm = new WebsocketCommunicator(Notify.asApp(), '/n/');
    await comm.connect();
    await until(() => members('alerts') === 1);
    await getChannelLayer().groupSend('alerts', { type: 'alert.raised', level: 'high' });
    assert.deepEqual(await comm.receiveJsonFrom(), { alert: 'high' });
    await comm.disconnect();
  });
});
