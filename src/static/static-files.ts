// StaticFiles: an HTTP app serving the files of one folder (page scripts, styles, images),
// as Starlette's StaticFiles and serve-static do: content types, Cache-Control, ETag and
// Last-Modified with 304s, byte ranges (several as multipart/byteranges), and a path check
// that never leaves the folder.
// Mounted under a URLRouter prefix it serves the rest of the path; the file is streamed in
// chunks, each send awaited (the server's backpressure), until the client goes away.
import { realpathSync, statSync, type Stats } from 'node:fs';
import { open, realpath, stat, type FileHandle } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { Application, HttpReceiveEvent, HttpScope, HttpSendEvent, Receive, Send } from '../asgi/types.ts';
import { InvalidOptionError, SendAfterCloseError, UnknownScopeTypeError } from '../errors.ts';
import { requestHeader } from '../request/request-header.ts';
import { createLogger } from '../logging.ts';
import { NESTED } from '../routing/path-pattern.ts';
import { PATH_REMAINING } from '../routing/url-router.ts';
import { parseByteRanges } from './byte-range.ts';
import { contentTypeFor } from './content-types.ts';
import { multipartByteranges, pieceLength, type BodyPiece } from './multipart-byteranges.ts';
import { safeSegments } from './safe-path.ts';
import { etagOf, isNotModified, rangeStillValid } from './validators.ts';

const log = createLogger('static');
const CHUNK_BYTES = 64 * 1024;
// Errors that mean "no such file here"; anything else (EMFILE, EIO) is a real failure.
const MISSING = new Set(['ENOENT', 'ENOTDIR', 'EACCES', 'EPERM', 'ELOOP', 'ENAMETOOLONG', 'EISDIR', 'EINVAL']);

export type StaticHeaders = Record<string, string> | Iterable<readonly [string, string]>;

