// WebsocketConsumer: connect/receive/disconnect for WebSockets, with static `groups` joined on
// connect and left on disconnect. Channels' AsyncWebsocketConsumer, in Node's one async kind.
import type {
  HeaderInput,
  RoutedScope,
  WebsocketDisconnectEvent,
  WebsocketReceiveEvent,
  WebsocketScope,
} from '../asgi/types.ts';
import { AcceptConnection, DenyConnection, InvalidOptionError, StopConsumer } from '../errors.ts';
import { queryParams } from '../request/query-params.ts';
import type { LayerMessage, TypedMessage } from '../layers/types.ts';
import { AsyncConsumer } from './async-consumer.ts';
import { reserveApiNames } from './handlers.ts';
import { createLogger, RepeatedLog } from '../logging.ts';

// While the layer is down every instance fails to leave: one line, and a count of the rest.
const leaveFailures = new RepeatedLog(createLogger('dispatch'), 'warn');

export type Frame = { text: string; bytes?: undefined } | { bytes: Buffer | Uint8Array; text?: undefined };

/**
 * `M`: the layer messages it handles. `K`: the route's kwargs (`this.scope.url_route.kwargs`),
 * strings unless said otherwise: `WebsocketConsumer<M, { id: number }>` for `<int:id>`.
 */
export class WebsocketConsumer<
  M extends TypedMessage = LayerMessage,
  K extends object = Record<string, string>,
> extends AsyncConsumer<M, RoutedScope<WebsocketScope, K>> {
  /** Groups every instance joins on connect and leaves when it ends (however it ends). */
  static groups: readonly string[] = [];
  #joined = false;

  /** The handshake's query string, parsed anew on each read: `this.query.get('token')`. */
  get query(): URLSearchParams {
    return queryParams(this.scope);
  }

  #groups(): readonly string[] {
    return (this.constructor as typeof WebsocketConsumer).groups;
  }

  async #leaveGroups(): Promise<void> {
    if (!this.#joined) return;
    this.#joined = false;
    for (const g of this.#groups()) {
      // Leaving is best effort: a layer outage must not keep the instance from ending. The
      // Redis layers remove the membership once Redis is back; others let it expire.
      await this.channelLayer
        .groupDiscard(g, this.channelName)
        .catch((err: Error) =>
          leaveFailures.note(
            'consumers that could not leave a group',
            `${this.constructor.name}: could not leave group ${g} (${err.message}); ` +
              'the layer removes the membership later',
          ),
        );
    }
  }

  async websocket_connect(): Promise<void> {
    const groups = this.#groups();
    if (groups.length) {
      if (!this.channelLayer) {
        throw new InvalidOptionError(
          `${this.constructor.name}.groups needs a channel layer, but channelLayerAlias is null; ` +
            'set channelLayerAlias or remove the groups',
        );
      }
      this.#joined = true;
      for (const g of groups) await this.channelLayer.groupAdd(g, this.channelName);
    }
    try {
      await this.connect();
    } catch (signal) {
      if (signal instanceof AcceptConnection) await this.accept();
      else if (signal instanceof DenyConnection) await this.close();
      else throw signal;
    }
  }

  /** Called on a new connection; accepts by default. Throw DenyConnection to refuse. */
  async connect(): Promise<void> {
    await this.accept();
  }

  async accept(subprotocol: string | null = null, headers?: HeaderInput): Promise<void> {
    await this.baseSend({ type: 'websocket.accept', subprotocol, ...(headers ? { headers } : {}) });
  }

  async websocket_receive(event: WebsocketReceiveEvent): Promise<void> {
    await this.receive(event.text !== undefined ? { text: event.text } : { bytes: event.bytes! });
  }

  /** Called for every frame from the client. */
  async receive(frame: Frame): Promise<void> {
    void frame;
  }

  /** Sends a frame: `send({ text })`, `send({ bytes })` or `send('text')`. */
  // Not async: the server's own promise is returned as it is (the hot path of every delivery).
  send(frame: Frame | string): Promise<void> {
    if (typeof frame === 'string') return this.baseSend({ type: 'websocket.send', text: frame });
    if (frame.text !== undefined) return this.baseSend({ type: 'websocket.send', text: frame.text });
    return this.baseSend({ type: 'websocket.send', bytes: frame.bytes });
  }

  async close(code?: number, reason?: string): Promise<void> {
    await this.baseSend({
      type: 'websocket.close',
      ...(code !== undefined ? { code } : {}),
      ...(reason !== undefined ? { reason } : {}),
    });
  }

  async websocket_disconnect(event: WebsocketDisconnectEvent): Promise<void> {
    await this.#leaveGroups();
    await this.disconnect(event.code, event.reason ?? '');
    throw new StopConsumer();
  }

  protected override async cleanUp(): Promise<void> {
    await this.#leaveGroups();
  }

  /** Called when the socket has closed, for clean-up (static groups are already left). */
  async disconnect(code: number, reason: string): Promise<void> {
    void code;
    void reason;
  }
}

reserveApiNames(WebsocketConsumer.prototype);

export { WebsocketConsumer as AsyncWebsocketConsumer };
