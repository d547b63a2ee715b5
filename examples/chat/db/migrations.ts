// The schema's history, applied by Kysely's Migrator when a store opens. Add a migration by
// appending an entry whose name sorts after the last; never change one that has shipped.
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { ColumnDefinitionBuilder } from 'kysely';
import type { Database } from './schema.ts';
import { StoreError, messageOf } from './store-error.ts';

export type Dialect = 'sqlite' | 'postgres';

function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    '0001_initial': { up: (db) => initial(db, dialect) },
    '0002_thumbnail_error': { up: thumbnailError },
  };
}

/** Why an image's thumbnail could not be made (a corrupt upload); null while none failed. */
async function thumbnailError(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('images').addColumn('thumbnail_error', 'text').execute();
}

async function initial(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const sqlite = dialect === 'sqlite';
  // AUTOINCREMENT never reuses an id, so "timestamp, then id" keeps insertion order.
  const id = (col: ColumnDefinitionBuilder) =>
    sqlite ? col.primaryKey().autoIncrement() : col.primaryKey().generatedByDefaultAsIdentity();
  const time = sqlite ? 'text' : 'timestamptz(3)';
  const bytes = sqlite ? 'blob' : 'bytea';

  await db.schema
    .createTable('rooms')
    .addColumn('id', 'integer', id)
    .addColumn('label', 'text', (col) => col.notNull().unique())
    .addColumn('name', 'text', (col) => col.notNull())
    .execute();
  await db.schema
    .createTable('messages')
    .addColumn('id', 'integer', id)
    .addColumn('room_id', 'integer', (col) => col.notNull().references('rooms.id').onDelete('cascade'))
    .addColumn('handle', 'text', (col) => col.notNull())
    .addColumn('message', 'text', (col) => col.notNull())
    .addColumn('timestamp', time, (col) => col.notNull())
    .execute();
  // "The last 50 of a room", newest first, is one backwards walk of this index.
  await db.schema
    .createIndex('messages_room_timestamp')
    .on('messages')
    .columns(['room_id', 'timestamp', 'id'])
    .execute();
  // "The messages after id N of a room", for a client catching up.
  await db.schema.createIndex('messages_room_id').on('messages').columns(['room_id', 'id']).execute();
  await db.schema
    .createTable('posts')
    .addColumn('id', 'integer', id)
    .addColumn('message', 'text', (col) => col.notNull())
    .addColumn('created_at', time, (col) => col.notNull())
    .execute();
  await db.schema
    .createTable('images')
    .addColumn('id', 'integer', id)
    .addColumn('filename', 'text', (col) => col.notNull())
    .addColumn('content_type', 'text', (col) => col.notNull())
    .addColumn('size', 'integer', (col) => col.notNull())
    .addColumn('data', bytes, (col) => col.notNull())
    .addColumn('created_at', time, (col) => col.notNull())
    .addColumn('thumbnail', bytes)
    .addColumn('thumbnail_type', 'text')
    .addColumn('thumbnail_done_at', time)
    .execute();
}

// Two stores of one process on one SQLite file take turns: the second one's BEGIN IMMEDIATE would
// block the thread (better-sqlite3 is synchronous) while the first could not finish.
const migrating = new Map<string, Promise<unknown>>();

/**
 * Applies every pending migration. `where` names the database in errors; opens of one `key` (the
 * file or URL) in this process take turns.
 */
export async function migrateToLatest(
  db: Kysely<Database>,
  dialect: Dialect,
  where: string,
  key: string | null,
): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  if (await upToDate(db, dialect)) return;
  if (key === null) return migrate(db, provider, where);
  const previous = migrating.get(key) ?? Promise.resolve();
  const run = previous.catch(() => {}).then(() => migrate(db, provider, where));
  migrating.set(key, run);
  try {
    await run;
  } finally {
    if (migrating.get(key) === run) migrating.delete(key);
  }
}

// Already migrated (every open after the first): answer without taking the migration lock.
async function upToDate(db: Kysely<Database>, dialect: Dialect): Promise<boolean> {
  try {
    const { rows } = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
    const done = new Set(rows.map((r) => r.name));
    return Object.keys(migrations(dialect)).every((name) => done.has(name));
  } catch (err) {
    if (err instanceof StoreError) throw err;
    return false; // no migration table yet: a new database
  }
}

async function migrate(db: Kysely<Database>, provider: MigrationProvider, where: string): Promise<void> {
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (!error) return;
  if (error instanceof StoreError) throw error;
  const failed = results?.find((r) => r.status === 'Error')?.migrationName;
  throw new StoreError(
    'ERR_DATABASE_MIGRATION',
    `migrating the database ${where}${failed ? ` (at ${failed})` : ''} failed: ${messageOf(error)}`,
    { cause: error },
  );
}