export interface StaticFilesOptions {
  /** The folder to serve (relative to the working directory). It must exist when StaticFiles is made. */
  directory: string;
  /**
   * How long browsers and proxies may reuse a file without asking again, in ms:
   * `Cache-Control: public, max-age=<seconds>`. 0 sends `no-cache`: reuse after revalidating,
   * which costs a 304. @default 0
   */
  maxAgeMs?: number;
  /**
   * Adds `immutable` to Cache-Control, for fingerprinted names (`app.3f2a1c.js`) that never
   * change: browsers skip even revalidating. Needs maxAgeMs > 0. @default false
   */
  immutable?: boolean;
  /** The file served for a folder (`/static/docs/` → docs/index.html); false serves none. @default 'index.html' */
  index?: string | false;
  /** Serve names starting with '.' (`.env`, `.git/`); refused with 404 unless true. @default false */
  dotfiles?: boolean;
  /**
   * Extra response headers for a file, by its path relative to `directory` ('css/app.css').
   * A header returned here replaces the default of the same name (e.g. another cache-control).
   * @default none
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a hook that adds nothing may return nothing
  headers?: (path: string, stats: Stats) => StaticHeaders | undefined | void;
}

interface Resolved {
  root: string;
  cacheControl: string;
  index: string | false;
  dotfiles: boolean;
  headers: StaticFilesOptions['headers'] | undefined;
}

const KNOWN = new Set(['directory', 'maxAgeMs', 'immutable', 'index', 'dotfiles', 'headers']);

function resolveOptions(options: StaticFilesOptions): Resolved {
  if (options === null || typeof options !== 'object')
    throw new InvalidOptionError(
      `StaticFiles takes an options object ({ directory }), not ${options === null ? 'null' : typeof options}`,
    );
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key))
      throw new InvalidOptionError(`StaticFiles: unknown option '${key}'; known: ${[...KNOWN].join(', ')}`);
  }
  const { directory, maxAgeMs = 0, immutable = false, index = 'index.html', dotfiles = false, headers } = options;
  if (typeof directory !== 'string' || directory === '')
    throw new InvalidOptionError(
      `StaticFiles: directory must be the path of a folder, not ${JSON.stringify(directory)}`,
    );
  const abs = resolve(directory);
  let info: Stats;
  try {
    info = statSync(abs);
  } catch {
    throw new InvalidOptionError(
      `StaticFiles: directory ${JSON.stringify(directory)} does not exist (looked for ${abs}); ` +
        `create it or fix the path`,
    );
  }
  if (!info.isDirectory())
    throw new InvalidOptionError(`StaticFiles: directory ${JSON.stringify(directory)} is not a folder (${abs})`);
  if (typeof maxAgeMs !== 'number' || !Number.isFinite(maxAgeMs) || maxAgeMs < 0) {
    throw new InvalidOptionError(
      `StaticFiles: maxAgeMs must be a number of milliseconds >= 0, not ${JSON.stringify(maxAgeMs)}`,
    );
  }
  if (typeof immutable !== 'boolean')
    throw new InvalidOptionError(`StaticFiles: immutable must be true or false, not ${JSON.stringify(immutable)}`);
  if (immutable && maxAgeMs === 0)
    throw new InvalidOptionError(
      'StaticFiles: immutable needs maxAgeMs > 0 (e.g. 31_536_000_000, a year); ' +
        'with maxAgeMs 0 every use is revalidated',
    );
  if (
    index !== false &&
    (typeof index !== 'string' || index === '' || index === '.' || index === '..' || /[/\\\0]/.test(index))
  ) {
    throw new InvalidOptionError(
      `StaticFiles: index must be a file name ('index.html') or false, not ${JSON.stringify(index)}`,
    );
  }
  if (typeof dotfiles !== 'boolean')
    throw new InvalidOptionError(`StaticFiles: dotfiles must be true or false, not ${JSON.stringify(dotfiles)}`);
  if (headers !== undefined && typeof headers !== 'function')
    throw new InvalidOptionError(
      `StaticFiles: headers must be a function (path, stats) => headers, not ${typeof headers}`,
    );
  const seconds = Math.floor(maxAgeMs / 1000);
  return {
    root: realpathSync(abs),
    cacheControl: maxAgeMs === 0 ? 'no-cache' : `public, max-age=${seconds}${immutable ? ', immutable' : ''}`,
    index,
    dotfiles,
    headers,
  };
}

/** The path this app serves: what an outer router left, else the path without root_path. */
function relativePath(scope: HttpScope): string {
  const remaining = (scope as HttpScope & { [PATH_REMAINING]?: unknown })[PATH_REMAINING];
  if (typeof remaining === 'string') return remaining;
  let p = scope.path;
  const root = scope.root_path;
  if (root && root !== '/' && (p === root || p.startsWith(root.endsWith('/') ? root : root + '/')))
    p = p.slice(root.replace(/\/$/, '').length);
  return p.replace(/^\//, '');
}

/** The real path of `candidate` if it exists inside `root` (symlinks resolved); else null. */
async function inside(root: string, candidate: string): Promise<string | null> {
  let real: string;
  try {
    real = await realpath(candidate);
  } catch (err) {
    if (MISSING.has((err as NodeJS.ErrnoException).code ?? '')) return null;
    throw err;
  }
  return real === root || real.startsWith(root.endsWith(sep) ? root : root + sep) ? real : null;
}

async function statOrNull(path: string): Promise<Stats | null> {
  try {
    return await stat(path);
  } catch (err) {
    if (MISSING.has((err as NodeJS.ErrnoException).code ?? '')) return null;
    throw err;
  }
}

type Found = { file: string; name: string } | { redirect: string } | null;

/** Finds the file for the request's segments: a file, a folder's index, or a redirect to add '/'. */
async function locate(o: Resolved, segments: string[]): Promise<Found> {
  const trailing = segments[segments.length - 1] === '';
  const parts = trailing ? segments.slice(0, -1) : segments;
  const target = await inside(o.root, join(o.root, ...parts));
  if (target === null) return null;
  const info = await statOrNull(target);
  if (info === null) return null;
  if (info.isFile()) return trailing ? null : { file: target, name: parts.join('/') };
  if (!info.isDirectory() || o.index === false) return null;
  const index = await inside(o.root, join(target, o.index));
  if (index === null || !(await statOrNull(index))?.isFile()) return null;
  // As serve-static: a folder without its '/' is redirected, so the page's relative links work.
  if (!trailing) return { redirect: parts[parts.length - 1] ?? '' };
  return { file: index, name: [...parts, o.index].join('/') };
}

async function plain(send: Send, status: number, text: string, headers: [string, string][] = []): Promise<void> {
  const body = Buffer.from(text + '\n');
  await send({
    type: 'http.response.start',
    status,
    headers: [
      ['content-type', 'text/plain; charset=utf-8'],
      ['content-length', String(body.length)],
      ['x-content-type-options', 'nosniff'],
      ...headers,
    ],
  });
  await send({ type: 'http.response.body', body });
}

/** Default headers with the hook's added; a hook header replaces a default of the same name. */
// biome-ignore lint/suspicious/noConfusingVoidType: takes what the headers hook returned
function mergeHeaders(defaults: [string, string][], extra: StaticHeaders | undefined | void): [string, string][] {
  if (!extra) return defaults;
  const pairs: [string, string][] = (
    Symbol.iterator in extra ? [...(extra as Iterable<readonly [string, string]>)] : Object.entries(extra)
  ).map(([k, v]) => [String(k).toLowerCase(), String(v)]);
  const replaced = new Set(pairs.map(([k]) => k));
  return [...defaults.filter(([k]) => !replaced.has(k)), ...pairs];
}

/** Resolves when the client has gone (an `http.disconnect`); the request body is discarded. */
async function disconnected(receive: Receive): Promise<void> {
  for (;;) {
    const event = (await receive()) as HttpReceiveEvent;
    if (event.type === 'http.disconnect') return;
  }
}

/**
 * Sends the body's pieces, the file's ranges read in chunks, and closes the file. Returns
 * false if the client went away first. Each send is awaited, so a slow client holds back the
 * reads and memory stays flat.
 */
async function streamBody(handle: FileHandle, pieces: BodyPiece[], receive: Receive, send: Send): Promise<boolean> {
  let gone = false;
  void disconnected(receive).then(() => (gone = true));
  let left = pieces.reduce((sum, piece) => sum + pieceLength(piece), 0);
  const emit = async (body: Buffer): Promise<void> => {
    left -= body.length;
    await send({ type: 'http.response.body', body, more_body: left > 0 });
  };
  try {
    for (const piece of pieces) {
      if (Buffer.isBuffer(piece)) {
        await emit(piece);
        if (gone) return false;
        continue;
      }
      const end = piece.end + 1;
      for (let at = piece.start; at < end; ) {
        // A new buffer for each chunk: the server may still hold the last one.
        const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, end - at));
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, at);
        if (gone) return false;
        // Raising after the headers went out makes the server cut the response rather than
        // end it short of its content-length.
        if (bytesRead === 0) {
          const missing = `${end - at} of ${end - piece.start} bytes missing`;
          throw new Error(`the file was truncated while being sent (${missing})`);
        }
        at += bytesRead;
        await emit(chunk.subarray(0, bytesRead));
        if (gone) return false;
      }
    }
    return true;
  } catch (err) {
    if (gone || err instanceof SendAfterCloseError) return false;
    throw err;
  } finally {
    await handle.close();
  }
}

