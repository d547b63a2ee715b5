// AsyncConsumer: one instance per connection. It reads two sources — the client's events and
// its own channel on the channel layer — and handles their events one at a time, in arrival
// order, by calling the method named after the event's type (`chat.message` → chat_message).
import type { Application, ReceiveEvent, Scope, Send } from '../asgi/types.js';
import { InvalidOptionError, NoHandlerError, StopConsumer } from '../errors.js';
import { createLogger } from '../logging.js';
import { getChannelLayer } from '../layers/registry.js';
import type { ChannelLayer, LayerMessage } from '../layers/types.js';
import { handlerName } from './handlers.js';

const log = createLogger('dispatch');
const STOP = Symbol('stop');

type Incoming = ReceiveEvent | LayerMessage | typeof STOP | { [STOP]: unknown };

export class AsyncConsumer<M extends LayerMessage = LayerMessage> {
  /** Which channel layer alias the consumer uses; null for none. */
  static channelLayerAlias: string | null = 'default';

  scope!: Scope;
  channelLayer!: ChannelLayer<M>;
  /** This instance's own channel on the layer (from newChannel()). */
  channelName = '';
  /** The server's send, for events the helpers do not cover. */
  baseSend!: Send;
  private stopping = false;
  private queue: Incoming[] = [];
  private waiter: ((e: Incoming) => void) | null = null;

  /** An Application that makes one instance per connection, with `initOptions` set on it. */
  static asApp<T extends AsyncConsumer<any>>(this: new () => T, initOptions: Partial<Record<keyof T, unknown>> & Record<string, unknown> = {}): Application {
    const Cls = this;
    const probe = new Cls();
    for (const key of Object.keys(initOptions)) {
      if (!(key in probe)) {
        throw new InvalidOptionError(`${Cls.name}.asApp(): unknown init option '${key}'; only existing properties can be set (declare '${key}' on the class)`);
      }
    }
    return (scope, receive, send) => {
      const instance = new Cls();
      Object.assign(instance, initOptions);
      return instance.run(scope, receive, send);
    };
  }

  /** Ends the instance after the current handler returns. */
  stop(): void {
    this.stopping = true;
  }

  private push(e: Incoming): void {
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      w(e);
    } else this.queue.push(e);
  }

  private next(): Promise<Incoming> | Incoming {
    if (this.queue.length) return this.queue.shift()!;
    return new Promise((resolve) => (this.waiter = resolve));
  }

  private async pumpClient(receive: () => Promise<ReceiveEvent>): Promise<void> {
    while (!this.stopping) {
      let event: ReceiveEvent;
      try {
        event = await receive();
      } catch (err) {
        this.push({ [STOP]: err });
        return;
      }
      this.push(event);
      const t = event.type;
      if (t === 'websocket.disconnect' || t === 'http.disconnect') return;
    }
  }

  private async pumpLayer(): Promise<void> {
    const layer = this.channelLayer;
    const name = this.channelName;
    while (!this.stopping) {
      let message: M;
      try {
        message = await layer.receive(name);
      } catch (err) {
        if (!this.stopping) log.warn(`${this.constructor.name}: reading ${name} failed: ${(err as Error).message}`);
        return;
      }
      if (this.stopping) {
        log.debug(`${this.constructor.name}: dropped ${message.type} that arrived after the consumer ended`);
        return;
      }
      this.push(message);
    }
  }

  /** Runs the instance until a StopConsumer, a disconnect handler, or an error. */
  async run(scope: Scope, receive: () => Promise<ReceiveEvent>, send: Send): Promise<void> {
    this.scope = scope;
    this.baseSend = send;
    const alias = (this.constructor as typeof AsyncConsumer).channelLayerAlias;
    if (alias !== null) {
      this.channelLayer = getChannelLayer(alias) as ChannelLayer<M>;
      this.channelName = await this.channelLayer.newChannel();
    }
    void this.pumpClient(receive);
    if (alias !== null) void this.pumpLayer();
    try {
      while (!this.stopping) {
        const got = this.next();
        const event = got instanceof Promise ? await got : got;
        if (typeof event === 'object' && STOP in event) {
          if (event[STOP] instanceof StopConsumer) break;
          throw event[STOP];
        }
        try {
          await this.dispatch(event as LayerMessage);
        } catch (err) {
          if (err instanceof StopConsumer) break;
          throw err;
        }
      }
    } finally {
      this.stopping = true;
      if (alias !== null) this.channelLayer.discardChannel?.(this.channelName);
    }
  }

  /** Calls the handler for `event.type`. */
  async dispatch(event: { type: string }): Promise<void> {
    const name = handlerName(event.type);
    if (name.startsWith('_')) {
      throw new NoHandlerError(`message type ${JSON.stringify(event.type)} maps to ${name}, and handlers starting with '_' are not dispatched (${this.constructor.name})`);
    }
    const handler = (this as unknown as Record<string, unknown>)[name];
    if (typeof handler !== 'function') {
      throw new NoHandlerError(`no handler for message type ${JSON.stringify(event.type)}: define ${this.constructor.name}.${name}(event)`);
    }
    if (log.enabled('debug')) log.debug(`${this.constructor.name}.${name}`);
    await handler.call(this, event);
  }
}
