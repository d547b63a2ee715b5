// Cache validators of a served file (ETag, Last-Modified) and the conditional headers that
// test them: If-None-Match / If-Modified-Since (→ 304) and If-Range (resume a download only
// if the file is unchanged).
import type { Stats } from 'node:fs';

/**
 * A strong ETag from size and modification time (to the microsecond): cheap, with no read of
 * the file. It changes whenever a deploy rewrites the file, which is what static assets need.
 */
export function etagOf(stats: Stats): string {
  return `"${stats.size.toString(16)}-${Math.round(stats.mtimeMs * 1000).toString(16)}"`;
}

/** HTTP dates have whole seconds; a file's mtime is compared at that precision. */
function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}

/** True when the client's copy is current: If-None-Match matches, or (without it) If-Modified-Since is not older. */
export function isNotModified(
  ifNoneMatch: string | null,
  ifModifiedSince: string | null,
  etag: string,
  mtimeMs: number,
): boolean {
  if (ifNoneMatch !== null) {
    // Weak comparison (RFC 9110 §13.1.2): W/"x" matches "x".
    const ours = etag.replace(/^W\//, '');
    return ifNoneMatch.split(',').some((t) => {
      const tag = t.trim();
      return tag === '*' || tag.replace(/^W\//, '') === ours;
    });
  }
  if (ifModifiedSince !== null) {
    const since = Date.parse(ifModifiedSince);
    return !Number.isNaN(since) && seconds(mtimeMs) <= seconds(since);
  }
  return false;
}

/** If-Range: the range applies only if the validator is our strong ETag or exactly our Last-Modified. */
export function rangeStillValid(ifRange: string | null, etag: string, mtimeMs: number): boolean {
  if (ifRange === null) return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return value === etag;
  const date = Date.parse(value);
  return !Number.isNaN(date) && seconds(date) === seconds(mtimeMs);
}
