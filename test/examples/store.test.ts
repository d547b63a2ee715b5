// The chat example's store: one suite, run on a temporary SQLite file and on a real PostgreSQL
// (a fresh database per run, dropped after), plus the choice of database from URLs.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { DEFAULT_SQLITE_PATH, openStore, StoreError, type Store } from '../../examples/chat/db/store.ts';
import { databaseLocation, redactUrl } from '../../examples/chat/db/database-location.ts';
import { POSTGRES_ADMIN_URL, postgresFixture, requirePostgres, type PostgresFixture } from './postgres-fixture.ts';
import { startWriter } from './store-child.ts';

type Options = { url?: string; sqlitePath?: string };

interface Backend {
  dialect: 'sqlite' | 'postgres';
  /** Options naming a new, empty database. */
  fresh(): Promise<Options>;
  /** Rows of a query run beside the store, straight through the driver. */
  query(options: Options, sql: string): Promise<Record<string, unknown>[]>;
}

const T = { timeout: 60_000 };
/** Every migration of examples/chat/db/migrations.ts, in order: each applied once. */
const MIGRATIONS = ['0001_initial', '0002_thumbnail_error'];

function storeSuite(dialect: Backend['dialect'], setUp: () => Promise<Backend>, tearDown: () => Promise<void>): void {
  describe(`store on ${dialect}`, () => {
    let backend: Backend;
    let options: Options;
    let store: Store;
    const opened: Store[] = [];
    const open = async (o: Options = options) => {
      const s = await openStore(o);
      opened.push(s);
      return s;
    };

    before(async () => {
      backend = await setUp();
      options = await backend.fresh();
      store = await open();
    });
    after(async () => {
      await Promise.allSettled(opened.map((s) => s.close()));
      await tearDown();
    });

    test('reports its dialect', () => assert.equal(store.dialect, dialect));

    test('migrations are idempotent: opening again keeps the data and applies nothing twice', T, async () => {
      const o = await backend.fresh();
      const first = await open(o);
      const room = await first.getOrCreateRoom('kept');
      await first.addMessage(room, 'a', 'still here');
      await first.close();
      const second = await open(o);
      const again = await second.getOrCreateRoom('kept');
      assert.equal(again.id, room.id);
      assert.deepEqual(
        (await second.lastMessages(again)).map((m) => m.message),
        ['still here'],
      );
      const rows = await backend.query(o, 'select name from kysely_migration');
      assert.deepEqual(
        rows.map((r) => r.name),
        MIGRATIONS,
      );
    });

    test('several opens of one new database at once all succeed and migrate it once', T, async () => {
      const o = await backend.fresh();
      const stores = await Promise.all([open(o), open(o), open(o)]);
      const rooms = await Promise.all(stores.map((s) => s.getOrCreateRoom('shared')));
      assert.equal(new Set(rooms.map((r) => r.id)).size, 1);
      assert.equal((await backend.query(o, 'select name from kysely_migration')).length, MIGRATIONS.length);
    });

    test('several processes opening one new database at once all succeed', T, async () => {
      const o = await backend.fresh();
      const writers = [startWriter({ options: o }), startWriter({ options: o })];
      for (const w of writers) assert.equal(await w.line(), 'loaded');
      for (const w of writers) w.go();
      const mine = open(o);
      for (const w of writers) assert.equal(await w.line(), 'opened');
      await Promise.all([mine, ...writers.map((w) => w.exited())]);
      assert.equal((await backend.query(o, 'select name from kysely_migration')).length, MIGRATIONS.length);
    });

    test('getOrCreateRoom: many concurrent calls from two connections make one row', T, async () => {
      const other = await open();
      const label = `race-${randomBytes(3).toString('hex')}`;
      const rooms = await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 ? store : other).getOrCreateRoom(label)),
      );
      assert.equal(new Set(rooms.map((r) => r.id)).size, 1);
      assert.deepEqual(rooms[0], { id: rooms[0]!.id, label, name: label });
      const rows = await backend.query(options, `select id from rooms where label = '${label}'`);
      assert.equal(rows.length, 1);
    });

    test('lastMessages: the newest 50 by default, oldest first; a limit; only this room', T, async () => {
      const room = await store.getOrCreateRoom('history');
      const elsewhere = await store.getOrCreateRoom('history-other');
      for (let i = 0; i < 60; i++) {
        await store.addMessage(room, 'h', `m${i}`);
        if (i % 10 === 0) await store.addMessage(elsewhere, 'h', `other${i}`);
      }
      const last = await store.lastMessages(room);
      assert.deepEqual(
        last.map((m) => m.message),
        Array.from({ length: 50 }, (_, i) => `m${i + 10}`),
      );
      assert.ok(last.every((m) => m.roomId === room.id));
      assert.deepEqual(
        (await store.lastMessages(room, 3)).map((m) => m.message),
        ['m57', 'm58', 'm59'],
      );
      assert.deepEqual(await store.lastMessages(await store.getOrCreateRoom('history-empty')), []);
      for (const bad of [0, -1, 1.5, 1001, Number.NaN]) {
        await assert.rejects(store.lastMessages(room, bad), RangeError);
      }
    });

    test('messagesAfter: strictly after the given time, oldest first, with a limit', T, async () => {
      const room = await store.getOrCreateRoom('after');
      const sent = [];
      for (let i = 0; i < 6; i++) {
        sent.push(await store.addMessage(room, 'h', `a${i}`));
        await new Promise((r) => setTimeout(r, 3)); // distinct milliseconds
      }
      await store.addMessage(await store.getOrCreateRoom('after-other'), 'h', 'elsewhere');
      const pivot = sent[2]!;
      const got = await store.messagesAfter(room, pivot.timestamp);
      assert.deepEqual(
        got.map((m) => m.message),
        ['a3', 'a4', 'a5'],
      );
      assert.deepEqual(
        (await store.messagesAfter(room, pivot.timestamp, 2)).map((m) => m.message),
        ['a3', 'a4'],
      );
      assert.deepEqual(await store.messagesAfter(room, sent[5]!.timestamp), []);
      assert.equal((await store.messagesAfter(room, new Date(0))).length, 6);
      await assert.rejects(store.messagesAfter(room, new Date('nonsense')), TypeError);
    });

    test('messagesAfterId: the messages above an id, in id order', T, async () => {
      const room = await store.getOrCreateRoom('after-id');
      const sent = [];
      for (let i = 0; i < 5; i++) sent.push(await store.addMessage(room, 'h', `i${i}`));
      assert.deepEqual(
        (await store.messagesAfterId(room, sent[1]!.id)).map((m) => m.message),
        ['i2', 'i3', 'i4'],
      );
      assert.deepEqual(
        (await store.messagesAfterId(room, sent[1]!.id, 1)).map((m) => m.message),
        ['i2'],
      );
      assert.deepEqual(
        (await store.messagesAfterId(room, 0)).map((m) => m.message),
        ['i0', 'i1', 'i2', 'i3', 'i4'],
      );
      assert.deepEqual(await store.messagesAfterId(room, 1e20), []);
      await assert.rejects(store.messagesAfterId(room, 1.5), TypeError);
    });

    test('equal timestamps keep insertion order', T, async (t: TestContext) => {
      const room = await store.getOrCreateRoom('same-ms');
      const at = Date.parse('2030-05-01T12:00:00.123Z');
      t.mock.timers.enable({ apis: ['Date'], now: at });
      const sent = [];
      try {
        for (let i = 0; i < 8; i++) sent.push(await store.addMessage(room, 'h', `s${i}`));
      } finally {
        t.mock.timers.reset();
      }
      assert.ok(sent.every((m) => m.timestamp.getTime() === at));
      const names = Array.from({ length: 8 }, (_, i) => `s${i}`);
      assert.deepEqual(
        (await store.lastMessages(room)).map((m) => m.message),
        names,
      );
      assert.deepEqual(
        (await store.lastMessages(room, 3)).map((m) => m.message),
        names.slice(5),
      );
      assert.deepEqual(await store.messagesAfter(room, new Date(at)), []);
      assert.deepEqual(
        (await store.messagesAfter(room, new Date(at - 1))).map((m) => m.message),
        names,
      );
    });

    test('timestamps are Dates in UTC to the millisecond, the same after a round trip', T, async (t: TestContext) => {
      const room = await store.getOrCreateRoom('clock');
      for (const iso of ['2031-01-02T03:04:05.001Z', '2031-01-02T03:04:05.999Z', '2031-06-30T23:59:59.500Z']) {
        t.mock.timers.enable({ apis: ['Date'], now: Date.parse(iso) });
        let made;
        let post;
        try {
          made = await store.addMessage(room, 'h', iso);
          post = await store.createPost(iso);
        } finally {
          t.mock.timers.reset();
        }
        assert.ok(made.timestamp instanceof Date && post.createdAt instanceof Date);
        assert.equal(made.timestamp.toISOString(), iso);
        assert.equal(post.createdAt.toISOString(), iso);
      }
      const read = await store.lastMessages(room);
      assert.deepEqual(
        read.map((m) => m.timestamp.toISOString()),
        read.map((m) => m.message),
      );
      const before = Date.now();
      const now = await store.addMessage(room, 'h', 'now');
      assert.ok(now.timestamp.getTime() >= before && now.timestamp.getTime() <= Date.now());
    });

    test('text is kept exactly: unicode, HTML, whitespace, long strings; U+0000 is refused', T, async () => {
      const samples = [
        '<script>alert("x")</script> & &amp; \'single\' "double" `back`',
        'e\u0301 vs \u00e9 (NFD and NFC stay apart)',
        '👩‍👩‍👧‍👦 𝄞 \u{1F600} 中文 العربية עברית',
        '\uFEFFbom, \u200Bzero-width, \r\n\ttabs  and  spaces ',
        'x'.repeat(100_000),
      ];
      const room = await store.getOrCreateRoom('ünïcødé-<b>');
      assert.equal(room.label, 'ünïcødé-<b>');
      for (const text of samples) {
        const m = await store.addMessage(room, `${text.slice(0, 20)}`, text);
        assert.equal(m.message, text);
        const p = await store.createPost(text);
        assert.equal(p.message, text);
      }
      const read = await store.lastMessages(room);
      assert.deepEqual(
        read.map((m) => Buffer.from(m.message)),
        samples.map((s) => Buffer.from(s)),
      );
      assert.deepEqual(
        read.map((m) => m.handle),
        samples.map((s) => s.slice(0, 20)),
      );
      await assert.rejects(
        store.addMessage(room, 'h', 'nul\u0000byte'),
        (err: StoreError) => err.code === 'ERR_DATABASE_VALUE',
      );
      await assert.rejects(store.createPost('\u0000'), StoreError);
    });

    test('images: bytes round-trip exactly; metadata; thumbnail null until saved', T, async () => {
      const data = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(1024 * 1024)]);
      const image = await store.createImage({ filename: 'photo <1>.png', contentType: 'image/png', data });
      assert.equal(image.size, data.length);
      assert.equal(image.filename, 'photo <1>.png');
      assert.equal(image.contentType, 'image/png');
      assert.ok(image.createdAt instanceof Date);
      assert.equal(image.thumbnailDoneAt, null);
      assert.equal(image.thumbnailError, null);
      assert.deepEqual(await store.getImage(image.id), image);
      const back = await store.imageData(image.id);
      assert.equal(back?.contentType, 'image/png');
      assert.ok(back?.data.equals(data), 'image bytes differ after the round trip');
      assert.equal(await store.thumbnail(image.id), null);

      // A failed try is recorded; a later thumbnail clears it.
      assert.equal(await store.saveThumbnailError(image.id, 'the image could not be decoded'), true);
      assert.equal((await store.getImage(image.id))?.thumbnailError, 'the image could not be decoded');
      const thumb = randomBytes(5000);
      assert.equal(await store.saveThumbnail(image.id, thumb, 'image/webp'), true);
      assert.equal((await store.getImage(image.id))?.thumbnailError, null);
      const saved = await store.thumbnail(image.id);
      assert.ok(saved?.data.equals(thumb));
      assert.equal(saved?.contentType, 'image/webp');
      assert.ok(saved?.doneAt instanceof Date);
      assert.deepEqual((await store.getImage(image.id))?.thumbnailDoneAt, saved?.doneAt);
      assert.ok((await store.imageData(image.id))?.data.equals(data), 'the thumbnail must not touch the image');

      const empty = await store.createImage({
        filename: 'empty',
        contentType: 'application/octet-stream',
        data: Buffer.alloc(0),
      });
      assert.equal(empty.size, 0);
      assert.equal((await store.imageData(empty.id))?.data.length, 0);
    });

    test('unknown image ids: null and false, never an error; a non-number id is', T, async () => {
      for (const id of [987_654, 0, -1, 2 ** 40, 1.5]) {
        assert.equal(await store.saveThumbnail(id, Buffer.from('x'), 'image/png'), false);
        assert.equal(await store.saveThumbnailError(id, 'broken'), false);
        assert.equal(await store.getImage(id), null);
        assert.equal(await store.imageData(id), null);
        assert.equal(await store.thumbnail(id), null);
      }
      await assert.rejects(store.getImage(Number.NaN), TypeError);
    });

    test('two processes share the database: one writes while the other reads and writes', T, async () => {
      const label = `two-procs-${randomBytes(3).toString('hex')}`;
      const room = await store.getOrCreateRoom(label);
      const writer = startWriter({ options, room: label, count: 150 });
      assert.equal(await writer.line(), 'loaded');
      writer.go();
      assert.equal(await writer.line(), 'opened');
      const seen: number[] = [];
      let finished = false;
      const done = writer.line(30_000).then((l) => {
        finished = true;
        return l;
      });
      for (let i = 0; !finished; i++) {
        await store.addMessage(room, 'parent', `parent ${i}`);
        seen.push((await store.lastMessages(room, 1000)).filter((m) => m.handle === 'child').length);
        await new Promise((r) => setTimeout(r, 2));
      }
      assert.equal(await done, 'done 150');
      await writer.exited();
      const all = await store.lastMessages(room, 1000);
      const child = all.filter((m) => m.handle === 'child').map((m) => m.message);
      assert.deepEqual(
        child,
        Array.from({ length: 150 }, (_, i) => `child ${i}`),
      );
      assert.equal(all.filter((m) => m.handle === 'parent').length, seen.length);
      assert.equal(new Set(all.map((m) => m.id)).size, all.length);
      assert.ok(
        seen.some((n) => n > 0 && n < 150),
        `the reads never saw the writer part way (${seen.join(',')})`,
      );
      assert.deepEqual(
        [...seen].sort((a, b) => a - b),
        seen,
        'reads went backwards',
      );
    });
  });
}

