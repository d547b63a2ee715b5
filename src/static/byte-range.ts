// The Range header of a file request (RFC 9110 §14): one `bytes=a-b`, `bytes=a-` or
// `bytes=-n`. Several ranges are answered with the whole file (a server may ignore Range),
// which spares a multipart/byteranges encoder no browser needs for static assets.

export interface ByteRange {
  start: number;
  /** Inclusive, as in content-range. */
  end: number;
}

/**
 * The range to send of a `size`-byte file: a ByteRange, 'unsatisfiable' (answer 416), or null
 * to send the whole file (no range, another unit, a malformed header, several ranges).
 */
export function parseByteRange(header: string, size: number): ByteRange | 'unsatisfiable' | null {
  const eq = header.indexOf('=');
  if (eq < 0 || header.slice(0, eq).trim().toLowerCase() !== 'bytes') return null;
  const specs = header.slice(eq + 1).split(',').filter((s) => s.trim() !== '');
  if (specs.length !== 1) return null;
  const m = /^\s*(\d*)\s*-\s*(\d*)\s*$/.exec(specs[0]!);
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? Infinity : Number(m[2]);
  if (end < start) return null; // not a valid range-spec: the header is ignored
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(end, size - 1) };
}
