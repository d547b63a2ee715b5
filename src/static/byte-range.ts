// The Range header of a file request (RFC 9110 §14), parsed by the `range-parser` package.
// Overlapping and adjacent ranges are merged (what is left keeps the order asked); more ranges
// than MAX_RANGES after that are answered with the whole file, as a server may ignore Range.
import rangeParser from 'range-parser';

export interface ByteRange {
  start: number;
  /** Inclusive, as in content-range. */
  end: number;
}

/** The most parts a multipart/byteranges answer has; a request for more gets the whole file. */
export const MAX_RANGES = 20;

/**
 * range-parser 1.3 refuses a suffix longer than the file (`bytes=-500` of 100 bytes), which
 * RFC 9110 §14.1.2 reads as the whole file: such a suffix is cut to the file's size first.
 */
function clampSuffixes(header: string, size: number): string {
  const clamp = (all: string, lead: string, n: string): string => (Number(n) > size ? `${lead}-${size}` : all);
  return header.replace(/([=,]\s*)-\s*(\d+)/g, clamp);
}

/**
 * The ranges to send of a `size`-byte file, in the order asked: one or more, 'unsatisfiable'
 * (answer 416), or null to send the whole file (another unit, a malformed header, too many).
 */
export function parseByteRanges(header: string, size: number): ByteRange[] | 'unsatisfiable' | null {
  // range-parser leaves the unit to its caller: a unit other than bytes is ignored.
  const eq = header.indexOf('=');
  if (eq < 0 || header.slice(0, eq).trim().toLowerCase() !== 'bytes') return null;
  const ranges = rangeParser(size, clampSuffixes(header, size), { combine: true });
  if (ranges === -2) return null;
  if (ranges === -1) return 'unsatisfiable';
  if (ranges.length > MAX_RANGES) return null;
  return ranges.map(({ start, end }) => ({ start, end }));
}
