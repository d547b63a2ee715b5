// Drives a WebSocket app in-process: connect, send frames, read frames, disconnect.
import type { Application, HeaderInput, SendEvent } from '../asgi/types.ts';
import { InvalidOptionError, UnexpectedEventError } from '../errors.ts';
import { ApplicationCommunicator } from './application-communicator.ts';
import { websocketScope, type TestScopeOptions } from './scope-builder.ts';

export interface ConnectResult {
  connected: boolean;
  /** The subprotocol the app chose on accept, or null. */
  subprotocol: string | null;
  /**
   * Null when connected. The code of the app's `websocket.close` when it refused before
   * accepting (1000 if it gave none; the server answers such a refusal with HTTP 403), or 1006
   * when it answered with a denial response (what a browser reports for a failed handshake).
   */
  closeCode: number | null;
  /** The close reason the app gave when it refused, if any. */
  reason?: string;
  /** Set when the app answered with the denial-response extension. */
  response?: { status: number; headers: [Buffer, Buffer][]; body: Buffer };
  /** Extra handshake headers the app sent with `websocket.accept`. */
  headers?: [Buffer, Buffer][];
}

export type Frame = { text: string; bytes?: undefined } | { bytes: Buffer | Uint8Array; text?: undefined };

export function headerPairs(headers: HeaderInput | undefined): [Buffer, Buffer][] {
  const bytes = (v: Buffer | Uint8Array | string) =>
    typeof v === 'string' ? Buffer.from(v, 'latin1') : Buffer.from(v);
  return [...(headers ?? [])].map(([k, v]) => [bytes(k), bytes(v)]);
}

export class WebsocketCommunicator extends ApplicationCommunicator {
  constructor(app: Application, path: string, options: TestScopeOptions = {}) {
    super(app, websocketScope(path, options));
  }

  /** Sends `websocket.connect`; resolves with the app's answer to the handshake. */
  async connect(timeoutMs = 1000): Promise<ConnectResult> {
    await this.sendInput({ type: 'websocket.connect' });
    const event = await this.receiveOutput(timeoutMs);
    if (event.type === 'websocket.accept') {
      return {
        connected: true,
        subprotocol: event.subprotocol ?? null,
        closeCode: null,
        headers: headerPairs(event.headers),
      };
    }
    if (event.type === 'websocket.close') {
      return {
        connected: false,
        subprotocol: null,
        closeCode: event.code ?? 1000,
        ...(event.reason ? { reason: event.reason } : {}),
      };
    }
    if (event.type === 'websocket.http.response.start') {
      const chunks: Buffer[] = [];
      for (;;) {
        const body = await this.receiveOutput(timeoutMs);
        if (body.type !== 'websocket.http.response.body') {
          throw new UnexpectedEventError(
            `expected websocket.http.response.body after the denial response start, got ${body.type}`,
          );
        }
        if (body.body !== undefined) chunks.push(Buffer.from(body.body as Uint8Array));
        if (!body.more_body) break;
      }
      return {
        connected: false,
        subprotocol: null,
        closeCode: 1006,
        response: { status: event.status, headers: headerPairs(event.headers), body: Buffer.concat(chunks) },
      };
    }
    throw new UnexpectedEventError(
      `expected websocket.accept, websocket.close or a denial response after connect, got ${event.type}`,
    );
  }

  /** Sends one frame to the app: `{ text }` or `{ bytes }` (a string is a text frame). */
  async sendTo(frame: Frame | string): Promise<void> {
    const f = (typeof frame === 'string' ? { text: frame } : frame) as {
      text?: unknown;
      bytes?: Buffer | Uint8Array;
    } | null;
    if (f === null || typeof f !== 'object' || (f.text === undefined) === (f.bytes === undefined)) {
      throw new InvalidOptionError('sendTo() takes { text } or { bytes }, exactly one of them');
    }
    if (f.text !== undefined) {
      if (typeof f.text !== 'string')
        throw new InvalidOptionError(`sendTo({ text }) needs a string, not ${typeof f.text}`);
      await this.sendInput({ type: 'websocket.receive', text: f.text });
    } else {
      await this.sendInput({ type: 'websocket.receive', bytes: Buffer.from(f.bytes!) });
    }
  }

  /** Sends `JSON.stringify(value)` as a text frame. */
  async sendJsonTo(value: unknown): Promise<void> {
    await this.sendTo({ text: JSON.stringify(value) });
  }

  /** The next frame the app sent: a string for text, a Buffer for bytes. */
  async receiveFrom(timeoutMs = 1000): Promise<string | Buffer> {
    const event: SendEvent = await this.receiveOutput(timeoutMs);
    if (event.type === 'websocket.send') {
      if (typeof event.text === 'string') return event.text;
      if (event.bytes) return Buffer.from(event.bytes);
      throw new UnexpectedEventError('the app sent websocket.send with neither text nor bytes');
    }
    if (event.type === 'websocket.close') {
      throw new UnexpectedEventError(
        `expected a frame, but the app closed the socket ` +
          `with code ${event.code ?? 1000}${event.reason ? ` (${event.reason})` : ''}`,
      );
    }
    throw new UnexpectedEventError(`expected websocket.send, got ${event.type}`);
  }

  /** The next frame, parsed as JSON; it must be a text frame. */
  async receiveJsonFrom(timeoutMs = 1000): Promise<unknown> {
    const frame = await this.receiveFrom(timeoutMs);
    if (typeof frame !== 'string')
      throw new UnexpectedEventError(`expected a text frame holding JSON, got a binary frame of ${frame.length} bytes`);
    try {
      return JSON.parse(frame);
    } catch {
      throw new UnexpectedEventError(`expected a text frame holding JSON, got ${JSON.stringify(frame.slice(0, 200))}`);
    }
  }

  /** Tells the app the client went away (`websocket.disconnect`) and waits for it to return. */
  async disconnect(code = 1000, timeoutMs = 1000): Promise<void> {
    if (!this.isFinished) await this.sendInput({ type: 'websocket.disconnect', code });
    await this.wait(timeoutMs);
  }
}
