// The store's own failures, coded so callers can tell a bad setting from a database that is down.

export type StoreErrorCode =
  /** DATABASE_URL (or the `url` option) is not a form the store accepts. */
  | 'ERR_DATABASE_URL'
  /** The database could not be opened or reached (file permissions, connection refused, auth). */
  | 'ERR_DATABASE_UNAVAILABLE'
  /** Bringing the schema up to date failed. */
  | 'ERR_DATABASE_MIGRATION'
  /** A value the database cannot keep as given. */
  | 'ERR_DATABASE_VALUE';

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'StoreError';
  }
}

export function messageOf(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length) return err.errors.map(messageOf).join('; ');
  if (err instanceof Error) return err.message || ((err as { code?: string }).code ?? err.name);
  return String(err);
}
