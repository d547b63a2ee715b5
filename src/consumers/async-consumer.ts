// AsyncConsumer: one instance per connection. It reads two sources, the client's events and
// its own channel on the channel layer, into one mailbox (./mailbox.ts), which handles their
// events one at a time, in arrival order, by calling the method named after the event's type
// (`chat.message` → chat_message). An instance without a channel layer has one source only.
import type { Application, ReceiveEvent, Scope, Send } from '../asgi/types.ts';
import { InvalidOptionError, NoHandlerError } from '../errors.ts';
import { createLogger } from '../logging.ts';
import { getChannelLayer } from '../layers/registry.ts';
import type { LayerMessage, TypedMessage } from '../layers/types.ts';
import type { ConsumerLayer } from './consumer-layer.ts';
import { dispatchableName, handlerName, reserveApiNames } from './handlers.ts';
import { Mailbox, type MailboxHooks } from './mailbox.ts';

const log = createLogger('dispatch');

/** Keys of a consumer that `asApp()` may set: its data properties, not its methods. */
export type InitOptions<T> = { [K in keyof T as T[K] extends (...args: never[]) => unknown ? never : K]?: T[K] };

/** Set by the consumer itself for each connection; never init options. */
const OWN_KEYS = new Set(['scope', 'channelLayer', 'channelName', 'baseSend']);

/** What asApp() needs of the class it is called on. */
type Runnable = { run(scope: Scope, receive: () => Promise<ReceiveEvent>, send: Send): Promise<void> };

/**
 * `M`: the layer messages the consumer handles (`channelLayer` checks what it sends against
 * them). `S`: the scope it is run with (HttpConsumer and WebsocketConsumer set theirs; a
 * worker consumer may say `ChannelScope`). Neither is checked at run time.
 */
export class AsyncConsumer<M extends TypedMessage = LayerMessage, S extends Scope = Scope> {
  /** Which channel layer alias the consumer uses; null for none (no channel, no layer reads). */
  static channelLayerAlias: string | null = 'default';

  scope!: S;
  /** The layer of `channelLayerAlias`, typed with the messages this consumer handles. */
  channelLayer!: ConsumerLayer<M>;
  /** This instance's own channel on the layer (from newChannel()); '' without a layer. */
  channelName = '';
  /** The server's send, for events the helpers do not cover. */
  baseSend!: Send;
  // Without a layer the client is the only source: it is asked for its next event once the
  // last one has been handled, so the events of a slow app wait in the server's inbox, whose
  // limit pauses reading the socket. With a layer it is asked again as soon as an event comes,
  // so that its events and the layer's keep their arrival order in the mailbox.
  readonly #clientOnly = (this.constructor as typeof AsyncConsumer).channelLayerAlias === null;
  readonly #mailbox = new Mailbox<{ type: string }>(this, this.#hooks(), this.#clientOnly ? 1 : 2);
  #receive: (() => Promise<ReceiveEvent>) | null = null;
  #unlisten: (() => void) | null = null;
  #resolveRun: (() => void) | null = null;
  #rejectRun: ((reason: unknown) => void) | null = null;

