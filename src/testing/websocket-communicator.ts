// Drives a WebSocket app in-process: connect, send frames, read frames, disconnect.
import type { Application, SendEvent } from '../asgi/types.js';
import { CanalError } from '../errors.js';
import { ApplicationCommunicator } from './application-communicator.js';
import { websocketScope, type TestScopeOptions } from './scope-builder.js';

export interface ConnectResult {
  connected: boolean;
  subprotocol: string | null;
  /** The close code when refused (1006 for a plain refusal, as a client sees a 403). */
  closeCode: number | null;
  /** Set when the app answered with the denial-response extension. */
  response?: { status: number; headers: [Buffer, Buffer][]; body: Buffer };
  headers?: [Buffer, Buffer][];
}

export class WebsocketCommunicator extends ApplicationCommunicator {
  private connected = false;

  constructor(app: Application, path: string, options: TestScopeOptions = {}) {
    super(app, websocketScope(path, options));
  }

  async connect(timeoutMs = 1000): Promise<ConnectResult> {
    await this.sendInput({ type: 'websocket.connect' });
    const event = await this.receiveOutput(timeoutMs);
    if (event.type === 'websocket.accept') {
      this.connected = true;
      const headers = [...(event.headers ?? [])].map(([k, v]) => [Buffer.from(k), Buffer.from(v)] as [Buffer, Buffer]);
      return { connected: true, subprotocol: event.subprotocol ?? null, closeCode: null, headers };
    }
    if (event.type === 'websocket.close') return { connected: false, subprotocol: null, closeCode: event.code ?? 1000 };
    if (event.type === 'websocket.http.response.start') {
      const chunks: Buffer[] = [];
      for (;;) {
        const body = await this.receiveOutput(timeoutMs);
        if (body.type !== 'websocket.http.response.body') throw new CanalError('ERR_TEST', `expected websocket.http.response.body, got ${body.type}`);
        if (body.body) chunks.push(Buffer.from(body.body as Uint8Array));
        if (!body.more_body) break;
      }
      const headers = [...(event.headers ?? [])].map(([k, v]) => [Buffer.from(k), Buffer.from(v)] as [Buffer, Buffer]);
      return { connected: false, subprotocol: null, closeCode: 1006, response: { status: event.status, headers, body: Buffer.concat(chunks) } };
    }
    throw new CanalError('ERR_TEST', `expected websocket.accept or websocket.close after connect, got ${event.type}`);
  }

  async sendTo(frame: { text?: string; bytes?: Buffer } | string): Promise<void> {
    const f = typeof frame === 'string' ? { text: frame } : frame;
    await this.sendInput({ type: 'websocket.receive', ...(f.text !== undefined ? { text: f.text } : { bytes: f.bytes }) });
  }

  async sendJsonTo(value: unknown): Promise<void> {
    await this.sendTo({ text: JSON.stringify(value) });
  }

  /** The next frame: a string for text, a Buffer for bytes. */
  async receiveFrom(timeoutMs = 1000): Promise<string | Buffer> {
    const event: SendEvent = await this.receiveOutput(timeoutMs);
    if (event.type === 'websocket.send') {
      if (event.text !== undefined && event.text !== null) return event.text;
      return Buffer.from(event.bytes as Uint8Array);
    }
    if (event.type === 'websocket.close') {
      throw new CanalError('ERR_TEST', `expected a frame, but the app closed the socket with code ${event.code ?? 1000}${event.reason ? ` (${event.reason})` : ''}`);
    }
    throw new CanalError('ERR_TEST', `expected websocket.send, got ${event.type}`);
  }

  async receiveJsonFrom(timeoutMs = 1000): Promise<unknown> {
    const frame = await this.receiveFrom(timeoutMs);
    if (typeof frame !== 'string') throw new CanalError('ERR_TEST', 'expected a text frame with JSON, got a binary frame');
    return JSON.parse(frame);
  }

  /** The next event, whatever it is (e.g. to check a websocket.close). */
  async receiveEvent(timeoutMs = 1000): Promise<SendEvent> {
    return this.receiveOutput(timeoutMs);
  }

  /** Tells the app the client went away and waits for it to return. */
  async disconnect(code = 1000, timeoutMs = 1000): Promise<void> {
    await this.sendInput({ type: 'websocket.disconnect', code });
    await this.wait(timeoutMs);
  }
}
