// AsyncConsumer: one instance per connection. It reads two sources — the client's events and
// its own channel on the channel layer — and handles their events one at a time, in arrival
// order, by calling the method named after the event's type (`chat.message` → chat_message).
//
// Hot path: the client's events (a pump awaiting receive()) and the layer's messages (pushed by
// the layer's listen(), or a pump where a layer has none) go into one queue per instance. An
// instance with no handler running joins a ready list that one microtask drains for all of
// them: a group send to 1000 members costs one turn, not a promise and an async-loop turn per
// member. A handler that returns nothing or SETTLED lets the next event run in the same turn.
// An instance without a channel layer has one source only, the client: its loop awaits the
// client's events itself, with no pump, queue or promise of its own per event.
import type { Application, ReceiveEvent, Scope, Send } from '../asgi/types.ts';
import { SETTLED } from '../asgi/settled.ts';
import { InvalidOptionError, NoHandlerError, StopConsumer } from '../errors.ts';
import { createLogger } from '../logging.ts';
import { getChannelLayer } from '../layers/registry.ts';
import type { LayerMessage, TypedMessage } from '../layers/types.ts';
import type { ConsumerLayer } from './consumer-layer.ts';
import { dispatchableName, handlerName, reserveApiNames } from './handlers.ts';

const log = createLogger('dispatch');

/** Queued after the last event: ends the loop, with the reason (StopConsumer or an error). */
class Halt {
  declare readonly reason: unknown;
  constructor(reason: unknown) {
    this.reason = reason;
  }
}

type Incoming = { type: string } | Halt;

// A promise's settling functions, taken without a closure per promise:
// `new Promise(takeSettlers)`, then read `taken` and `takenReject` (the executor runs synchronously).
let taken: ((value: never) => void) | null = null;
let takenReject: ((reason: unknown) => void) | null = null;
function takeSettlers(resolve: (value: never) => void, reject: (reason: unknown) => void): void {
  taken = resolve;
  takenReject = reject;
}

function noop(): void {}

/** Instances with layer events to handle and no handler running; drained in one microtask. */
const ready: AsyncConsumer<any>[] = [];
let drainQueued = false;

/** The queue of an instance before its first queued event; never written to. */
const NO_QUEUE: Incoming[] = [];

/** How an instance ended: normally (StopConsumer, stop(), a disconnect handler) or with an error. */
const ENDED_CLEANLY = Symbol('ended cleanly');

/** Keys of a consumer that `asApp()` may set: its data properties, not its methods. */
export type InitOptions<T> = { [K in keyof T as T[K] extends (...args: never[]) => unknown ? never : K]?: T[K] };