  /**
   * An Application that makes one instance per connection, with `initOptions` set on it.
   * Each key must be a field the class declares with a default value (`room = 'lobby'`); any
   * other key is an InvalidOptionError here, not at the first connection.
   */
  static asApp<T extends Runnable>(this: new () => T, initOptions: InitOptions<T> = {}): Application {
    // biome-ignore lint/complexity/noThisInStatic lint/complexity/noUselessThisAlias: the subclass called on
    const Cls = this;
    if (initOptions === null || typeof initOptions !== 'object' || Array.isArray(initOptions)) {
      throw new InvalidOptionError(
        `${Cls.name}.asApp(): initOptions must be an object of property values, ` +
          `not ${initOptions === null ? 'null' : typeof initOptions}`,
      );
    }
    const probe = new Cls() as unknown as Record<string, unknown>;
    for (const key of Object.keys(initOptions)) {
      if (OWN_KEYS.has(key)) {
        throw new InvalidOptionError(
          `${Cls.name}.asApp(): '${key}' is set by the consumer for each connection and cannot be an init option`,
        );
      }
      if (!Object.hasOwn(probe, key)) {
        const what =
          typeof probe[key] === 'function'
            ? `a method of ${Cls.name}, not an option; override it in a subclass instead`
            : key in probe
              ? `not a plain field of ${Cls.name}`
              : `an unknown init option`;
        throw new InvalidOptionError(
          `${Cls.name}.asApp(): '${key}' is ${what}; ` +
            `init options set fields the class declares with a default value (${key} = ...)`,
        );
      }
    }
    const entries = Object.entries(initOptions);
    return (scope, receive, send) => {
      const instance = new Cls();
      for (const [k, v] of entries) (instance as unknown as Record<string, unknown>)[k] = v;
      return instance.run(scope, receive, send);
    };
  }

  /** Ends the instance once the current handler returns (or at once when idle). */
  stop(): void {
    this.#mailbox.stop();
  }

  /** Runs the instance until a StopConsumer, a disconnect handler, or an error. */
  run(scope: Scope, receive: () => Promise<ReceiveEvent>, send: Send): Promise<void> {
    this.scope = scope as S;
    this.baseSend = send;
    this.#receive = receive;
    const ended = new Promise<void>((resolve, reject) => {
      this.#resolveRun = resolve;
      this.#rejectRun = reject;
    });
    if (this.#clientOnly) this.#askClient();
    else {
      try {
        this.#openChannel((this.constructor as typeof AsyncConsumer).channelLayerAlias as string);
      } catch (err) {
        this.#rejectRun!(err);
      }
    }
    return ended;
  }

  #hooks(): MailboxHooks {
    return {
      recover: (err) => this.recoverFrom(err),
      ended: (failed, err) => this.#end(failed, err),
      idle: this.#clientOnly ? () => this.#askClient() : null,
    };
  }

