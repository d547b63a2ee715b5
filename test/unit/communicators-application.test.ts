import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Application, Scope } from '../../src/asgi/types.ts';
import { ASGI_VERSION } from '../../src/asgi/types.ts';
import { TimeoutError } from '../../src/errors.ts';
import { ApplicationCommunicator } from '../../src/testing/application-communicator.ts';

const lifespanScope: Scope = { type: 'lifespan', asgi: ASGI_VERSION, state: {} };

test('sendInput feeds receive() and receiveOutput returns what the app sent, in order', async () => {
  const app: Application = async (_scope, receive, send) => {
    const first = await receive();
    assert.equal(first.type, 'lifespan.startup');
    await send({ type: 'lifespan.startup.complete' });
    await receive();
    await send({ type: 'lifespan.shutdown.complete' });
  };
  const c = new ApplicationCommunicator(app, lifespanScope);
  await c.sendInput({ type: 'lifespan.startup' });
  assert.deepEqual(await c.receiveOutput(500), { type: 'lifespan.startup.complete' });
  await c.sendInput({ type: 'lifespan.shutdown' });
  assert.deepEqual(await c.receiveOutput(500), { type: 'lifespan.shutdown.complete' });
  await c.wait(500);
});

test('inputs sent before the app reads them are queued in order', async () => {
  const seen: string[] = [];
  const app: Application = async (_scope, receive, send) => {
    seen.push((await receive()).type, (await receive()).type);
    await send({ type: 'lifespan.shutdown.complete' });
  };
  const c = new ApplicationCommunicator(app, lifespanScope);
  await c.sendInput({ type: 'lifespan.startup' });
  await c.sendInput({ type: 'lifespan.shutdown' });
  await c.receiveOutput(500);
  assert.deepEqual(seen, ['lifespan.startup', 'lifespan.shutdown']);
});

test('receiveOutput times out in about the given time with TimeoutError', async () => {
  const app: Application = async (_scope, receive) => {
    await receive();
  };
  const c = new ApplicationCommunicator(app, lifespanScope);
  const started = Date.now();
  await assert.rejects(
    c.receiveOutput(150),
    (err: unknown) => err instanceof TimeoutError && /150 ms/.test(err.message),
  );
  const took = Date.now() - started;
  assert.ok(took >= 140 && took < 600, `took ${took} ms`);
});

test("the app's own error is re-raised by receiveOutput, sendInput and wait", async () => {
  class Boom extends Error {}
  const app: Application = async (_scope, receive) => {
    await receive();
    throw new Boom('handler exploded');
  };
  const c = new ApplicationCommunicator(app, lifespanScope);
  await c.sendInput({ type: 'lifespan.startup' });
  await assert.rejects(
    c.receiveOutput(500),
    (err: unknown) => err instanceof Boom && err.message === 'handler exploded',
  );
  await assert.rejects(c.sendInput({ type: 'lifespan.shutdown' }), Boom);
  await assert.rejects(c.wait(500), Boom);
  await assert.rejects(c.receiveNothing(10), Boom);
});

test('events sent before the app raised are still delivered first', async () => {
  const app: Application = async (_scope, _receive, send) => {
    await send({ type: 'lifespan.startup.complete' });
    throw new Error('after sending');
  };
  const c = new ApplicationCommunicator(app, lifespanScope);
  assert.deepEqual(await c.receiveOutput(500), { type: 'lifespan.startup.complete' });
  await assert.rejects(c.receiveOutput(500), /after sending/);
});

test('receiveOutput after the app returned fails at once instead of waiting the timeout', async () => {
  const app: Application = async () => {};
  const c = new ApplicationCommunicator(app, lifespanScope);
  await c.wait(500);
  const started = Date.now();
  await assert.rejects(c.receiveOutput(5000), TimeoutError);
  assert.ok(Date.now() - started < 1000);
});

test('receiveNothing is true when quiet, false when the app sent something (which stays queued)', async () => {
  const app: Application = async (_scope, receive, send) => {
    await receive();
    await send({ type: 'lifespan.startup.complete' });
    await receive();
  };
  const c = new ApplicationCommunicator(app, lifespanScope);
  assert.equal(await c.receiveNothing(50), true);
  await c.sendInput({ type: 'lifespan.startup' });
  assert.equal(await c.receiveNothing(200), false);
  assert.deepEqual(await c.receiveOutput(100), { type: 'lifespan.startup.complete' });
});

test('receiveNothing answers true at once when the app has returned: nothing more can come', async () => {
  const c = new ApplicationCommunicator(async () => {}, lifespanScope);
  await c.wait(500);
  const started = Date.now();
  assert.equal(await c.receiveNothing(5000), true);
  assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
});

test('wait rejects with TimeoutError while the app is still running', async () => {
  const app: Application = async (_scope, receive) => {
    await receive();
  };
  const c = new ApplicationCommunicator(app, lifespanScope);
  await assert.rejects(c.wait(80), (err: unknown) => err instanceof TimeoutError && /still running/.test(err.message));
  await c.sendInput({ type: 'lifespan.startup' });
  await c.wait(500);
  assert.equal(c.isFinished, true);
});
