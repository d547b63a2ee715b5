// The Store over Kysely: the same queries on SQLite and PostgreSQL.
import type { Kysely, Selectable } from 'kysely';
import type { Database, ImagesTable, MessagesTable } from './schema.ts';
import type { ChatMessage, Image, Post, Room, Store } from './store.ts';
import { StoreError } from './store-error.ts';

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1000;
/** Ids are 32-bit integers on PostgreSQL; anything else names no row. */
const MAX_ID = 2 ** 31 - 1;

const IMAGE_COLUMNS = [
  'id',
  'filename',
  'content_type',
  'size',
  'created_at',
  'thumbnail_done_at',
  'thumbnail_error',
] as const;

export class SqlStore implements Store {
  readonly dialect: 'sqlite' | 'postgres';
  readonly #db: Kysely<Database>;

  constructor(dialect: 'sqlite' | 'postgres', db: Kysely<Database>) {
    this.dialect = dialect;
    this.#db = db;
  }

  async getOrCreateRoom(label: string): Promise<Room> {
    text('label', label);
    const found = await this.#room(label);
    if (found) return found;
    // Two processes may both miss the row: the unique label lets one insert and the other skip.
    await this.#db
      .insertInto('rooms')
      .values({ label, name: label })
      .onConflict((oc) => oc.column('label').doNothing())
      .execute();
    const made = await this.#room(label);
    if (!made) throw new Error(`room ${JSON.stringify(label)} was deleted while it was being made`);
    return made;
  }

