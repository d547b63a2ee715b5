// The body of a 206 that answers several ranges (RFC 9110 §14.6): multipart/byteranges, each
// part with its own Content-Type and Content-Range. It is laid out before anything is sent, so
// the response has a content-length and a HEAD gets the same headers as a GET.
import { randomBytes } from 'node:crypto';
import type { ByteRange } from './byte-range.ts';

/** A body in the order it is sent: bytes as they are, or a range of the file. */
export type BodyPiece = Buffer | ByteRange;

export interface MultipartByteranges {
  /** `multipart/byteranges; boundary=…` */
  contentType: string;
  pieces: BodyPiece[];
  /** Bytes in all, for content-length. */
  length: number;
}

export function pieceLength(piece: BodyPiece): number {
  return Buffer.isBuffer(piece) ? piece.length : piece.end - piece.start + 1;
}

/** The parts for `ranges` of a `size`-byte file whose own type is `partType`. */
export function multipartByteranges(ranges: readonly ByteRange[], partType: string, size: number): MultipartByteranges {
  // Fresh random bits for each response: a file cannot have been written to hold them.
  const boundary = randomBytes(16).toString('hex');
  const pieces: BodyPiece[] = [];
  ranges.forEach((range, i) => {
    // The CRLF before each delimiter after the first belongs to the delimiter, not the part.
    const head =
      `${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: ${partType}\r\n` +
      `Content-Range: bytes ${range.start}-${range.end}/${size}\r\n\r\n`;
    pieces.push(Buffer.from(head, 'latin1'), range);
  });
  pieces.push(Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1'));
  const length = pieces.reduce((sum, piece) => sum + pieceLength(piece), 0);
  return { contentType: `multipart/byteranges; boundary=${boundary}`, pieces, length };
}
