// Mailbox: the events of one consumer instance, from all of its sources, handled one at a time
// in the order they came.
//
// - One handler at a time. The next event is handled once the previous handler has finished: in
//   the same turn when it finished synchronously (it returned no promise, or the server's
//   already-settled one), otherwise when its promise settles. Either way the order is the same.
// - An event handed over inside someone else's call (post(): the layer's listen() runs inside the
//   sender's send or groupSend) never runs a handler before that call returns: the mailbox waits
//   in the ready list, and one microtask runs every mailbox in it. An event from a promise
//   reaction (deliver(): nothing else is on the stack) is handled at once when nothing waits.
// - It ends, once: when stop() was called and the running handler has returned (or at the next
//   drain when none runs); when a handler raises StopConsumer; when a handler raises another
//   error that recover() does not recover; when a fail() queued behind the waiting events is
//   reached; or when every source has said it is done and nothing waits.
import { SETTLED } from '../asgi/settled.ts';
import { StopConsumer } from '../errors.ts';
import { createLogger } from '../logging.ts';

const log = createLogger('dispatch');

/** Queued behind the events already waiting: ends the mailbox with its reason when reached. */
class Halt {
  declare readonly reason: unknown;
  constructor(reason: unknown) {
    this.reason = reason;
  }
}

/** What handles the events: a consumer. A returned promise holds the next event until it settles. */
export interface Dispatcher<E> {
  dispatch(event: E): unknown;
}

export interface MailboxHooks {
  /** A handler's error (not StopConsumer): true (or a promise of it) to go on, false to end with it. */
  recover(err: unknown): boolean | Promise<boolean>;
  /** Called once when the mailbox ends: `failed` with the error that ended it, else cleanly. */
  ended(failed: boolean, err: unknown): void;
  /** Called when the last waiting event has been handled and the mailbox is not ending; may be null. */
  idle: (() => void) | null;
}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return typeof (x as { then?: unknown } | null | undefined)?.then === 'function';
}

export class Mailbox<E extends object> {
  // Mailboxes with events waiting and no handler running, in the order their events came. They
  // are run together by one microtask, so that a group send that reaches many instances costs
  // one turn of the microtask queue rather than one per instance. Only #drain() empties it.
  static readonly #ready: Mailbox<object>[] = [];
  static #drainQueued = false;

  readonly #dispatcher: Dispatcher<E>;
  readonly #hooks: MailboxHooks;
  readonly #idle: (() => void) | null;
  // The oldest waiting event, while #rest is empty (most mailboxes hold one event at a time);
  // the others wait in #rest from #restHead on. #rest is made when a second event waits.
  #first: E | Halt | null = null;
  #rest: (E | Halt)[] | null = null;
  #restHead = 0;
  // A handler is running, or the mailbox waits in the ready list: new events only queue.
  #busy = false;
  #stopping = false;
  #ended = false;
  #sources: number;
  readonly #resume = (): void => this.#run();
  readonly #rejected = (err: unknown): void => this.#failed(err);

  /** `sources`: how many sources feed it; it ends once each has closed and nothing waits. */
  constructor(dispatcher: Dispatcher<E>, hooks: MailboxHooks, sources: number) {
    this.#dispatcher = dispatcher;
    this.#hooks = hooks;
    this.#idle = hooks.idle;
    this.#sources = sources;
  }

  /** Events waiting, not counting the one being handled. */
  #waiting(): number {
    return (this.#first !== null ? 1 : 0) + (this.#rest === null ? 0 : this.#rest.length - this.#restHead);
  }

  /** True once stop() was called or the mailbox ended: events that come now are dropped. */
  get closed(): boolean {
    return this.#stopping;
  }

