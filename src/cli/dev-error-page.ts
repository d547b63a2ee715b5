// What `canal dev` serves while the app cannot run: a process of its own on the same address that
// answers every HTTP request with a 500 page naming the error and where it is, and refuses
// WebSockets, until a save brings the app back. It loads no app code, so it always starts.
import cluster from 'node:cluster';
import type { Application } from '../asgi/types.ts';
import { createServer } from '../server/server.ts';
import type { ServerOptions } from '../server/options.ts';
import { describeListeners } from './listen-flags.ts';

/** What the supervisor sends the error-page process once it is started. */
export interface ErrorPageOrder {
  canal: 'dev-error-page';
  /** What the app's process printed when it failed: `canal: cannot load …`. */
  error: string;
  /** Where to listen, and TLS: those of the app's server. */
  options: Pick<ServerOptions, 'host' | 'port' | 'tls'>;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

/** The first `/path/file.ts:line[:column]` in an error text, or null. */
export function errorPlace(text: string): string | null {
  return /(?:[A-Za-z]:\\|\/)[^\s:()'"`]+:\d+(?::\d+)?/.exec(text)?.[0] ?? null;
}

/** The 500 page: where the error is, and the whole text of it. */
export function errorPageHtml(error: string): string {
  const text = error.replace(/^canal: /, '').trim();
  const place = errorPlace(text);
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>500: the app failed to load</title>
<style>body{font:15px/1.5 system-ui,sans-serif;margin:2em auto;max-width:60em;padding:0 1em}
pre{background:#fdf0f0;border-left:4px solid #c33;padding:1em;overflow:auto;white-space:pre-wrap}
code{background:#f3f3f3;padding:0 .3em}</style></head>
<body>
<h1>The app failed to load</h1>
${place ? `<p>at <code>${escapeHtml(place)}</code></p>\n` : ''}<pre>${escapeHtml(text)}</pre>
<p>canal dev serves this page until the next save of a file it watches; the terminal shows the same error.</p>
</body>
</html>
`;
}

/** The app of the error-page process: 500 for HTTP, a refusal for WebSockets. */
export function errorPageApp(error: string): Application {
  const body = Buffer.from(errorPageHtml(error));
  return async (scope, receive, send) => {
    if (scope.type === 'lifespan') {
      for (;;) {
        const event = await receive();
        if (event.type === 'lifespan.startup') await send({ type: 'lifespan.startup.complete' });
        else if (event.type === 'lifespan.shutdown') return send({ type: 'lifespan.shutdown.complete' });
      }
    }
    if (scope.type === 'websocket') {
      await receive(); // websocket.connect
      return send({ type: 'websocket.close', code: 1011 });
    }
    if (scope.type !== 'http') return;
    await send({
      type: 'http.response.start',
      status: 500,
      headers: [
        ['content-type', 'text/html; charset=utf-8'],
        ['cache-control', 'no-store'],
      ],
    });
    await send({ type: 'http.response.body', body });
  };
}

/**
 * The error-page process (a cluster worker of `canal dev`): waits for its order, listens, says so,
 * and closes on SIGTERM. SIGINT is the supervisor's to pass on, as for the app's processes.
 */
export function runErrorPage(): Promise<number> {
  process.on('SIGINT', () => {});
  return new Promise<number>((resolveDone) => {
    // Asked for once the listener is in place: a message sent before would be lost.
    process.once('message', async (order: ErrorPageOrder) => {
      const server = createServer(errorPageApp(order.error), { ...order.options, drainTimeoutMs: 1000 });
      process.once('SIGTERM', () => {
        server.close().then(
          () => resolveDone(0),
          () => resolveDone(1),
        );
      });
      try {
        await server.listen();
      } catch (err) {
        console.error(`canal: the error page cannot listen: ${(err as Error).message}`);
        resolveDone(1);
        return;
      }
      const url = describeListeners(server.addresses(), undefined, order.options.tls !== undefined);
      process.send?.({
        canal: 'listening',
        url,
        running: 'the app failed to load: serving its error until the next save',
      });
    });
    process.send?.({ canal: 'dev-error-page-waiting' });
  }).finally(() => cluster.worker?.disconnect());
}
