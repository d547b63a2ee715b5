// Drives an HTTP app in-process: one request in, the whole response out.
import type { Application } from '../asgi/types.js';
import { CanalError } from '../errors.js';
import { ApplicationCommunicator } from './application-communicator.js';
import { httpScope, type TestScopeOptions } from './scope-builder.js';

export interface TestResponse {
  status: number;
  headers: [Buffer, Buffer][];
  body: Buffer;
  /** A header value by (case-insensitive) name, as a string. */
  header(name: string): string | undefined;
  /** The body chunks as the app sent them. */
  chunks: Buffer[];
}

export class HttpCommunicator extends ApplicationCommunicator {
  private readonly body: Buffer;

  constructor(app: Application, method: string, path: string, options: TestScopeOptions & { body?: Buffer | string } = {}) {
    super(app, httpScope(method, path, options));
    this.body = Buffer.from(options.body ?? '');
  }

  async getResponse(timeoutMs = 1000): Promise<TestResponse> {
    await this.sendInput({ type: 'http.request', body: this.body, more_body: false });
    const start = await this.receiveOutput(timeoutMs);
    if (start.type !== 'http.response.start') throw new CanalError('ERR_TEST', `expected http.response.start, got ${start.type}`);
    const headers = [...(start.headers ?? [])].map(([k, v]) => [Buffer.from(k), Buffer.from(v)] as [Buffer, Buffer]);
    const chunks: Buffer[] = [];
    for (;;) {
      const event = await this.receiveOutput(timeoutMs);
      if (event.type !== 'http.response.body') throw new CanalError('ERR_TEST', `expected http.response.body, got ${event.type}`);
      if (event.body !== undefined && event.body !== null) chunks.push(Buffer.from(event.body as Uint8Array));
      if (!event.more_body) break;
    }
    return {
      status: start.status,
      headers,
      body: Buffer.concat(chunks),
      chunks,
      header(name: string) {
        const n = name.toLowerCase();
        return headers.find(([k]) => k.toString('latin1').toLowerCase() === n)?.[1].toString('latin1');
      },
    };
  }
}
