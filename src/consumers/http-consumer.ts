// HttpConsumer: collects the request body, calls handle(body); answers with sendResponse, or
// streams with sendHeaders + sendBody, or with Server-Sent Events. A handler may return
// without answering (long-polling: join a group, answer from a layer message handler). When
// the client goes away, disconnect() runs and the instance ends. parseForm/parseJson read the
// body; a FormError escaping handle() is answered with its status (400, 413, 415).
import type { HeaderInput, HttpRequestEvent, HttpScope, RoutedScope } from '../asgi/types.ts';
import { FormError, InvalidEventError, InvalidOptionError, SendAfterCloseError, StopConsumer } from '../errors.ts';
import { parseForm, type FormOptions, type ParsedForm } from '../request/forms.ts';
import { parseJson } from '../request/parse-json.ts';
import { queryParams } from '../request/query-params.ts';
import type { LayerMessage, TypedMessage } from '../layers/types.ts';
import { SETTLED } from '../asgi/settled.ts';
import { AsyncConsumer } from './async-consumer.ts';
import { reserveApiNames } from './handlers.ts';

// The body of a request without one (most GETs): one shared, empty, read-only Buffer.
const EMPTY_BODY = Buffer.alloc(0);
const TEXT_PLAIN: HeaderInput = [['content-type', 'text/plain; charset=utf-8']];

export interface ServerSentEvent {
  data: string | object;
  event?: string;
  id?: string;
  retry?: number;
}

/**
 * `M`: the layer messages it handles (long-polling, SSE). `K`: the route's kwargs
 * (`this.scope.url_route.kwargs`), strings unless said otherwise: `HttpConsumer<M, { id: number }>`
 * for `<int:id>`.
 */
export class HttpConsumer<
  M extends TypedMessage = LayerMessage,
  K extends object = Record<string, string>,
