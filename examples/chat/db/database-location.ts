// Which database the example uses: an SQLite file (the default) or a PostgreSQL URL, read from
// the `url` / `sqlitePath` options or DATABASE_URL.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StoreError } from './store-error.ts';

export type DatabaseLocation = { dialect: 'sqlite'; path: string } | { dialect: 'postgres'; url: string };

export interface LocationOptions {
  /** A database URL; wins over `sqlitePath` and DATABASE_URL. */
  url?: string;
  /** An SQLite file (relative to the working directory); wins over DATABASE_URL. */
  sqlitePath?: string;
}

/** In the example's own folder, so every process started from anywhere shares one file. */
export const DEFAULT_SQLITE_PATH = fileURLToPath(new URL('../data/chat.sqlite3', import.meta.url));

export const ACCEPTED_URLS =
  'postgres://user:password@host:5432/dbname (or postgresql://…), sqlite:///absolute/path.sqlite3, ' +
  'sqlite:relative/path.sqlite3, file:///absolute/path.sqlite3';

export function databaseLocation(
  options: LocationOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): DatabaseLocation {
  if (options.url !== undefined && options.sqlitePath !== undefined) {
    throw new StoreError('ERR_DATABASE_URL', 'give openStore() either `url` or `sqlitePath`, not both');
  }
  if (options.url !== undefined) return fromUrl(options.url, 'the database URL');
  if (options.sqlitePath !== undefined) return { dialect: 'sqlite', path: sqlitePath(options.sqlitePath) };
  // An empty DATABASE_URL (as `DATABASE_URL= cmd` leaves it) means "not set".
  if (env.DATABASE_URL) return fromUrl(env.DATABASE_URL, 'DATABASE_URL');
  return { dialect: 'sqlite', path: DEFAULT_SQLITE_PATH };
}

function fromUrl(url: string, what: string): DatabaseLocation {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') return { dialect: 'postgres', url };
  if (scheme === 'sqlite' || scheme === 'file') {
    const rest = url.slice(scheme.length + 1);
    return {
      dialect: 'sqlite',
      path: rest.startsWith('//') ? absoluteFromUrl(url, rest, what) : sqlitePath(rest, url, what),
    };
  }
  throw new StoreError(
    'ERR_DATABASE_URL',
    `${what} ${JSON.stringify(redactUrl(url))} is not one this example can use; give one of: ${ACCEPTED_URLS}`,
  );
}

/** `sqlite:///abs/path` and `file:///abs/path`: an empty (or localhost) host, then an absolute path. */
function absoluteFromUrl(url: string, rest: string, what: string): string {
  try {
    return fileURLToPath(`file:${rest}`);
  } catch (err) {
    throw new StoreError(
      'ERR_DATABASE_URL',
      `${what} ${JSON.stringify(url)} names a host or a bad path (${(err as Error).message}); ` +
        'an SQLite file is local: ' +
        'write sqlite:///absolute/path.sqlite3 (three slashes) or sqlite:relative/path.sqlite3',
      { cause: err },
    );
  }
}

function sqlitePath(path: string, url = path, what = 'sqlitePath'): string {
  if (path === '')
    throw new StoreError(
      'ERR_DATABASE_URL',
      `${what} ${JSON.stringify(url)} names no file; give one of: ${ACCEPTED_URLS}`,
    );
  return path === ':memory:' ? path : resolve(path);
}

/** The URL with its password (in the user part or a `password=` parameter) replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    if (parsed.searchParams.has('password')) parsed.searchParams.set('password', '***');
    return parsed.toString();
  } catch {
    // Not a URL `new URL` accepts (an unencoded `@` or `#` in the password, say): cut up to the last `@`.
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*):[^/]*@/i, '$1:***@');
  }
}
