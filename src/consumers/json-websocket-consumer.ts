// JsonWebsocketConsumer: text frames as JSON both ways. Malformed JSON from a client does not
// end the server: by default the socket is closed with 1007 and a reason; override
// onInvalidJson to answer with an error frame and keep the socket open. Binary frames are
// refused with 1003 (unsupported data).
import type { LayerMessage, TypedMessage } from '../layers/types.ts';
import { reserveApiNames } from './handlers.ts';
import { WebsocketConsumer, type Frame } from './websocket-consumer.ts';

/** A close reason fits in 123 bytes of UTF-8 (the close frame's limit); cut on a character. */
function fitCloseReason(reason: string): string {
  if (Buffer.byteLength(reason) <= 123) return reason;
  let out = '';
  let size = 0;
  for (const ch of reason) {
    const n = Buffer.byteLength(ch);
    if (size + n > 120) break;
    out += ch;
    size += n;
  }
  return out + '...';
}

export class JsonWebsocketConsumer<
  M extends TypedMessage = LayerMessage,
  K extends object = Record<string, string>,
> extends WebsocketConsumer<M, K> {
  override async receive(frame: Frame): Promise<void> {
    if (frame.text === undefined) {
      await this.onBinaryFrame(frame.bytes as Buffer);
      return;
    }
    let content: unknown;
    try {
      content = this.decodeJson(frame.text);
    } catch (err) {
      await this.onInvalidJson(err as Error, frame.text);
      return;
    }
    await this.receiveJson(content);
  }

  /** Called with each decoded message (whatever decodeJson returned). */
  // biome-ignore lint/suspicious/noExplicitAny: an override may name the shape of its messages, as with any
  async receiveJson(content: any): Promise<void> {
    void content;
  }

  async sendJson(content: unknown, close = false): Promise<void> {
    await this.send({ text: this.encodeJson(content) });
    if (close) await this.close();
  }

  decodeJson(text: string): unknown {
    return JSON.parse(text);
  }

  encodeJson(content: unknown): string {
    return JSON.stringify(content);
  }

  /** Malformed JSON from the client; closes with 1007 unless overridden. */
  async onInvalidJson(error: Error, text: string): Promise<void> {
    void text;
    await this.close(1007, fitCloseReason(`invalid JSON: ${error.message}`));
  }

  /** A binary frame; closes with 1003 unless overridden. */
  async onBinaryFrame(bytes: Buffer): Promise<void> {
    void bytes;
    await this.close(1003, 'this endpoint takes JSON text frames');
  }
}

reserveApiNames(JsonWebsocketConsumer.prototype);

export { JsonWebsocketConsumer as AsyncJsonWebsocketConsumer };