  /** Asks the client for its next event; it goes to the mailbox beside the layer's. */
  #askClient(): void {
    this.#receive!().then(this.#fromClient, this.#clientFailed);
  }

  readonly #fromClient = (event: ReceiveEvent): void => {
    const mailbox = this.#mailbox;
    // Nothing follows a disconnect; asking again would wait forever.
    const t = event.type;
    const last = t === 'websocket.disconnect' || t === 'http.disconnect';
    // An event that comes after the instance was stopped is dropped (deliver does nothing).
    mailbox.deliver(event, last);
    if (!last && !this.#clientOnly && !mailbox.closed) this.#askClient();
  };

  // receive() failed: a StopConsumer (how a worker ends an instance) ends it cleanly, once the
  // events before it have been handled.
  readonly #clientFailed = (err: unknown): void => this.#mailbox.fail(err);

  /** Gets the instance's channel, then reads the client and the channel. */
  #openChannel(alias: string): void {
    this.channelLayer = getChannelLayer(alias) as unknown as ConsumerLayer<M>;
    this.channelLayer.newChannel().then(
      (name) => {
        // Stopped before its channel came: the channel is let go at once, and nothing is read.
        if (this.#mailbox.closed) return void this.channelLayer.discardChannel?.(name);
        this.channelName = name;
        this.#askClient();
        this.#readLayer();
      },
      (err: unknown) => this.#rejectRun!(err),
    );
  }

  /** Ends the instance once: clean-up, its channel let go, then run() settles with the outcome. */
  #end(failed: boolean, err: unknown): void {
    // The base clean-up does nothing; an instance without its own is not made to await it.
    if (this.cleanUp === AsyncConsumer.prototype.cleanUp) this.#release(failed, err);
    else void this.#cleanUpLogged().then(() => this.#release(failed, err));
  }

  #release(failed: boolean, err: unknown): void {
    try {
      if (this.#unlisten !== null) this.#unlisten();
      if (this.channelName !== '') this.channelLayer.discardChannel?.(this.channelName);
    } catch (err) {
      log.warn(
        `${this.constructor.name}: letting go of its channel ${this.channelName} failed: ${(err as Error).message}`,
      );
    }
    if (failed) this.#rejectRun!(err);
    else this.#resolveRun!();
  }

  /** Starts reading this instance's channel: push delivery where the layer has it, else a loop of receive(). */
  #readLayer(): void {
    const layer = this.channelLayer;
    const mailbox = this.#mailbox;
    if (typeof layer.listen !== 'function') {
      void this.#pumpLayer();
      return;
    }
    // Push delivery: no promise and no extra turn per layer message; a full mailbox refuses.
    const limit = layer.capacityFor?.(this.channelName) ?? 100;
    this.#unlisten = layer.listen(this.channelName, (message: M) => mailbox.post(message, limit));
  }

  async #pumpLayer(): Promise<void> {
    const layer = this.channelLayer;
    const name = this.channelName;
    const mailbox = this.#mailbox;
    while (!mailbox.closed) {
      let message: M;
      try {
        message = await layer.receive(name);
      } catch (err) {
        if (!mailbox.closed)
          log.warn(
            `${this.constructor.name}: reading its channel ${name} failed, so it gets no more layer messages: ` +
              (err as Error).message,
          );
        return;
      }
      if (mailbox.closed) {
        // The instance ended while this receive was pending (a layer without discardChannel).
        if (log.enabled('debug'))
          log.debug(
            `${this.constructor.name}: dropped ${JSON.stringify(message.type)} on ${name}: ` +
              'it arrived after the consumer ended',
          );
        return;
      }
      mailbox.deliver(message, false);
    }
  }

  async #cleanUpLogged(): Promise<void> {
    try {
      await this.cleanUp();
    } catch (err) {
      log.warn(`${this.constructor.name}: clean-up after the consumer ended failed: ${(err as Error).message}`);
    }
  }

  /**
   * Called with an error a handler raised (not StopConsumer); true when it was dealt with and
   * the instance goes on, false to end the instance with it (the default). HttpConsumer answers
   * a FormError with its status here.
   */
  protected recoverFrom(err: unknown): Promise<boolean> | boolean {
    void err;
    return false;
  }

  /**
   * Runs once when the instance ends, however it ends (StopConsumer, disconnect, an error).
   * WebsocketConsumer leaves its `groups` here. Errors are logged, not raised.
   */
  protected async cleanUp(): Promise<void> {}

  /**
   * Calls the handler for `event.type`: `chat.message` → `this.chat_message(event)`, and
   * returns what it returns (not wrapped in another promise: this is the hot path). A refused
   * or missing handler throws NoHandlerError synchronously.
   */
  dispatch(event: { type: string }): Promise<void> | void {
    const name = dispatchableName(event.type);
    if (name === null) {
      const refused = handlerName(event.type);
      throw new NoHandlerError(
        `message type ${JSON.stringify(event.type)} maps to ${this.constructor.name}.${refused}, which is not a ` +
          "handler: names starting with '_' and the consumer's own API methods are never dispatched; " +
          'rename the message type',
      );
    }
    const handler = (this as unknown as Record<string, unknown>)[name];
    if (typeof handler !== 'function') {
      throw new NoHandlerError(
        `no handler for message type ${JSON.stringify(event.type)} on ${this.constructor.name}: ` +
          `define ${this.constructor.name}.${name}(event)`,
      );
    }
    if (log.enabled('debug')) log.debug(`${this.constructor.name}.${name}`);
    return handler.call(this, event) as Promise<void> | void;
  }
}

reserveApiNames(AsyncConsumer.prototype);
