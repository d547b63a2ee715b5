// Lifespan: the app hears `lifespan.startup` before the server accepts connections and
// `lifespan.shutdown` after it stopped. An app that raises or returns before answering the
// startup does not support lifespan; that is fine (logged at debug), and scopes carry no state.
import { ASGI_VERSION, type LifespanScope, type ReceiveEvent, type SendEvent } from '../asgi/types.ts';
import { CanalError, InvalidEventError } from '../errors.ts';
import type { ServerContext } from './context.ts';

/** The app answered lifespan.startup with lifespan.startup.failed. */
export class LifespanStartupError extends CanalError {
  constructor(message: string) {
    super('ERR_LIFESPAN_STARTUP', message);
  }
}

export class Lifespan {
  private inbox: ReceiveEvent[] = [];
  private waiter: ((e: ReceiveEvent) => void) | null = null;
  private answer: ((e: SendEvent | null, err?: unknown) => void) | null = null;
  private supported = true;
  /** The lifespan app has returned: nobody is left to answer lifespan.shutdown. */
  private ended = false;

  declare private readonly ctx: ServerContext;
  constructor(ctx: ServerContext) {
    this.ctx = ctx;
  }

  private push(event: ReceiveEvent): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(event);
    } else this.inbox.push(event);
  }

  private ask(event: ReceiveEvent, timeoutMs: number): Promise<SendEvent | null> {
    return new Promise((resolve, reject) => {
      const timer = timeoutMs > 0 ? setTimeout(() => resolve(null), timeoutMs) : null;
      this.answer = (e, err) => {
        if (timer) clearTimeout(timer);
        this.answer = null;
        if (err) reject(err);
        else resolve(e);
      };
      this.push(event);
    });
  }

  /** Runs startup; resolves with the state to copy into scopes, or null without lifespan. */
  async startup(): Promise<Record<string, unknown> | null> {
    const state: Record<string, unknown> = {};
    const scope: LifespanScope = { type: 'lifespan', asgi: ASGI_VERSION, state };
    const receive = () => {
      const next = this.inbox.shift();
      return next ? Promise.resolve(next) : new Promise<ReceiveEvent>((r) => (this.waiter = r));
    };
    const send = async (event: SendEvent) => {
      const t = event?.type;
      if (
        t !== 'lifespan.startup.complete' &&
        t !== 'lifespan.startup.failed' &&
        t !== 'lifespan.shutdown.complete' &&
        t !== 'lifespan.shutdown.failed'
      ) {
        throw new InvalidEventError(`${String(t)} is not a lifespan event`);
      }
      this.answer?.(event);
    };
    let ended = false;
    const markEnded = () => {
      ended = true;
      this.ended = true;
    };
    // Both outcomes are handled: the chain never rejects.
    Promise.resolve()
      .then(() => this.ctx.app(scope, receive, send))
      .then(
        () => {
          markEnded();
          this.answer?.(null);
        },
        (err) => {
          markEnded();
          this.ctx.log.debug('the application does not support lifespan (it raised on the lifespan scope)', err);
          this.answer?.(null);
        },
      );
    const reply = await this.ask({ type: 'lifespan.startup' }, 0);
    if (reply === null) {
      this.supported = false;
      if (ended) this.ctx.log.debug('the application returned on the lifespan scope; running without lifespan');
      return null;
    }
    if (reply.type === 'lifespan.startup.failed') {
      throw new LifespanStartupError(
        `application startup failed: ${(reply as { message?: string }).message ?? '(no message)'}`,
      );
    }
    return state;
  }

  async shutdown(timeoutMs: number): Promise<void> {
    if (!this.supported) return;
    this.supported = false;
    if (this.ended) return;
    const reply = await this.ask({ type: 'lifespan.shutdown' }, timeoutMs);
    if (reply === null) this.ctx.log.warn(`the application did not finish lifespan.shutdown within ${timeoutMs} ms`);
    else if (reply.type === 'lifespan.shutdown.failed') {
      this.ctx.log.error(`application shutdown failed: ${(reply as { message?: string }).message ?? '(no message)'}`);
    }
  }
}
