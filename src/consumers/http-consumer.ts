// HttpConsumer: collects the request body, calls handle(body); answers with sendResponse, or
// streams with sendHeaders + sendBody, or with Server-Sent Events. A handler may return
// without answering (long-polling: join a group, answer from a layer message handler). When
// the client goes away, disconnect() runs and the instance ends.
import type { HeaderInput, HttpRequestEvent } from '../asgi/types.js';
import { InvalidOptionError, StopConsumer } from '../errors.js';
import type { LayerMessage } from '../layers/types.js';
import { AsyncConsumer } from './async-consumer.js';

export interface ServerSentEvent {
  data: string | object;
  event?: string;
  id?: string;
  retry?: number;
}

export class HttpConsumer<M extends LayerMessage = LayerMessage> extends AsyncConsumer<M> {
  /** Largest request body read; a larger one is answered with 413. */
  maxBodyBytes = 10 * 1024 * 1024;
  private chunks: Buffer[] = [];
  private size = 0;
  private responseStarted = false;

  async http_request(event: HttpRequestEvent): Promise<void> {
    if (event.body?.length) {
      this.size += event.body.length;
      if (this.size > this.maxBodyBytes) {
        await this.sendResponse(413, `request body over ${this.maxBodyBytes} bytes`);
        return;
      }
      this.chunks.push(event.body);
    }
    if (event.more_body) return;
    const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = [];
    await this.handle(body);
  }

  /** Called once with the whole request body. Answer, or hold the request. */
  async handle(body: Buffer): Promise<void> {
    void body;
    await this.sendResponse(405, 'Method Not Allowed');
  }

  async http_disconnect(): Promise<void> {
    await this.disconnect();
    throw new StopConsumer();
  }

  /** Called when the client has gone away (or the response was sent). */
  async disconnect(): Promise<void> {}

  async sendHeaders({ status = 200, headers = [] }: { status?: number; headers?: HeaderInput } = {}): Promise<void> {
    if (this.responseStarted) throw new InvalidOptionError('sendHeaders: the response has already started');
    this.responseStarted = true;
    await this.baseSend({ type: 'http.response.start', status, headers });
  }

  /** Sends a body chunk; the last one (moreBody false) ends the response and the instance. */
  async sendBody(body: Buffer | string, { moreBody = false } = {}): Promise<void> {
    await this.baseSend({ type: 'http.response.body', body, more_body: moreBody });
    if (!moreBody) {
      await this.disconnect();
      this.stop();
    }
  }

  async sendResponse(status: number, body: Buffer | string, headers: HeaderInput = [['content-type', 'text/plain; charset=utf-8']]): Promise<void> {
    await this.sendHeaders({ status, headers });
    await this.sendBody(body);
  }

  /** Starts a Server-Sent Events stream. */
  async startEventStream(headers: [string, string][] = []): Promise<void> {
    await this.sendHeaders({
      status: 200,
      headers: [['content-type', 'text/event-stream; charset=utf-8'], ['cache-control', 'no-cache'], ['x-accel-buffering', 'no'], ...headers],
    });
  }

  /** Sends one Server-Sent Event (objects are JSON-encoded; multi-line data is split). */
  async sendEvent({ data, event, id, retry }: ServerSentEvent): Promise<void> {
    let out = '';
    if (event) out += `event: ${event.replace(/[\r\n]/g, ' ')}\n`;
    if (id) out += `id: ${id.replace(/[\r\n]/g, ' ')}\n`;
    if (retry !== undefined) out += `retry: ${Math.floor(retry)}\n`;
    const text = typeof data === 'string' ? data : JSON.stringify(data);
    for (const line of text.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
    await this.sendBody(out + '\n', { moreBody: true });
  }
}

export { HttpConsumer as AsyncHttpConsumer };