/** Set by the consumer itself for each connection; never init options. */
const OWN_KEYS = new Set(['scope', 'channelLayer', 'channelName', 'baseSend']);

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
  #stopping = false;
  // The oldest waiting event while #queue is empty (most instances hold one at a time); the
  // others wait in #queue from #head on, in arrival order. #queue is made when a second event
  // waits: a client-only instance never queues one.
  #first: Incoming | null = null;
  #queue: Incoming[] = NO_QUEUE;
  #head = 0;
  // With a layer: a handler is running, or the instance waits in the ready list for its turn.
  #running = false;
  #onDone: () => void = noop;
  #onFail: (err: unknown) => void = noop;
  #unlisten: (() => void) | null = null;
  // Client-only instances (no channel layer): waiting for the client.
  #clientOnly = false;
  #idle = false;
  // How run() settles, once.
  #ended = false;
  #resolveRun: (() => void) | null = null;
  #rejectRun: ((reason: unknown) => void) | null = null;

  /**
   * An Application that makes one instance per connection, with `initOptions` set on it.
   * Each key must be a field the class declares with a default value (`room = 'lobby'`); any
   * other key is an InvalidOptionError here, not at the first connection.
   */
  static asApp<T extends AsyncConsumer<any>>(this: new () => T, initOptions: InitOptions<T> = {}): Application {
    const Cls = this;
    if (initOptions === null || typeof initOptions !== 'object' || Array.isArray(initOptions)) {
      throw new InvalidOptionError(
        `${Cls.name}.asApp(): initOptions must be an object of property values, not ${initOptions === null ? 'null' : typeof initOptions}`,
      );
    }
    const probe = new Cls() as unknown as Record<string, unknown>;
    for (const key of Object.keys(initOptions)) {
      if (OWN_KEYS.has(key)) {
        throw new InvalidOptionError(
          `${Cls.name}.asApp(): '${key}' is set by the consumer for each connection and cannot be an init option`,
        );
      }
      if (!Object.prototype.hasOwnProperty.call(probe, key)) {
        const what =
          typeof probe[key] === 'function'
            ? `a method of ${Cls.name}, not an option; override it in a subclass instead`
            : key in probe
              ? `not a plain field of ${Cls.name}`
              : `an unknown init option`;
        throw new InvalidOptionError(
          `${Cls.name}.asApp(): '${key}' is ${what}; init options set fields the class declares with a default value (${key} = ...)`,
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
    if (this.#stopping) return;
    this.#stopping = true;
    if (!this.#clientOnly) this.#push(new Halt(new StopConsumer()));
    // A client-only loop checks #stopping after each handler; one waiting for the client ends
    // now (the event it waits for is dropped when it comes).
    else if (this.#idle) this.#end(ENDED_CLEANLY);
  }

  /** Queues an event; an instance with no handler running takes its turn in the next drain. */
  #push(e: Incoming): void {
    if (this.#ended) return;
    if (this.#first === null && this.#head === this.#queue.length) this.#first = e;
    else {
      if (this.#queue === NO_QUEUE) this.#queue = [];
      this.#queue.push(e);
    }
    if (this.#running) return;
    this.#running = true;
    ready.push(this);
    if (!drainQueued) {
      drainQueued = true;
      // A reaction on a settled promise, not queueMicrotask: Node wraps each queueMicrotask
      // callback in an async resource (≈110–180 ns against ≈40–50 ns here). The drain never
      // throws, so no rejection can come of it.
      SETTLED.then(AsyncConsumer.#drain);
    }
  }

  /**
   * Runs the instances that have events and no handler running, in the order their events
   * came: one microtask for all the members a group send reached, not a promise and a turn
   * of an async loop for each.
   */
  static #drain(): void {
    for (let i = 0; i < ready.length; i++) {
      const c = ready[i]!;
      ready[i] = undefined as unknown as AsyncConsumer<any>;
      try {
        c.#step();
      } catch (err) {
        // #step settles every handler outcome itself; should anything else throw, it ends that
        // instance only, and the other instances of this drain still run.
        log.error(`${c.constructor.name}: ended on an error outside its handlers`, err);
        c.#running = false;
        if (c.#ended) c.#settle(err);
        else c.#end(err);
      }
    }
    if (ready.length !== 0) ready.length = 0;
    drainQueued = false;
  }

  async #pumpClient(receive: () => Promise<ReceiveEvent>): Promise<void> {
    while (!this.#stopping) {
      let event: ReceiveEvent;
      try {
        event = await receive();
      } catch (err) {
        this.#push(new Halt(err));
        return;
      }
      this.#push(event);
      const t = event.type;
      // Nothing follows a disconnect; asking again would wait forever.
      if (t === 'websocket.disconnect' || t === 'http.disconnect') return;
    }
  }

  async #pumpLayer(): Promise<void> {
    const layer = this.channelLayer;
    const name = this.channelName;
    while (!this.#stopping) {
      let message: M;
      try {
        message = await layer.receive(name);
      } catch (err) {
        if (!this.#stopping)
          log.warn(
            `${this.constructor.name}: reading its channel ${name} failed, so it gets no more layer messages: ${(err as Error).message}`,
          );
        return;
      }
      if (this.#stopping) {
        // The instance ended while this receive was pending (a layer without discardChannel).
        if (log.enabled('debug'))
          log.debug(
            `${this.constructor.name}: dropped ${JSON.stringify(message.type)} on ${name}: it arrived after the consumer ended`,
          );
        return;
      }
      this.#push(message);
    }
  }

  /** Runs the instance until a StopConsumer, a disconnect handler, or an error. */
  run(scope: Scope, receive: () => Promise<ReceiveEvent>, send: Send): Promise<void> {
    this.scope = scope as S;
    this.baseSend = send;
    const ended = new Promise<void>(takeSettlers);
    this.#resolveRun = taken as () => void;
    this.#rejectRun = takenReject;
    const alias = (this.constructor as typeof AsyncConsumer).channelLayerAlias;
    if (alias === null) {
      this.#clientOnly = true;
      void this.#readClient(receive);
    } else {
      try {
        this.#runWithLayer(alias, receive);
      } catch (err) {
        this.#settle(err);
      }
    }
    return ended;
  }

  /** The loop of an instance without a layer: the client's events, one at a time. */
  async #readClient(receive: () => Promise<ReceiveEvent>): Promise<void> {
    let outcome: unknown = ENDED_CLEANLY;
    try {
      for (;;) {
        this.#idle = true;
        const event = await receive();
        this.#idle = false;
        if (this.#stopping) break; // stopped while waiting: already ended
        try {
          const pending = this.dispatch(event);
          if (pending !== undefined && pending !== SETTLED) await pending;
        } catch (err) {
          if (err instanceof StopConsumer) break;
          if (!(await this.recoverFrom(err))) {
            outcome = err;
            break;
          }
        }
        if (this.#stopping) break;
        const t = event.type;
        // Nothing follows a disconnect; asking again would wait forever.
        if (t === 'websocket.disconnect' || t === 'http.disconnect') break;
      }
    } catch (err) {
      // receive() or recoverFrom() failed; a StopConsumer from receive() (how a worker ends
      // an instance) is a clean end
      if (!(err instanceof StopConsumer)) outcome = err;
    }
    this.#idle = false;
    this.#end(outcome);
  }

  /** Ends the instance once: clean-up, its channel let go, then run() settles with the outcome. */
  #end(outcome: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#stopping = true;
    this.#first = null;
    // Setting an array's length is a runtime call even when it changes nothing (a client-only
    // instance's queue is the shared empty one).
    if (this.#queue.length !== 0) this.#queue.length = 0;
    this.#head = 0;
    if (this.cleanUp === NO_CLEAN_UP) this.#release(outcome);
    else void this.#cleanUpLogged().then(() => this.#release(outcome));
  }

  #release(outcome: unknown): void {
    try {
      if (this.#unlisten !== null) this.#unlisten();
      if (this.channelName !== '') this.channelLayer.discardChannel?.(this.channelName);
    } catch (err) {
      log.warn(
        `${this.constructor.name}: letting go of its channel ${this.channelName} failed: ${(err as Error).message}`,
      );
    }
    this.#settle(outcome);
  }

  #settle(outcome: unknown): void {
    if (outcome === ENDED_CLEANLY) this.#resolveRun!();
    else this.#rejectRun!(outcome);
  }

  #runWithLayer(alias: string, receive: () => Promise<ReceiveEvent>): void {
    this.channelLayer = getChannelLayer(alias) as unknown as ConsumerLayer<M>;
    this.channelLayer.newChannel().then(
      (name) => {
        this.channelName = name;
        this.#onDone = () => this.#afterHandler();
        this.#onFail = (err) => this.#handlerFailed(err);
        void this.#pumpClient(receive);
        this.#readLayer();
      },
      (err: unknown) => this.#settle(err),
    );
  }

  /**
   * Handles queued events until one's handler is still running (it resumes from #afterHandler)
   * or the queue is empty. Never throws: every outcome ends in a handler, the queue, or #end.
   */
  #step(): void {
    for (;;) {
      let event = this.#first;
      if (event !== null) this.#first = null;
      else {
        const q = this.#queue;
        if (this.#head >= q.length) {
          this.#running = false;
          return;
        }
        event = q[this.#head]!;
        q[this.#head++] = undefined as unknown as Incoming;
        if (this.#head === q.length) {
          q.length = 0;
          this.#head = 0;
        }
      }
      if (event instanceof Halt) {
        this.#end(event.reason instanceof StopConsumer ? ENDED_CLEANLY : event.reason);
        return;
      }
      let pending: Promise<void> | void;
      try {
        pending = this.dispatch(event);
      } catch (err) {
        // Recovered at once: go on in this loop (not by calling back into it, so a run of
        // failing events does not deepen the stack).
        if (!this.#recover(err)) return;
        pending = undefined;
      }
      // A handler that returns nothing, or a send's SETTLED, is finished now; so is one that
      // returns a value that is not a promise (a plain function's result).
      if (pending !== SETTLED && typeof (pending as { then?: unknown } | undefined)?.then === 'function') {
        (pending as Promise<void>).then(this.#onDone, this.#onFail);
        return;
      }
      if (this.#stopping) {
        this.#end(ENDED_CLEANLY);
        return;
      }
    }
  }

  #afterHandler(): void {
    if (this.#stopping) this.#end(ENDED_CLEANLY);
    else this.#step();
  }

  /** A handler's promise rejected. */
  #handlerFailed(err: unknown): void {
    if (this.#recover(err)) this.#afterHandler();
  }

  /**
   * Deals with an error a handler raised: true when recoverFrom() recovered it at once (the
   * caller goes on); otherwise the instance has ended, or goes on once an async recoverFrom()
   * says so.
   */
  #recover(err: unknown): boolean {
    if (err instanceof StopConsumer) {
      this.#end(ENDED_CLEANLY);
      return false;
    }
    let recovered: Promise<boolean> | boolean;
    try {
      recovered = this.recoverFrom(err);
    } catch (err2) {
      this.#end(err2);
      return false;
    }
    if (typeof (recovered as { then?: unknown } | null)?.then !== 'function') {
      if (recovered) return true;
      this.#end(err);
    } else
      (recovered as Promise<boolean>).then(
        (ok) => (ok ? this.#afterHandler() : this.#end(err)),
        (err2: unknown) => this.#end(err2),
      );
    return false;
  }

  /** Starts reading this instance's channel: push delivery where the layer has it, else a pump. */
  #readLayer(): void {
    const layer = this.channelLayer;
    if (typeof layer.listen !== 'function') {
      void this.#pumpLayer();
      return;
    }
    // Push delivery: no promise and no extra turn per layer message; a full queue refuses.
    const limit = (layer as { capacityFor?(c: string): number }).capacityFor?.(this.channelName) ?? 100;
    this.#unlisten = layer.listen(this.channelName, (message: M) => {
      if (this.#stopping) return true;
      if ((this.#first !== null ? 1 : 0) + this.#queue.length - this.#head >= limit) return false;
      this.#push(message);
      return true;
    });
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
        `message type ${JSON.stringify(event.type)} maps to ${this.constructor.name}.${refused}, which is not a handler: names starting with '_' and the consumer's own API methods are never dispatched; rename the message type`,
      );
    }
    const handler = (this as unknown as Record<string, unknown>)[name];
    if (typeof handler !== 'function') {
      throw new NoHandlerError(
        `no handler for message type ${JSON.stringify(event.type)} on ${this.constructor.name}: define ${this.constructor.name}.${name}(event)`,
      );
    }
    if (log.enabled('debug')) log.debug(`${this.constructor.name}.${name}`);
    return handler.call(this, event) as Promise<void> | void;
  }
}

// The base clean-up does nothing; an instance without its own is not made to await it.
const NO_CLEAN_UP = AsyncConsumer.prototype['cleanUp'];

reserveApiNames(AsyncConsumer.prototype);
