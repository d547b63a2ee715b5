// Real PostgreSQL for the store tests: a fresh database per use, dropped when the file's tests end.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const POSTGRES_ADMIN_URL = process.env.CANAL_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Fails (never skips) with the fix when PostgreSQL is not there. */
export async function requirePostgres(url = POSTGRES_ADMIN_URL): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (err) {
    await client.end().catch(() => {});
    const reason =
      err instanceof AggregateError ? err.errors.map((e: Error) => e.message).join('; ') : (err as Error).message;
    throw new Error(
      `PostgreSQL is not reachable at ${url} (${reason}). The store tests need a real PostgreSQL that lets user ` +
        '"postgres" in without a password from 127.0.0.1 and may create databases: apt-get install postgresql, then ' +
        'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start ' +
        '(or point CANAL_TEST_POSTGRES_URL at a server of your own).',
    );
  }
  return client;
}

export interface PostgresFixture {
  /** The URL of a new, empty database of this run. */
  freshUrl(): Promise<string>;
  /** Drops every database this fixture made, and disconnects. */
  dropAll(): Promise<void>;
}

export async function postgresFixture(): Promise<PostgresFixture> {
  const admin = await requirePostgres();
  const run = `canal_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const made: string[] = [];
  return {
    async freshUrl() {
      const name = `${run}_${made.length}`;
      await admin.query(`create database ${name}`);
      made.push(name);
      const url = new URL(POSTGRES_ADMIN_URL);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async dropAll() {
      try {
        // FORCE: a store a failed test left open must not keep its database alive.
        for (const name of made.splice(0)) await admin.query(`drop database if exists ${name} with (force)`);
      } finally {
        await admin.end();
      }
    },
  };
}