> extends AsyncConsumer<M, RoutedScope<HttpScope, K>> {
  /**
   * Largest request body read, in bytes; a larger one is answered with 413 and handle() is not
   * called. An init option: `MyConsumer.asApp({ maxBodyBytes: 1024 })`. @default 10 MiB
   */
  maxBodyBytes = 10 * 1024 * 1024;
  #chunks: Buffer[] | null = null;
  #size = 0;
  #started = false;
  #finished = false;

  /** The request's query string, parsed anew on each read: `this.query.get('page')`. */
  get query(): URLSearchParams {
    return queryParams(this.scope);
  }

  /** True once sendHeaders (or startEventStream) has run. */
  get responseStarted(): boolean {
    return this.#started;
  }

  // Not async (nor sendBody): a request costs no promise of its own here, only handle()'s.
  // A FormError escaping handle() is answered by recoverFrom().
  http_request(event: HttpRequestEvent): Promise<void> | void {
    if (this.#started) return; // the body was refused (413); the rest of it is ignored
    if (event.body?.length) {
      this.#size += event.body.length;
      if (this.#size > this.maxBodyBytes) {
        this.#chunks = null;
        return this.sendResponse(413, `request body over ${this.maxBodyBytes} bytes (maxBodyBytes)`);
      }
      (this.#chunks ??= []).push(event.body);
    }
    if (event.more_body) return;
    const chunks = this.#chunks;
    const body = chunks === null ? EMPTY_BODY : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    this.#chunks = null;
    return this.handle(body);
  }

  /** A FormError from a handler (parseForm, parseJson) before the response started: answered with its status. */
  protected override async recoverFrom(err: unknown): Promise<boolean> {
    if (!(err instanceof FormError) || this.#started) return false;
    await this.sendResponse(err.status, err.message + '\n');
    return true;
  }

  /** The body as a form (urlencoded or multipart): `{ fields, lists, files }`; see docs/forms.md. */
  parseForm(body: Buffer, options?: FormOptions): Promise<ParsedForm> {
    return parseForm(this.scope, body, options);
  }

  /** The body as JSON; refuses a content-type other than application/json (415). */
  parseJson(body: Buffer): unknown {
    return parseJson(this.scope, body);
  }

  /** Called once with the whole request body. Answer, or hold the request. */
  async handle(body: Buffer): Promise<void> {
    void body;
    await this.sendResponse(405, 'Method Not Allowed');
  }

  async http_disconnect(): Promise<void> {
    await this.disconnect();
    throw new StopConsumer();
  }

  /** Called when the client has gone away (or the response was sent). */
  async disconnect(): Promise<void> {}

  /** Starts the response. Call once, before sendBody. */
  // Not async (nor sendResponse): the server's promise is handed back as it is, one turn less
  // per response; refusals are still rejections, never synchronous throws.
  sendHeaders({ status = 200, headers = [] }: { status?: number; headers?: HeaderInput } = {}): Promise<void> {
    return this.#start('sendHeaders', status, headers);
  }

  #start(caller: string, status: number, headers: HeaderInput): Promise<void> {
    if (this.#started)
      return Promise.reject(
        new InvalidEventError(
          `${this.constructor.name}.${caller}(): the response has already started; headers go out once`,
        ),
      );
    if (!Number.isInteger(status) || status < 100 || status > 999) {
      return Promise.reject(
        new InvalidOptionError(
          `${this.constructor.name}.${caller}(): status must be an HTTP status code (100-999), not ${String(status)}`,
        ),
      );
    }
    this.#started = true;
    return this.baseSend({ type: 'http.response.start', status, headers });
  }

  /**
   * Sends a body chunk. `moreBody: true` keeps the response open (streaming, long-polling);
   * the last chunk (moreBody false, the default) ends the response, runs disconnect() and
   * ends the instance once the current handler returns.
   */
  sendBody(body: Buffer | Uint8Array | string, { moreBody = false }: { moreBody?: boolean } = {}): Promise<void> {
    if (!this.#started)
      return Promise.reject(new InvalidEventError(`${this.constructor.name}.sendBody(): call sendHeaders() first`));
    if (this.#finished)
      return Promise.reject(
        new SendAfterCloseError(`${this.constructor.name}.sendBody(): the response has already ended`),
      );
    if (!moreBody) this.#finished = true;
    const sent = this.baseSend({ type: 'http.response.body', body, more_body: moreBody });
    if (moreBody) return sent;
    // The base disconnect() does nothing: without one of its own, the instance ends once the
    // current handler returns (if the send fails, that handler raises, as it would anyway).
    if (this.disconnect === NO_DISCONNECT) {
      this.stop();
      return sent;
    }
    return this.#endAfter(sent);
  }

  async #endAfter(sent: Promise<void>): Promise<void> {
    await sent;
    await this.disconnect();
    this.stop();
  }

  /** A whole response at once. Headers default to a UTF-8 text/plain content type. */
  // Not async: a start the server took in full before returning (its internal SETTLED) is
  // followed by the body in the same turn; any other start is waited for, as an await would.
  sendResponse(status: number, body: Buffer | Uint8Array | string, headers: HeaderInput = TEXT_PLAIN): Promise<void> {
    const started = this.#start('sendResponse', status, headers);
    if (started === SETTLED) return this.sendBody(body);
    return started.then(() => this.sendBody(body));
  }

  /** Starts a Server-Sent Events stream (200, text/event-stream, no caching or proxy buffering). */
  async startEventStream(headers: [string, string][] = []): Promise<void> {
    await this.sendHeaders({
      status: 200,
      headers: [
        ['content-type', 'text/event-stream; charset=utf-8'],
        ['cache-control', 'no-cache'],
        ['x-accel-buffering', 'no'],
        ...headers,
      ],
    });
  }

  /** Sends one Server-Sent Event (objects are JSON-encoded; multi-line data is split). */
  async sendEvent({ data, event, id, retry }: ServerSentEvent): Promise<void> {
    let out = '';
    if (event) out += `event: ${event.replace(/[\r\n]/g, ' ')}\n`;
    if (id) out += `id: ${id.replace(/[\r\n]/g, ' ')}\n`;
    if (retry !== undefined) {
      if (!Number.isFinite(retry) || retry < 0)
        throw new InvalidOptionError(`sendEvent(): retry is a delay in ms (a number >= 0), not ${String(retry)}`);
      out += `retry: ${Math.floor(retry)}\n`;
    }
    const text = typeof data === 'string' ? data : JSON.stringify(data);
    for (const line of text.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
    await this.sendBody(out + '\n', { moreBody: true });
  }

  /** Sends an SSE comment line (`: text`); clients ignore it, so it keeps idle proxies from closing the stream. */
  async sendComment(text = ''): Promise<void> {
    await this.sendBody(`: ${text.replace(/[\r\n]+/g, ' ')}\n\n`, { moreBody: true });
  }
}

const NO_DISCONNECT = HttpConsumer.prototype.disconnect;

reserveApiNames(HttpConsumer.prototype);

export { HttpConsumer as AsyncHttpConsumer };
