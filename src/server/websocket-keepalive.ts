// Keepalive and lifetime for open WebSockets: one sweep per server walks its sockets, instead
// of timers per socket. A socket quiet for pingIntervalMs gets a ping; one that has said
// nothing (no frame, no pong) for pingTimeoutMs is terminated; one older than
// websocketMaxLifetimeMs is closed with 1000.
import type { ServerContext } from './context.js';
import type { WebsocketConnection } from './websocket-connection.js';

interface Sweep {
  sockets: Set<WebsocketConnection>;
  timer: NodeJS.Timeout;
}

const sweeps = new WeakMap<ServerContext, Sweep>();

function sweep(ctx: ServerContext, sockets: Set<WebsocketConnection>): void {
  const { pingIntervalMs, pingTimeoutMs, websocketMaxLifetimeMs } = ctx.options;
  const now = Date.now();
  for (const conn of sockets) {
    if (websocketMaxLifetimeMs > 0 && now - conn.openedAt >= websocketMaxLifetimeMs) {
      conn.closeWith(1000, 'maximum connection lifetime reached');
      continue;
    }
    if (pingIntervalMs <= 0) continue;
    const quiet = now - conn.lastSeen;
    if (quiet >= pingTimeoutMs) {
      ctx.log.debug(`${conn.scope.path}: no pong for ${quiet} ms; terminating`);
      conn.terminate();
    } else if (quiet >= pingIntervalMs && !conn.pingSent) {
      conn.pingSent = true;
      conn.ws?.ping();
    }
  }
}

export const keepalive = {
  add(ctx: ServerContext, conn: WebsocketConnection): void {
    const { pingIntervalMs, pingTimeoutMs, websocketMaxLifetimeMs } = ctx.options;
    if (pingIntervalMs <= 0 && websocketMaxLifetimeMs <= 0) return;
    let s = sweeps.get(ctx);
    if (!s) {
      const every = Math.max(10, Math.floor(Math.min(...[pingIntervalMs, pingTimeoutMs, websocketMaxLifetimeMs].filter((v) => v > 0)) / 4));
      const sockets = new Set<WebsocketConnection>();
      const timer = setInterval(() => sweep(ctx, sockets), every);
      timer.unref();
      sweeps.set(ctx, (s = { sockets, timer }));
    }
    s.sockets.add(conn);
  },
  remove(ctx: ServerContext, conn: WebsocketConnection): void {
    sweeps.get(ctx)?.sockets.delete(conn);
  },
  stop(ctx: ServerContext): void {
    const s = sweeps.get(ctx);
    if (s) clearInterval(s.timer);
    sweeps.delete(ctx);
  },
};
