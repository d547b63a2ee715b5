// Runs one app instance in-process with an input and an output queue, as the server would.
// Every wait has a timeout; once the app has raised, every call re-raises its error.
import type { Application, ReceiveEvent, Scope, SendEvent } from '../asgi/types.ts';
import { TimeoutError } from '../errors.ts';

export class ApplicationCommunicator {
  private readonly input: ReceiveEvent[] = [];
  private readonly inputWaiters: ((e: ReceiveEvent) => void)[] = [];
  private readonly output: SendEvent[] = [];
  private outputWaiters: (() => void)[] = [];
  private failed = false;
  private error: unknown = undefined;
  private finished = false;
  /** Settles when the app returns (never rejects: the app's error is re-raised by the calls). */
  readonly done: Promise<void>;

  readonly app: Application;
  readonly scope: Scope;
  constructor(
    app: Application,
    scope: Scope,
  ) {
    this.app = app;
    this.scope = scope;
    const receive = (): Promise<ReceiveEvent> => {
      const next = this.input.shift();
      return next ? Promise.resolve(next) : new Promise((resolve) => this.inputWaiters.push(resolve));
    };
    const send = async (event: SendEvent): Promise<void> => {
      this.output.push(event);
      this.wakeOutput();
    };
    // Started on the next tick so the constructor never runs app code synchronously.
    this.done = Promise.resolve()
      .then(() => app(scope, receive, send))
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

  /** Gives the app one event (what its next `receive()` returns). Re-raises the app's error. */
  async sendInput(event: ReceiveEvent): Promise<void> {
    this.rethrow();
    const waiter = this.inputWaiters.shift();
    if (waiter) waiter(event);
    else this.input.push(event);
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
      if (this.finished) throw new TimeoutError('the application returned without sending another event');
      const left = deadline - Date.now();
      if (left <= 0) throw new TimeoutError(`the application sent nothing within ${timeoutMs} ms`);
      await this.outputOrTimeout(left);
    }
  }

  /**
   * True when the app sends nothing within `timeoutMs`, false as soon as it sends something
   * (the event stays queued for receiveOutput). Re-raises the app's error.
   */
  async receiveNothing(timeoutMs = 100): Promise<boolean> {
    if (this.output.length) return false;
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
    if (result === 'timeout') throw new TimeoutError(`the application was still running after ${timeoutMs} ms (it cannot be cancelled; it keeps running)`);
    this.rethrow();
  }
}
