// The example's storage: chat rooms and messages, posts, and images with their thumbnails. One
// SQLite file by default, or PostgreSQL for servers and workers on several machines.
import { databaseLocation, redactUrl, type LocationOptions } from './database-location.ts';
import { openDatabase } from './database.ts';
import { migrateToLatest } from './migrations.ts';
import { SqlStore } from './sql-store.ts';

export { StoreError, type StoreErrorCode } from './store-error.ts';
export { DEFAULT_SQLITE_PATH } from './database-location.ts';

export interface Room {
  id: number;
  label: string;
  name: string;
}

export interface ChatMessage {
  id: number;
  roomId: number;
  handle: string;
  message: string;
  timestamp: Date;
}

export interface Post {
  id: number;
  message: string;
  createdAt: Date;
}

export interface Image {
  id: number;
  filename: string;
  contentType: string;
  /** Bytes of the image's data. */
  size: number;
  createdAt: Date;
  thumbnailDoneAt: Date | null;
  /** Why the thumbnail could not be made, if the last try failed. */
  thumbnailError: string | null;
}

export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  /** The room with this label, made (named after the label) if missing; safe when processes race. */
  getOrCreateRoom(label: string): Promise<Room>;
  addMessage(room: Room, handle: string, message: string): Promise<ChatMessage>;
  /** The room's newest messages, oldest first. @default limit 50 */
  lastMessages(room: Room, limit?: number): Promise<ChatMessage[]>;
  /**
   * The room's first messages strictly after `after`, oldest first: a page that reconnects asks
   * with the timestamp of the last message it shows. @default limit 50
   */
  messagesAfter(room: Room, after: Date, limit?: number): Promise<ChatMessage[]>;
  /**
   * The room's first messages with an id above `afterId`, in id order. An id cursor leaves no gap
   * when several messages share a millisecond. @default limit 50
   */
  messagesAfterId(room: Room, afterId: number, limit?: number): Promise<ChatMessage[]>;
  createPost(message: string): Promise<Post>;
  createImage(input: { filename: string; contentType: string; data: Buffer }): Promise<Image>;
  /** The image without its bytes, or null if there is none with this id. */
  getImage(id: number): Promise<Image | null>;
  imageData(id: number): Promise<{ contentType: string; data: Buffer } | null>;
  /** Stores the thumbnail, sets `thumbnailDoneAt` and clears `thumbnailError`; false if there is no such image. */
  saveThumbnail(id: number, data: Buffer, contentType: string): Promise<boolean>;
  /** Records why the thumbnail could not be made (`thumbnailError`); false if there is no such image. */
  saveThumbnailError(id: number, error: string): Promise<boolean>;
  /** Null until the image has a thumbnail (or if there is no such image). */
  thumbnail(id: number): Promise<{ contentType: string; data: Buffer; doneAt: Date } | null>;
  close(): Promise<void>;
}

/**
 * Opens the database and brings its schema up to date. Which one: `url`, else `sqlitePath`,
 * else DATABASE_URL (`postgres://…`, `sqlite:…`, `file:…`), else DEFAULT_SQLITE_PATH.
 */
export async function openStore(options: LocationOptions = {}): Promise<Store> {
  const location = databaseLocation(options);
  const where = location.dialect === 'sqlite' ? location.path : redactUrl(location.url);
  const db = openDatabase(location);
  try {
    // ':memory:' is a new database per connection: nothing to take turns with.
    const shared = location.dialect === 'sqlite' ? location.path : location.url;
    await migrateToLatest(db, location.dialect, where, shared === ':memory:' ? null : shared);
  } catch (err) {
    await db.destroy().catch(() => {});
    throw err;
  }
  return new SqlStore(location.dialect, db);
}
