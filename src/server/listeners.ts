// Where the server listens: the `listen` option, a list of TCP addresses, unix sockets and
// descriptors handed over (systemd socket activation, a supervisor), all served by one process
// with one set of connections, limits and one graceful close (docs/server.md, Listeners).
import { chmod, lstat, unlink } from 'node:fs/promises';
import { connect, type Server as NetServer } from 'node:net';
import { InvalidOptionError, ListenError } from '../errors.ts';
import type { TransportServer } from './transport.ts';

/** One place to listen on. */
export type ListenTarget =
  /** A TCP address; port 0 picks a free one. */
  | { host: string; port: number }
  /** A unix domain socket; `mode` (e.g. 0o660) is set on the socket file once it is made. */
  | { path: string; mode?: number }
  /** A listening socket this process inherited, by descriptor number (systemd: 3 onwards). */
  | { fd: number };

/** Where a listener is, once listening: a TCP address, or a unix socket's path. */
export type ListenAddress = { host: string; port: number } | { path: string };

const wholeNumber = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** Checks the `listen` option: a non-empty list of targets, each of one kind. */
export function checkListenTargets(list: unknown): ListenTarget[] {
  if (!Array.isArray(list) || list.length === 0) {
    throw new InvalidOptionError(
      `server option 'listen' must be a non-empty list of { host, port }, { path, mode? } or { fd }`,
    );
  }
  const paths = new Set<string>();
  return list.map((t, i): ListenTarget => {
    const where = `server option 'listen[${i}]'`;
    if (t === null || typeof t !== 'object') throw new InvalidOptionError(`${where} must be an object, not ${t}`);
    const keys = Object.keys(t).sort().join(',');
    if (keys === 'host,port') {
      if (typeof t.host !== 'string' || t.host === '') throw new InvalidOptionError(`${where}.host must be a host`);
      if (!wholeNumber(t.port) || t.port > 65535) {
        throw new InvalidOptionError(`${where}.port must be 0–65535, not ${String(t.port)}`);
      }
      return { host: t.host, port: t.port };
    }
    if (keys === 'path' || keys === 'mode,path') {
      if (typeof t.path !== 'string' || t.path === '') throw new InvalidOptionError(`${where}.path must be a path`);
      if (paths.has(t.path)) throw new InvalidOptionError(`${where}: ${t.path} is listed twice`);
      paths.add(t.path);
      if (t.mode !== undefined && (!wholeNumber(t.mode) || t.mode > 0o777)) {
        throw new InvalidOptionError(`${where}.mode must be permission bits such as 0o660, not ${String(t.mode)}`);
      }
      return t.mode === undefined ? { path: t.path } : { path: t.path, mode: t.mode };
    }
    if (keys === 'fd') {
      if (!wholeNumber(t.fd)) throw new InvalidOptionError(`${where}.fd must be a descriptor number, not ${t.fd}`);
      return { fd: t.fd };
    }
    throw new InvalidOptionError(
      `${where} must be { host, port }, { path, mode? } or { fd }, not an object with keys ${keys || '(none)'}`,
    );
  });
}

/** How a target is named in messages: `127.0.0.1:8000`, `unix socket /run/canal.sock`, `fd 3`. */
export function describeTarget(t: ListenTarget): string {
  if ('fd' in t) return `fd ${t.fd}`;
  if ('path' in t) return `unix socket ${t.path}`;
  return `${t.host}:${t.port}`;
}

/**
 * A unix socket file left by a server that is gone (killed, crashed) is removed; one that a
 * live server answers on is not: that is a second server started by mistake.
 */
async function clearStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!isSocket) {
    throw new ListenError(`cannot listen on unix socket ${path}: a file that is not a socket is there; remove it`);
  }
  const answer = await new Promise<string>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve('live');
    });
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
  if (answer === 'live') {
    throw new ListenError(`cannot listen on unix socket ${path}: a server is listening on it; stop it first`);
  }
  if (answer !== 'ECONNREFUSED') {
    throw new ListenError(`cannot listen on unix socket ${path}: ${answer} when checking the socket file there`);
  }
  await unlink(path);
}

/**
 * Listens on one target. TCP goes through TransportServer.listen(port, host); a unix socket or a
 * descriptor through node's listen({ path } | { fd }), which node:http and node:https servers take.
 */
export async function listenOn(server: TransportServer, target: ListenTarget): Promise<void> {
  if ('path' in target) await clearStaleSocket(target.path);
  await new Promise<void>((resolve, reject) => {
    const failed = (err: Error) => reject(listenFailure(err, target));
    server.once('error', failed);
    const listening = () => {
      server.off('error', failed);
      resolve();
    };
    if ('host' in target) server.listen(target.port, target.host, listening);
    else (server as unknown as NetServer).listen('fd' in target ? { fd: target.fd } : { path: target.path }, listening);
  });
  if ('path' in target && target.mode !== undefined) await chmod(target.path, target.mode);
}

/** Errors of unix sockets and descriptors, named; TCP errors go on as they are (the CLI names them). */
function listenFailure(err: Error, target: ListenTarget): Error {
  if ('host' in target) return err;
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === 'EBADF' || code === 'ENOTSOCK' || code === 'EINVAL'
      ? `${code}: it is not a listening socket this process has (is it handed over, e.g. by systemd?)`
      : code === 'EACCES'
        ? 'permission denied'
        : code === 'EADDRINUSE'
          ? 'the address is in use'
          : err.message;
  return new ListenError(`cannot listen on ${describeTarget(target)}: ${why}`, { cause: err });
}

/** Where a listening server is: its TCP address, or its unix socket's path. */
export function listenAddress(server: TransportServer, target: ListenTarget): ListenAddress | null {
  const a = server.address();
  if (a === null) return null;
  if (typeof a === 'string') return { path: a };
  if ('path' in target) return { path: target.path };
  return { host: a.address, port: a.port };
}