// SQLite: a temporary folder per run.
let sqliteDir = '';
storeSuite(
  'sqlite',
  async () => {
    sqliteDir = mkdtempSync(join(tmpdir(), 'canal-store-'));
    let n = 0;
    return {
      dialect: 'sqlite',
      fresh: async () => ({ sqlitePath: join(sqliteDir, `db${n++}`, 'chat.sqlite3') }),
      query: async (o, sql) => {
        const db = new BetterSqlite3(o.sqlitePath!, { readonly: true });
        try {
          return db.prepare(sql).all() as Record<string, unknown>[];
        } finally {
          db.close();
        }
      },
    };
  },
  async () => rmSync(sqliteDir, { recursive: true, force: true }),
);

// PostgreSQL: fresh databases on the machine's server, dropped at the end.
let postgres: PostgresFixture | null = null;
storeSuite(
  'postgres',
  async () => {
    postgres = await postgresFixture();
    const fixture = postgres;
    return {
      dialect: 'postgres',
      fresh: async () => ({ url: await fixture.freshUrl() }),
      query: async (o, sql) => {
        const client = new pg.Client({ connectionString: o.url, connectionTimeoutMillis: 5000 });
        await client.connect();
        try {
          return (await client.query(sql)).rows as Record<string, unknown>[];
        } finally {
          await client.end();
        }
      },
    };
  },
  async () => postgres?.dropAll(),
);

