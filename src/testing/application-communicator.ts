// Runs one app instance in-process with an input and an output queue, as the server would.
// Every wait has a timeout; once the app has raised, every call re-raises its error.
// A `channel` scope runs as a worker runs it (docs/app-interface.md §3.4): the instance gets
// one message, a second receive() ends it with StopConsumer, and send() is refused, so a test
// of a worker consumer learns from wait() that the message was handled.
import {
  ASGI_VERSION,
  type Application,
  type AsgiVersion,
  type ChannelMessageEvent,
  type ReceiveEvent,
  type Scope,
  type SendEvent,
} from '../asgi/types.ts';
import { InvalidEventError, StopConsumer, TimeoutError, UnexpectedEventError } from '../errors.ts';

type WithoutAsgi<S> = S extends Scope ? Omit<S, 'asgi'> & { asgi?: AsgiVersion } : never;

/** A scope for a communicator: any scope, with `asgi` optional (the communicator adds it). */
export type TestScope = WithoutAsgi<Scope>;

export class ApplicationCommunicator {
  private readonly input: ReceiveEvent[] = [];
  private readonly inputWaiters: ((e: ReceiveEvent) => void)[] = [];
  /** Channel scope: the one message was given to the test (sendInput) and to the app (receive). */
  private messageSent = false;
  private messageTaken = false;
  private readonly output: SendEvent[] = [];
  private outputWaiters: (() => void)[] = [];
  private failed = false;
  private error: unknown = undefined;
  private finished = false;
  /** Settles when the app returns (never rejects: the app's error is re-raised by the calls). */
  readonly done: Promise<void>;

  declare readonly app: Application;
  declare readonly scope: Scope;
  constructor(app: Application, scope: TestScope) {
    this.app = app;
    this.scope = (scope.asgi === undefined ? { ...scope, asgi: ASGI_VERSION } : scope) as Scope;
    const channel = this.scope.type === 'channel' ? this.scope.channel : null;
    const receive = (): Promise<ReceiveEvent> => {
      if (channel !== null) {
        // One message per instance, as under a worker: asking for another ends the instance.
        if (this.messageTaken) return Promise.reject(new StopConsumer());
        this.messageTaken = true;
      }
      const next = this.input.shift();
      return next ? Promise.resolve(next) : new Promise((resolve) => this.inputWaiters.push(resolve));
    };
    const send = async (event: SendEvent): Promise<void> => {
      if (channel !== null) {
        const type = JSON.stringify(event?.type);
        throw new InvalidEventError(
          `a channel-scope app has nothing to send to (it sent ${type}); use the channel layer (channel ${channel})`,
        );
      }
      this.output.push(event);
      this.wakeOutput();
    };
    // Started on the next tick so the constructor never runs app code synchronously.
    this.done = Promise.resolve()
      .then(() => app(this.scope, receive, send))
      .then(
        () => {
          this.finished = true;
          this.wakeOutput();
        },
        (err: unknown) => {
          this.finished = true;
          this.failed = true;
          this.error = err;
          this.wakeOutput();
        },
      );
  }

  /** True once the app has returned or raised. */
  get isFinished(): boolean {
    return this.finished;
  }

  private wakeOutput(): void {
    const waiters = this.outputWaiters;
    this.outputWaiters = [];
    for (const w of waiters) w();
  }

  /** Resolves when the app sends, returns or raises, or after `ms`, whichever is first. */
  private outputOrTimeout(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.outputWaiters = this.outputWaiters.filter((w) => w !== wake);
        resolve();
      }, ms);
      this.outputWaiters.push(wake);
    });
  }

  private rethrow(): void {
    if (this.failed) throw this.error;
  }

  /**
   * Gives the app one event (what its next `receive()` returns): a protocol event, or for a
   * `channel` scope the layer message (only one). Re-raises the app's error.
   */
  async sendInput(event: ReceiveEvent | ChannelMessageEvent): Promise<void> {
    this.rethrow();
    if (this.scope.type === 'channel') {
      if (this.messageSent) {
        throw new UnexpectedEventError(
          'a channel-scope instance handles one message, as under a worker; ' +
            `make a new ApplicationCommunicator for ${JSON.stringify(event?.type)}`,
        );
      }
      this.messageSent = true;
    }
    const waiter = this.inputWaiters.shift();
    if (waiter) waiter(event as ReceiveEvent);
    else this.input.push(event as ReceiveEvent);
  }

  /**
   * The next event the app sent. Rejects with the app's own error if it raised, and with
   * TimeoutError after `timeoutMs` or when the app returned without sending anything more.
   */
  async receiveOutput(timeoutMs = 1000): Promise<SendEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const next = this.output.shift();
      if (next) return next;
      this.rethrow();
      const channel = this.scope.type === 'channel';
      if (this.finished) {
        throw new TimeoutError(
          channel
            ? 'a channel-scope app sends nothing (it replies through the channel layer), ' +
                'and it has returned after handling its message'
            : 'the application returned without sending another event',
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new TimeoutError(
          channel
            ? `a channel-scope app sends nothing, and it was still handling its message after ${timeoutMs} ms; ` +
                'wait() waits for it to return'
            : `the application sent nothing within ${timeoutMs} ms`,
        );
      }
      await this.outputOrTimeout(left);
    }
  }

  /**
   * True when the app sends nothing within `timeoutMs` (at once when it has returned), false as
   * soon as it sends something (the event stays queued for receiveOutput). Re-raises the app's
   * error.
   */
  async receiveNothing(timeoutMs = 100): Promise<boolean> {
    if (this.output.length) return false;
    // An app that has returned sends nothing more: no need to sit out the timeout.
    if (this.finished) {
      this.rethrow();
      return true;
    }
    await this.outputOrTimeout(timeoutMs);
    if (this.output.length) return false;
    this.rethrow();
    return true;
  }

  /**
   * Waits for the app to return and re-raises its error if it raised. Node cannot cancel a
   * running function, so on timeout this rejects with TimeoutError and the app keeps running.
   */
  async wait(timeoutMs = 1000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
    const result = await Promise.race([this.done.then(() => 'done' as const), timedOut]);
    clearTimeout(timer);
    if (result === 'timeout')
      throw new TimeoutError(
        `the application was still running after ${timeoutMs} ms (it cannot be cancelled; it keeps running)`,
      );
    this.rethrow();
  }
}
