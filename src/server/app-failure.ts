// What the server logs when an app raises. A bug is an ERROR with its stack, once per instance.
// Two failures are not bugs and could come once per connection, so they are logged without a
// stack and their repeats counted (RepeatedLog): a send that found the connection already gone
// (the client left, or shutdown cut the response: info, not an app error), and a channel layer
// that cannot be reached (warn; the layer's own line says where it is).
import type { ServerContext } from './context.ts';

function codeOf(err: unknown): unknown {
  return err !== null && typeof err === 'object' ? (err as { code?: unknown }).code : undefined;
}

/**
 * Logs that the app of `method path` raised `err`; `ended` says whether its connection had
 * already ended. Counts it in stats().appErrors unless it was only told so by a failed send.
 */
export function reportAppFailure(ctx: ServerContext, method: string, path: string, err: unknown, ended: boolean): void {
  const code = codeOf(err);
  const where = `${method} ${path}`;
  if (ended && code === 'ERR_SEND_AFTER_CLOSE') {
    ctx.repeated.info.note(
      'applications that raised on a send after their connection ended',
      `${where}: the connection ended (client gone or shutdown) while the application was sending; ` +
        'it raised ERR_SEND_AFTER_CLOSE',
    );
    return;
  }
  ctx.stats.appErrors++;
  if (code === 'ERR_LAYER_UNAVAILABLE') {
    ctx.repeated.warn.note(
      'applications that failed on an unreachable channel layer',
      `${where}: the application failed, the channel layer is unreachable: ${(err as Error).message}`,
    );
    return;
  }
  ctx.log.error(`${where}: the application raised`, err);
}
