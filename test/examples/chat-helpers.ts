// The example app in-process, on a fresh SQLite file and a fresh in-memory layer per test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Application } from '../../src/asgi/types.ts';
import { configureChannelLayers, closeChannelLayers } from '../../src/layers/registry.ts';
import { HttpCommunicator, WebsocketCommunicator, type HttpCommunicatorOptions } from '../../src/testing/index.ts';
import { createApplication } from '../../examples/chat/app.ts';
import { openStore, type Store } from '../../examples/chat/db/store.ts';
import { defineSettings, lazyStore, type ChatSettings } from '../../examples/chat/settings.ts';

export const HOST: [string, string] = ['host', '127.0.0.1:8000'];
export const ORIGIN: [string, string] = ['origin', 'http://127.0.0.1:8000'];

export interface ChatFixture {
  app: Application;
  settings: ChatSettings;
  store: Store;
  get(path: string, options?: HttpCommunicatorOptions): Promise<Awaited<ReturnType<HttpCommunicator['getResponse']>>>;
  request(
    method: string,
    path: string,
    options?: HttpCommunicatorOptions,
  ): Promise<Awaited<ReturnType<HttpCommunicator['getResponse']>>>;
  socket(path: string, headers?: [string, string][]): Promise<WebsocketCommunicator>;
  close(): Promise<void>;
}

export async function chatFixture(overrides: Partial<ChatSettings> = {}): Promise<ChatFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'canal-chat-'));
  const store = await openStore({ sqlitePath: join(dir, 'chat.sqlite3') });
  configureChannelLayers({ default: { backend: 'memory' } });
  const settings = defineSettings({ store: lazyStore(async () => store), ...overrides });
  const app = createApplication(settings);
  const sockets: WebsocketCommunicator[] = [];
  const request = (method: string, path: string, options: HttpCommunicatorOptions = {}) => {
    const headers = Array.isArray(options.headers) ? options.headers : Object.entries(options.headers ?? {});
    const hasHost = headers.some(([k]) => String(k).toLowerCase() === 'host');
    return new HttpCommunicator(app, method, path, {
      ...options,
      headers: hasHost ? headers : [HOST, ...headers],
    }).getResponse(2000);
  };
  return {
    app,
    settings,
    store,
    request,
    get: (path, options) => request('GET', path, options),
    async socket(path, headers = [ORIGIN]) {
      const ws = new WebsocketCommunicator(app, path, { headers });
      sockets.push(ws);
      const { connected, closeCode } = await ws.connect(2000);
      if (!connected) throw new Error(`${path} refused the WebSocket (close ${closeCode})`);
      return ws;
    },
    async close() {
      for (const ws of sockets) if (!ws.isFinished) await ws.disconnect().catch(() => undefined);
      await store.close();
      await closeChannelLayers();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A real PNG of `width`×`height`, made by sharp (the worker's own library decodes it back). */
export async function png(width: number, height: number): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 40, b: 90 } } })
    .png()
    .toBuffer();
}

/** A multipart/form-data body, encoded by Node's own fetch machinery (not by the parser under test). */
export async function multipart(
  fields: Record<string, string | { data: Buffer; filename: string; type: string }>,
): Promise<{ body: Buffer; contentType: string }> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) {
    if (typeof value === 'string') form.append(name, value);
    else form.append(name, new Blob([value.data], { type: value.type }), value.filename);
  }
  const req = new Request('http://x/', { method: 'POST', body: form });
  return { body: Buffer.from(await req.arrayBuffer()), contentType: req.headers.get('content-type')! };
}