async function serve(o: Resolved, scope: HttpScope, receive: Receive, send: Send): Promise<void> {
  const line = `${scope.method} ${scope.path}`;
  if (scope.method !== 'GET' && scope.method !== 'HEAD') {
    log.debug(`${line} → 405`);
    return plain(send, 405, 'Method Not Allowed', [['allow', 'GET, HEAD']]);
  }
  const segments = safeSegments(relativePath(scope), scope.raw_path, o.dotfiles);
  const found = segments && (await locate(o, segments));
  if (found && 'redirect' in found) {
    const query = scope.query_string.length ? '?' + scope.query_string.toString('latin1') : '';
    // './' keeps a segment such as "a:b" from reading as a URL scheme.
    const raw = scope.raw_path.toString('latin1');
    const location = `./${raw.slice(raw.lastIndexOf('/') + 1)}/${query}`;
    log.debug(`${line} → 301 ${location}`);
    return plain(send, 301, 'Moved Permanently', [['location', location]]);
  }
  let handle: FileHandle | null = null;
  if (found) {
    try {
      handle = await open(found.file, 'r');
    } catch (err) {
      if (!MISSING.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
    }
  }
  if (!found || !handle) {
    log.debug(`${line} → 404${segments ? '' : ' (refused path)'}`);
    return plain(send, 404, 'Not Found');
  }
  let streaming = false;
  try {
    // Headers describe the file as opened, not as it was when looked up.
    const info = await handle.stat();
    if (!info.isFile()) {
      log.debug(`${line} → 404 (not a regular file)`);
      return plain(send, 404, 'Not Found');
    }
    const etag = etagOf(info);
    const headers = mergeHeaders(
      [
        ['content-type', contentTypeFor(found.name)],
        ['etag', etag],
        ['last-modified', new Date(info.mtimeMs).toUTCString()],
        ['cache-control', o.cacheControl],
        ['accept-ranges', 'bytes'],
        ['x-content-type-options', 'nosniff'],
      ],
      o.headers?.(found.name, info),
    );
    const h = scope.headers;
    if (isNotModified(requestHeader(h, 'if-none-match'), requestHeader(h, 'if-modified-since'), etag, info.mtimeMs)) {
      log.debug(`${line} → 304 ${found.name}`);
      await send({ type: 'http.response.start', status: 304, headers: headers.filter(([k]) => k !== 'content-type') });
      return void (await send({ type: 'http.response.body' }));
    }
    const size = info.size;
    let status = 200;
    let pieces: BodyPiece[] = size > 0 ? [{ start: 0, end: size - 1 }] : [];
    let length = size;
    let what = '';
    const rangeHeader = requestHeader(h, 'range');
    if (rangeHeader !== null && rangeStillValid(requestHeader(h, 'if-range'), etag, info.mtimeMs)) {
      const ranges = parseByteRanges(rangeHeader, size);
      if (ranges === 'unsatisfiable') {
        log.debug(`${line} → 416 ${found.name} (${rangeHeader}, ${size} bytes)`);
        return plain(send, 416, 'Range Not Satisfiable', [['content-range', `bytes */${size}`]]);
      }
      if (ranges?.length === 1) {
        const range = ranges[0]!;
        status = 206;
        pieces = [range];
        length = range.end - range.start + 1;
        headers.push(['content-range', `bytes ${range.start}-${range.end}/${size}`]);
      } else if (ranges) {
        // Each part has the file's own type (the headers hook's, if it gave one); the
        // response's is the multipart one.
        const type = headers.findIndex(([k]) => k === 'content-type');
        const body = multipartByteranges(ranges, headers[type]![1], size);
        headers[type] = ['content-type', body.contentType];
        status = 206;
        pieces = body.pieces;
        length = body.length;
        what = `, ${ranges.length} ranges`;
      }
    }
    headers.push(['content-length', String(length)]);
    log.debug(`${line} → ${status} ${found.name} (${length} bytes${what})`);
    await send({ type: 'http.response.start', status, headers } satisfies HttpSendEvent);
    if (scope.method === 'HEAD' || length === 0) return void (await send({ type: 'http.response.body' }));
    streaming = true;
    const complete = await streamBody(handle, pieces, receive, send);
    if (!complete) log.debug(`${line}: the client went away during ${found.name}`);
  } catch (err) {
    if (err instanceof SendAfterCloseError) return log.debug(`${line}: the client went away`);
    throw err;
  } finally {
    if (!streaming) await handle.close();
  }
}

function StaticFilesImpl(options: StaticFilesOptions): Application {
  const o = resolveOptions(options);
  const app: Application = async (scope, receive, send) => {
    if (scope.type !== 'http') {
      throw new UnknownScopeTypeError(
        `StaticFiles serves http scopes, not '${scope.type}'; route only HTTP to it (ProtocolTypeRouter({ http: … }))`,
      );
    }
    await serve(o, scope, receive, send);
  };
  // Marked as a router, so that path('static/', StaticFiles(…)) matches a prefix and hands on the rest.
  (app as unknown as Record<symbol, boolean>)[NESTED] = true;
  return app;
}

/** `path('static/', StaticFiles({ directory: 'public', maxAgeMs: 3_600_000 }))`, with or without `new`. */
export const StaticFiles = StaticFilesImpl as unknown as {
  (options: StaticFilesOptions): Application;
  new (options: StaticFilesOptions): Application;
};