  #room(label: string): Promise<Room | undefined> {
    return this.#db.selectFrom('rooms').select(['id', 'label', 'name']).where('label', '=', label).executeTakeFirst();
  }

  async addMessage(room: Room, handle: string, message: string): Promise<ChatMessage> {
    text('handle', handle);
    text('message', message);
    const row = await this.#db
      .insertInto('messages')
      .values({ room_id: room.id, handle, message, timestamp: now() })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toMessage(row);
  }

  async lastMessages(room: Room, limit = DEFAULT_LIMIT): Promise<ChatMessage[]> {
    const rows = await this.#db
      .selectFrom('messages')
      .selectAll()
      .where('room_id', '=', room.id)
      .orderBy('timestamp', 'desc')
      .orderBy('id', 'desc')
      .limit(checkLimit(limit))
      .execute();
    return rows.reverse().map(toMessage);
  }

  async messagesAfter(room: Room, after: Date, limit = DEFAULT_LIMIT): Promise<ChatMessage[]> {
    const rows = await this.#db
      .selectFrom('messages')
      .selectAll()
      .where('room_id', '=', room.id)
      .where('timestamp', '>', toDb(after, 'after'))
      .orderBy('timestamp', 'asc')
      .orderBy('id', 'asc')
      .limit(checkLimit(limit))
      .execute();
    return rows.map(toMessage);
  }

  async messagesAfterId(room: Room, afterId: number, limit = DEFAULT_LIMIT): Promise<ChatMessage[]> {
    if (!Number.isInteger(afterId)) throw new TypeError(`afterId must be a whole number, not ${String(afterId)}`);
    const rows = await this.#db
      .selectFrom('messages')
      .selectAll()
      .where('room_id', '=', room.id)
      .where('id', '>', Math.min(afterId, MAX_ID))
      .orderBy('id', 'asc')
      .limit(checkLimit(limit))
      .execute();
    return rows.map(toMessage);
  }

  async createPost(message: string): Promise<Post> {
    text('message', message);
    const row = await this.#db
      .insertInto('posts')
      .values({ message, created_at: now() })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { id: row.id, message: row.message, createdAt: toDate(row.created_at) };
  }

  async createImage(input: { filename: string; contentType: string; data: Buffer }): Promise<Image> {
    text('filename', input.filename);
    text('contentType', input.contentType);
    if (!Buffer.isBuffer(input.data)) throw new TypeError(`image data must be a Buffer, not ${typeof input.data}`);
    const row = await this.#db
      .insertInto('images')
      .values({
        filename: input.filename,
        content_type: input.contentType,
        size: input.data.length,
        data: input.data,
        created_at: now(),
      })
      .returning(IMAGE_COLUMNS)
      .executeTakeFirstOrThrow();
    return toImage(row);
  }

  async getImage(id: number): Promise<Image | null> {
    if (!isId(id)) return null;
    const row = await this.#db.selectFrom('images').select(IMAGE_COLUMNS).where('id', '=', id).executeTakeFirst();
    return row ? toImage(row) : null;
  }

  async imageData(id: number): Promise<{ contentType: string; data: Buffer } | null> {
    if (!isId(id)) return null;
    const row = await this.#db
      .selectFrom('images')
      .select(['content_type', 'data'])
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? { contentType: row.content_type, data: row.data } : null;
  }

  async saveThumbnail(id: number, data: Buffer, contentType: string): Promise<boolean> {
    if (!Buffer.isBuffer(data)) throw new TypeError(`thumbnail data must be a Buffer, not ${typeof data}`);
    text('contentType', contentType);
    if (!isId(id)) return false;
    const result = await this.#db
      .updateTable('images')
      .set({ thumbnail: data, thumbnail_type: contentType, thumbnail_done_at: now(), thumbnail_error: null })
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async saveThumbnailError(id: number, error: string): Promise<boolean> {
    text('error', error);
    if (!isId(id)) return false;
    const result = await this.#db
      .updateTable('images')
      .set({ thumbnail_error: error })
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async thumbnail(id: number): Promise<{ contentType: string; data: Buffer; doneAt: Date } | null> {
    if (!isId(id)) return null;
    const row = await this.#db
      .selectFrom('images')
      .select(['thumbnail', 'thumbnail_type', 'thumbnail_done_at'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row || row.thumbnail === null || row.thumbnail_type === null || row.thumbnail_done_at === null) return null;
    return { contentType: row.thumbnail_type, data: row.thumbnail, doneAt: toDate(row.thumbnail_done_at) };
  }

  close(): Promise<void> {
    return this.#db.destroy();
  }
}

function toMessage(row: Selectable<MessagesTable>): ChatMessage {
  return {
    id: row.id,
    roomId: row.room_id,
    handle: row.handle,
    message: row.message,
    timestamp: toDate(row.timestamp),
  };
}

function toImage(row: Pick<Selectable<ImagesTable>, (typeof IMAGE_COLUMNS)[number]>): Image {
  return {
    id: row.id,
    filename: row.filename,
    contentType: row.content_type,
    size: row.size,
    createdAt: toDate(row.created_at),
    thumbnailDoneAt: row.thumbnail_done_at === null ? null : toDate(row.thumbnail_done_at),
    thumbnailError: row.thumbnail_error,
  };
}

function now(): string {
  return new Date().toISOString();
}

function toDb(date: Date, name: string): string {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw new TypeError(`${name} must be a valid Date, not ${String(date)}`);
  }
  return date.toISOString();
}

function toDate(value: Date | string): Date {
  return new Date(value);
}

function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new RangeError(`limit must be a whole number from 1 to ${MAX_LIMIT}, not ${String(limit)}`);
  }
  return limit;
}

function isId(id: number): boolean {
  if (typeof id !== 'number' || Number.isNaN(id)) throw new TypeError(`an id must be a number, not ${String(id)}`);
  return Number.isInteger(id) && id >= 1 && id <= MAX_ID;
}

// PostgreSQL's text refuses U+0000, SQLite would keep it: refuse it on both, with a clear word.
function text(name: string, value: string): void {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string, not ${typeof value}`);
  if (value.includes('\u0000')) {
    throw new StoreError(
      'ERR_DATABASE_VALUE',
      `${name} holds the character U+0000, which PostgreSQL text cannot store; remove it`,
    );
  }
}
