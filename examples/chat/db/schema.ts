// The tables, as Kysely sees them. Column names are snake_case, as in the SQL.
import type { ColumnType, Generated } from 'kysely';

/**
 * A moment in UTC, to the millisecond. Written as an ISO-8601 string (`toISOString()`), which
 * SQLite keeps as text (sortable as is) and PostgreSQL parses into `timestamptz(3)`; read back as
 * that string from SQLite and as a `Date` from PostgreSQL.
 */
export type Timestamp = ColumnType<Date | string, string, string>;
export type NullableTimestamp = ColumnType<Date | string | null, string | null, string | null>;

export interface RoomsTable {
  id: Generated<number>;
  label: string;
  name: string;
}

export interface MessagesTable {
  id: Generated<number>;
  room_id: number;
  handle: string;
  message: string;
  timestamp: Timestamp;
}

export interface PostsTable {
  id: Generated<number>;
  message: string;
  created_at: Timestamp;
}

export interface ImagesTable {
  id: Generated<number>;
  filename: string;
  content_type: string;
  size: number;
  data: Buffer;
  created_at: Timestamp;
  thumbnail: Buffer | null;
  thumbnail_type: string | null;
  thumbnail_done_at: NullableTimestamp;
  thumbnail_error: string | null;
}

export interface Database {
  rooms: RoomsTable;
  messages: MessagesTable;
  posts: PostsTable;
  images: ImagesTable;
}