  /**
   * Queues an event handed over inside another call; it is handled in the next drain at the
   * earliest. False, and not queued, when `limit` events already wait; an event that comes after
   * stop() is dropped (true).
   */
  post(event: E, limit: number): boolean {
    if (this.#stopping) return true;
    if (this.#waiting() >= limit) return false;
    this.#enqueue(event);
    this.#schedule();
    return true;
  }

  /**
   * Queues an event that comes from a promise reaction, handled at once when no handler runs
   * and nothing waits. `last`: its source sends nothing after it.
   */
  deliver(event: E, last: boolean): void {
    if (this.#stopping) return;
    if (last) this.#sources--;
    this.#enqueue(event);
    if (!this.#busy) {
      this.#busy = true;
      this.#runGuarded();
    }
  }

  /** Ends the mailbox with `reason` once the events already waiting have been handled. */
  fail(reason: unknown): void {
    if (this.#stopping) return;
    this.#enqueue(new Halt(reason));
    this.#schedule();
  }

  /** No more events are handled: it ends once the running handler returns, or in the next drain. */
  stop(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#schedule();
  }

  #enqueue(e: E | Halt): void {
    if (this.#first === null && this.#rest === null) this.#first = e;
    else (this.#rest ??= []).push(e);
  }

  /** The oldest waiting event, or null. */
  #take(): E | Halt | null {
    const first = this.#first;
    if (first !== null) {
      this.#first = null;
      return first;
    }
    const rest = this.#rest;
    if (rest === null) return null;
    const e = rest[this.#restHead]!;
    if (++this.#restHead === rest.length) {
      this.#rest = null;
      this.#restHead = 0;
    } else rest[this.#restHead - 1] = undefined as unknown as E;
    return e;
  }

  #schedule(): void {
    if (this.#busy) return;
    this.#busy = true;
    Mailbox.#ready.push(this);
    if (!Mailbox.#drainQueued) {
      Mailbox.#drainQueued = true;
      // A reaction to a settled promise rather than queueMicrotask(), which Node wraps in an
      // async resource per call. #drain() never throws, so nothing can reject here.
      SETTLED.then(Mailbox.#drain);
    }
  }

  static #drain(this: void): void {
    const ready = Mailbox.#ready;
    for (let i = 0; i < ready.length; i++) {
      const m = ready[i]!;
      ready[i] = undefined as unknown as Mailbox<object>;
      m.#runGuarded();
    }
    ready.length = 0;
    Mailbox.#drainQueued = false;
  }

  /** Runs a mailbox marked busy for it (from the drain, or deliver()). Never throws. */
  #runGuarded(): void {
    try {
      this.#run();
    } catch (err) {
      // #run settles every handler outcome itself; should anything else throw, it ends this
      // mailbox only, and the other mailboxes of the drain still run.
      log.error(`${(this.#dispatcher as object).constructor.name}: ended on an error outside its handlers`, err);
      this.#end(true, err);
    }
  }

  /** Handles waiting events until a handler is still running (it resumes from #resume) or none wait. */
  #run(): void {
    for (;;) {
      if (this.#stopping) {
        this.#end(false, undefined);
        return;
      }
      const event = this.#take();
      if (event === null) {
        this.#busy = false;
        if (this.#sources === 0) this.#end(false, undefined);
        else if (this.#idle !== null) this.#idle();
        return;
      }
      if (event instanceof Halt) {
        this.#endWith(event.reason);
        return;
      }
      let pending: unknown;
      try {
        pending = this.#dispatcher.dispatch(event);
      } catch (err) {
        // Recovered at once: go on in this loop (not by calling back into it, so a run of
        // failing events does not deepen the stack).
        if (!this.#recover(err)) return;
        continue;
      }
      if (pending !== SETTLED && isThenable(pending)) {
        pending.then(this.#resume, this.#rejected);
        return;
      }
    }
  }

  /** A handler's promise rejected. */
  #failed(err: unknown): void {
    if (this.#recover(err)) this.#run();
  }

  /**
   * Deals with an error a handler raised: true when it was recovered at once (the caller goes
   * on); otherwise the mailbox has ended, or goes on once an async recover() says so.
   */
  #recover(err: unknown): boolean {
    if (err instanceof StopConsumer) {
      this.#end(false, undefined);
      return false;
    }
    let recovered: boolean | Promise<boolean>;
    try {
      recovered = this.#hooks.recover(err);
    } catch (err2) {
      this.#end(true, err2);
      return false;
    }
    if (!isThenable(recovered)) {
      if (recovered) return true;
      this.#end(true, err);
    } else
      recovered.then(
        (ok) => (ok ? this.#run() : this.#end(true, err)),
        (err2: unknown) => this.#end(true, err2),
      );
    return false;
  }

  #endWith(reason: unknown): void {
    if (reason instanceof StopConsumer) this.#end(false, undefined);
    else this.#end(true, reason);
  }

  #end(failed: boolean, err: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#stopping = true;
    this.#first = null;
    this.#rest = null;
    this.#restHead = 0;
    this.#hooks.ended(failed, err);
  }
}
