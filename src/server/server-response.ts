// The ServerResponse class the interface server gives node:http (its documented
// `ServerResponse` option). It tells the request's connection when the response closes, the
// client having gone or the response being done, from its own emit(): a per-request 'close'
// listener costs every response an entry in its listener table and the slower emit that
// comes with one.
import { ServerResponse, type IncomingMessage } from 'node:http';

const EMIT = ServerResponse.prototype.emit;

/** What the response tells when it closes. */
export interface CloseWatcher {
  onClose(): void;
}

export class WatchedResponse<Req extends IncomingMessage = IncomingMessage> extends ServerResponse<Req> {
  /** Set by the connection that answers this request; told once, at 'close'. */
  watcher: CloseWatcher | null = null;

  override emit(event: string | symbol): boolean {
    if (event === 'close') {
      const w = this.watcher;
      if (w !== null) {
        this.watcher = null;
        w.onClose();
      }
    }
    // `arguments` handed on as it is: no array made for the emits of every response.
    // eslint-disable-next-line prefer-rest-params
    return EMIT.apply(this, arguments as unknown as [string | symbol, ...unknown[]]);
  }
}
