// Drives an HTTP app in-process: one request in, the whole response out.
import type { Application } from '../asgi/types.ts';
import { UnexpectedEventError } from '../errors.ts';
import { ApplicationCommunicator } from './application-communicator.ts';
import { httpScope, type TestScopeOptions } from './scope-builder.ts';
import { headerPairs } from './websocket-communicator.ts';

export interface TestResponse {
  status: number;
  /** As the app sent them, as byte pairs. */
  headers: [Buffer, Buffer][];
  body: Buffer;
  /** The body chunks as the app sent them (streaming responses send several). */
  chunks: Buffer[];
  /** Trailers, when the app announced and sent them. */
  trailers: [Buffer, Buffer][];
  /** A header value by (case-insensitive) name, as a string; the first one if repeated. */
  header(name: string): string | undefined;
  /** The body as UTF-8 text. */
  text(): string;
  /** The body parsed as JSON. */
  json(): unknown;
}

export interface HttpCommunicatorOptions extends TestScopeOptions {
  /** The request body, sent as one `http.request` event. */
  body?: Buffer | Uint8Array | string;
}

export class HttpCommunicator extends ApplicationCommunicator {
  private readonly body: Buffer;
  private requestSent = false;

  constructor(app: Application, method: string, path: string, options: HttpCommunicatorOptions = {}) {
    super(app, httpScope(method, path, options));
    this.body = Buffer.from(options.body ?? '');
  }

  /** Sends the request body (once; getResponse does it for you). */
  async sendRequest(): Promise<void> {
    if (this.requestSent) return;
    this.requestSent = true;
    await this.sendInput({ type: 'http.request', body: this.body, more_body: false });
  }

  /** Sends the request and gathers the response until the last body chunk (and trailers). */
  async getResponse(timeoutMs = 1000): Promise<TestResponse> {
    await this.sendRequest();
    const start = await this.receiveOutput(timeoutMs);
    if (start.type !== 'http.response.start')
      throw new UnexpectedEventError(`expected http.response.start, got ${start.type}`);
    const headers = headerPairs(start.headers);
    const chunks: Buffer[] = [];
    for (;;) {
      const event = await this.receiveOutput(timeoutMs);
      if (event.type !== 'http.response.body')
        throw new UnexpectedEventError(`expected http.response.body, got ${event.type}`);
      if (event.body !== undefined && event.body !== null) chunks.push(Buffer.from(event.body as Uint8Array));
      if (!event.more_body) break;
    }
    const trailers: [Buffer, Buffer][] = [];
    while (start.trailers) {
      const event = await this.receiveOutput(timeoutMs);
      if (event.type !== 'http.response.trailers')
        throw new UnexpectedEventError(`expected http.response.trailers, got ${event.type}`);
      trailers.push(...headerPairs(event.headers));
      if (!event.more_trailers) break;
    }
    const body = Buffer.concat(chunks);
    return {
      status: start.status,
      headers,
      body,
      chunks,
      trailers,
      header(name: string) {
        const n = name.toLowerCase();
        return headers.find(([k]) => k.toString('latin1').toLowerCase() === n)?.[1].toString('latin1');
      },
      text: () => body.toString('utf8'),
      json: () => JSON.parse(body.toString('utf8')),
    };
  }
}
