// Forms under the real server: an upload sent by fetch streams in as http.request events,
// is joined by HttpConsumer and read by parseForm; a file over the limit is 413.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { Application } from '../../src/asgi/types.ts';
import { HttpConsumer } from '../../src/consumers/http-consumer.ts';
import { createServer, type CanalServer } from '../../src/server/server.ts';

class Upload extends HttpConsumer {
  static override channelLayerAlias = null;
  override async handle(body: Buffer): Promise<void> {
    const form = await this.parseForm(body, { maxFileBytes: 4 * 1024 * 1024 });
    const files = form.files.map((f) => ({
      field: f.field,
      filename: f.filename,
      type: f.contentType,
      size: f.size,
      sha256: createHash('sha256').update(f.data).digest('hex'),
    }));
    await this.sendResponse(200, JSON.stringify({ fields: form.lists, files }), [['content-type', 'application/json']]);
  }
}

let server: CanalServer;
let url: string;
before(async () => {
  const consumer = Upload.asApp();
  const app: Application = async (scope, receive, send) =>
    scope.type === 'lifespan' ? undefined : consumer(scope, receive, send);
  server = createServer(app, { port: 0, drainTimeoutMs: 2000 });
  url = `http://127.0.0.1:${(await server.listen()).port}`;
});
after(() => server.close());

describe('forms under the server', () => {
  test('a multipart upload from fetch: fields and a 3 MiB image arrive intact', async () => {
    const image = randomBytes(3 * 1024 * 1024);
    const form = new FormData();
    form.append('caption', 'sunset');
    form.append('tag', 'a');
    form.append('tag', 'b');
    form.append('image', new Blob([image], { type: 'image/jpeg' }), 'sunset.jpg');
    const res = await fetch(url + '/upload', { method: 'POST', body: form, signal: AbortSignal.timeout(10_000) });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      fields: { caption: ['sunset'], tag: ['a', 'b'] },
      files: [
        {
          field: 'image',
          filename: 'sunset.jpg',
          type: 'image/jpeg',
          size: image.length,
          sha256: createHash('sha256').update(image).digest('hex'),
        },
      ],
    });
  });

  test('an urlencoded form from fetch', async () => {
    const res = await fetch(url + '/upload', {
      method: 'POST',
      body: new URLSearchParams({ name: 'Zoë', note: 'a&b=c' }),
      signal: AbortSignal.timeout(5000),
    });
    assert.deepEqual(await res.json(), { fields: { name: ['Zoë'], note: ['a&b=c'] }, files: [] });
  });

  test('a file over maxFileBytes is 413 with the option named', async () => {
    const form = new FormData();
    form.append('image', new Blob([Buffer.alloc(4 * 1024 * 1024 + 1)]), 'big.jpg');
    const res = await fetch(url + '/upload', { method: 'POST', body: form, signal: AbortSignal.timeout(10_000) });
    assert.equal(res.status, 413);
    assert.match(await res.text(), /maxFileBytes/);
  });
});
