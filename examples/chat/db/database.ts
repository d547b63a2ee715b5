// Opens the Kysely database for a location: better-sqlite3 for a file, a pg pool for PostgreSQL.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, type PostgresPool } from 'kysely';
import pg from 'pg';
import { createLogger } from 'canaljs';
import { redactUrl, type DatabaseLocation } from './database-location.ts';
import type { Database } from './schema.ts';
import { ImmediateSqliteDialect } from './sqlite-dialect.ts';
import { StoreError, messageOf } from './store-error.ts';

/** How long an SQLite statement waits for another process's write lock before failing. */
const SQLITE_BUSY_TIMEOUT_MS = 5000;
/** Connections per process to PostgreSQL. */
const POSTGRES_POOL_SIZE = 10;
/** Without it pg waits forever for a host that drops packets. */
const POSTGRES_CONNECT_TIMEOUT_MS = 10_000;

const log = createLogger('db');

export function openDatabase(location: DatabaseLocation): Kysely<Database> {
  return location.dialect === 'sqlite' ? openSqlite(location.path) : openPostgres(location.url);
}

function openSqlite(path: string): Kysely<Database> {
  let file: BetterSqlite3.Database | undefined;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    file = new BetterSqlite3(path, { timeout: SQLITE_BUSY_TIMEOUT_MS });
    // WAL lets readers go on while one process writes; NORMAL sync is safe under WAL.
    file.pragma('journal_mode = WAL');
    file.pragma('synchronous = NORMAL');
    file.pragma('foreign_keys = ON');
  } catch (err) {
    file?.close();
    throw new StoreError(
      'ERR_DATABASE_UNAVAILABLE',
      `cannot open the SQLite database ${path}: ${messageOf(err)}. ` +
        'Check that its folder is writable and the file is an SQLite database, or set DATABASE_URL to another one.',
      { cause: err },
    );
  }
  return new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: file }) });
}

function openPostgres(url: string): Kysely<Database> {
  const where = redactUrl(url);
  const pool = new pg.Pool({
    connectionString: url,
    max: POSTGRES_POOL_SIZE,
    connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS,
  });
  // An idle connection whose server went away emits 'error', which would end the process if
  // nobody listened. The pool drops that connection; the next query opens a new one.
  pool.on('error', (err) => log.warn(`idle connection to ${where} failed: ${messageOf(err)}`));
  const checked: PostgresPool = {
    async connect() {
      try {
        return await pool.connect();
      } catch (err) {
        throw new StoreError(
          'ERR_DATABASE_UNAVAILABLE',
          `cannot connect to the PostgreSQL database ${where}: ${messageOf(err)}. ` +
            'Check that the server is running and the user, password and database name are right, or set DATABASE_URL.',
          { cause: err },
        );
      }
    },
    end: () => pool.end(),
  };
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: checked }) });
}
