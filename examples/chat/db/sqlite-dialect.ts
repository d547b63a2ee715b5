// Kysely's SQLite dialect, with the two changes several processes on one file need.
import { CompiledQuery, SqliteAdapter, SqliteDialect, SqliteDriver } from 'kysely';
import type { DatabaseConnection, DialectAdapter, Driver, SqliteDialectConfig } from 'kysely';

class ImmediateSqliteDriver extends SqliteDriver {
  // A plain (deferred) BEGIN takes the write lock at the first write, and in WAL mode fails at
  // once, without waiting out the busy timeout, when another process wrote after this
  // transaction's first read. IMMEDIATE takes the lock up front and waits for it.
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  // SQLite's DDL is transactional. Saying so makes Kysely's Migrator run in one (immediate)
  // transaction: the lock between processes that its SQLite adapter otherwise goes without.
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

export class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;

  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }

  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}