describe('choosing the database', () => {
  const cwd = process.cwd();

  test('the default is an SQLite file in the example folder, whatever the working directory', () => {
    assert.equal(DEFAULT_SQLITE_PATH, resolve(import.meta.dirname, '../../examples/chat/data/chat.sqlite3'));
    assert.deepEqual(databaseLocation({}, {}), { dialect: 'sqlite', path: DEFAULT_SQLITE_PATH });
    assert.deepEqual(databaseLocation({}, { DATABASE_URL: '' }), { dialect: 'sqlite', path: DEFAULT_SQLITE_PATH });
  });

  test('URL forms: postgres, postgresql, sqlite:///abs, sqlite:relative, file:', () => {
    const env = {};
    assert.deepEqual(databaseLocation({ url: 'postgres://u@h/db' }, env), {
      dialect: 'postgres',
      url: 'postgres://u@h/db',
    });
    assert.deepEqual(databaseLocation({ url: 'postgresql://u@h/db' }, env), {
      dialect: 'postgres',
      url: 'postgresql://u@h/db',
    });
    assert.deepEqual(databaseLocation({ url: 'sqlite:///var/x/chat.db' }, env), {
      dialect: 'sqlite',
      path: '/var/x/chat.db',
    });
    assert.deepEqual(databaseLocation({ url: 'sqlite:data/chat.db' }, env), {
      dialect: 'sqlite',
      path: join(cwd, 'data/chat.db'),
    });
    assert.deepEqual(databaseLocation({ url: 'file:///var/my%20x/chat.db' }, env), {
      dialect: 'sqlite',
      path: '/var/my x/chat.db',
    });
    assert.deepEqual(databaseLocation({ url: 'file:chat.db' }, env), { dialect: 'sqlite', path: join(cwd, 'chat.db') });
    assert.deepEqual(databaseLocation({ sqlitePath: 'a.db' }, { DATABASE_URL: 'postgres://h/db' }), {
      dialect: 'sqlite',
      path: join(cwd, 'a.db'),
    });
    assert.deepEqual(databaseLocation({}, { DATABASE_URL: 'sqlite:///tmp/e.db' }), {
      dialect: 'sqlite',
      path: '/tmp/e.db',
    });
  });

  test('any other URL is refused, naming it without its password and the accepted forms', async () => {
    const err = await openStore({ url: 'mysql://user:s3cret@db.example/chat' }).then(
      () => assert.fail('opened a mysql URL'),
      (e: StoreError) => e,
    );
    assert.equal(err.code, 'ERR_DATABASE_URL');
    assert.match(err.message, /mysql:\/\/user:\*\*\*@db\.example\/chat/);
    assert.match(err.message, /postgres:\/\//);
    assert.match(err.message, /sqlite:\/\/\//);
    assert.doesNotMatch(err.message, /s3cret/);
    for (const url of ['sqlite://host/x.db', 'sqlite:', 'chat.sqlite3', 'redis://h']) {
      assert.throws(
        () => databaseLocation({ url }, {}),
        (e: StoreError) => e.code === 'ERR_DATABASE_URL' && e.message.includes(url),
        url,
      );
    }
    assert.throws(() => databaseLocation({ url: 'sqlite:a', sqlitePath: 'b' }, {}), StoreError);
    const env = { DATABASE_URL: 'mongodb://x' };
    assert.throws(() => databaseLocation({}, env), /DATABASE_URL "mongodb:\/\/x"/);
  });

  test('redactUrl hides passwords in the user part and in a password parameter', () => {
    assert.equal(redactUrl('postgres://u:pw@h:5432/db'), 'postgres://u:***@h:5432/db');
    assert.equal(
      redactUrl('postgres://u@h/db?password=pw&sslmode=require'),
      'postgres://u@h/db?password=***&sslmode=require',
    );
    assert.equal(redactUrl('postgres://u:p@ss@h/db'), 'postgres://u:***@h/db');
    assert.equal(redactUrl('postgres://u@h/db'), 'postgres://u@h/db');
  });

  test('PostgreSQL that cannot be reached: the error names the URL without its password', T, async () => {
    const err = await openStore({ url: 'postgres://postgres:hunter2@127.0.0.1:1/nothing' }).then(
      () => assert.fail('opened a closed port'),
      (e: StoreError) => e,
    );
    assert.equal(err.code, 'ERR_DATABASE_UNAVAILABLE');
    assert.match(err.message, /postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/nothing/);
    assert.match(err.message, /ECONNREFUSED/);
    assert.doesNotMatch(err.message, /hunter2/);
  });

  test('a PostgreSQL database that does not exist: the error says so and names it', T, async () => {
    await requirePostgres().then((c) => c.end());
    const name = `canal_missing_${randomBytes(4).toString('hex')}`;
    const url = new URL(POSTGRES_ADMIN_URL);
    url.password = 'pw';
    url.pathname = `/${name}`;
    const err = await openStore({ url: url.toString() }).then(
      () => assert.fail('opened a missing database'),
      (e: StoreError) => e,
    );
    assert.equal(err.code, 'ERR_DATABASE_UNAVAILABLE');
    assert.ok(err.message.includes(`${redactUrl(url.toString())}: `), err.message);
    assert.match(err.message, new RegExp(`"${name}" does not exist`));
    assert.doesNotMatch(err.message, /:pw@/);
  });

  test('an SQLite file that cannot be opened: the error names the path', T, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'canal-store-bad-'));
    try {
      const notADb = join(dir, 'text.sqlite3');
      writeFileSync(
        notADb,
        'this is not an SQLite database, only text that is long enough to have a header'.repeat(10),
      );
      await assert.rejects(
        openStore({ sqlitePath: notADb }),
        (e: StoreError) => e.code === 'ERR_DATABASE_UNAVAILABLE' && e.message.includes(notADb),
      );
      const underAFile = join(notADb, 'sub', 'chat.sqlite3');
      await assert.rejects(
        openStore({ sqlitePath: underAFile }),
        (e: StoreError) => e.code === 'ERR_DATABASE_UNAVAILABLE' && e.message.includes(underAFile),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
