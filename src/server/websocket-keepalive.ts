// Keepalive and lifetime for open WebSockets: one interval per server walks its sockets,
// instead of a timer per socket (10 000 idle sockets cost one timer, not 10 000). A socket
// that has been quiet (no frame, no pong) for pingIntervalMs gets a ping; one that has not
// answered a ping within pingTimeoutMs is terminated (the peer is gone: no close frame); one
// older than websocketMaxLifetimeMs is closed with 1000. The sweep runs every quarter of the
// shortest of those durations, so each fires at most a quarter late.
import type { ServerContext } from './context.ts';

/** What the sweep needs from a connection (websocket-connection.ts). */
export interface KeptAlive {
  /** When the socket opened (ms since epoch). */
  readonly openedAt: number;
  /** Set on every frame or pong received; cleared by the sweep (cheaper than a clock read per frame). */
  heard: boolean;
  /** When the socket was last heard from, as the sweep saw it. */
  lastSeen: number;
  /** When the unanswered ping was sent; 0 when none is outstanding. */
  pingSentAt: number;
  readonly path: string;
  ping(): void;
  closeWith(code: number, reason: string): void;
  terminate(): void;
}

/** One server's sweep (ServerContext.keepaliveSweep). */
export interface KeepaliveSweep {
  readonly sockets: Set<KeptAlive>;
  readonly timer: NodeJS.Timeout;
}

function sweep(ctx: ServerContext, sockets: Set<KeptAlive>): void {
  const { pingIntervalMs, pingTimeoutMs, websocketMaxLifetimeMs } = ctx.options;
  const now = Date.now();
  for (const conn of sockets) {
    if (websocketMaxLifetimeMs > 0 && now - conn.openedAt >= websocketMaxLifetimeMs) {
      ctx.log.debug(`${conn.path}: open for ${now - conn.openedAt} ms, the maximum lifetime; closing`);
      conn.closeWith(1000, 'maximum connection lifetime reached');
      continue;
    }
    if (pingIntervalMs <= 0) continue;
    if (conn.heard) {
      conn.heard = false;
      conn.lastSeen = now;
      conn.pingSentAt = 0;
      continue;
    }
    if (conn.pingSentAt !== 0) {
      if (now - conn.pingSentAt >= pingTimeoutMs) {
        ctx.log.debug(`${conn.path}: no pong within ${pingTimeoutMs} ms of a ping; terminating`);
        conn.terminate();
      }
    } else if (now - conn.lastSeen >= pingIntervalMs) {
      conn.pingSentAt = now;
      conn.ping();
    }
  }
}

function periodOf(ctx: ServerContext): number {
  const { pingIntervalMs, pingTimeoutMs, websocketMaxLifetimeMs } = ctx.options;
  const durations = (pingIntervalMs > 0 ? [pingIntervalMs, pingTimeoutMs] : []).concat(
    websocketMaxLifetimeMs > 0 ? [websocketMaxLifetimeMs] : [],
  );
  return Math.max(10, Math.floor(Math.min(...durations.filter((d) => d > 0)) / 4));
}

export const keepalive = {
  add(ctx: ServerContext, conn: KeptAlive): void {
    const { pingIntervalMs, websocketMaxLifetimeMs } = ctx.options;
    if (pingIntervalMs <= 0 && websocketMaxLifetimeMs <= 0) return;
    let s = ctx.keepaliveSweep;
    if (s === null) {
      const sockets = new Set<KeptAlive>();
      const timer = setInterval(() => sweep(ctx, sockets), periodOf(ctx));
      timer.unref();
      ctx.keepaliveSweep = s = { sockets, timer };
    }
    s.sockets.add(conn);
  },
  remove(ctx: ServerContext, conn: KeptAlive): void {
    const s = ctx.keepaliveSweep;
    if (s === null) return;
    s.sockets.delete(conn);
    if (s.sockets.size === 0) {
      // No timer while no socket is open (an idle server does no work).
      clearInterval(s.timer);
      ctx.keepaliveSweep = null;
    }
  },
  stop(ctx: ServerContext): void {
    const s = ctx.keepaliveSweep;
    if (s !== null) clearInterval(s.timer);
    ctx.keepaliveSweep = null;
  },
};
