// The path segments of a static file request, or null for anything that could reach outside
// the served folder or that names a hidden file: `..` and `.`, empty segments (`//etc`),
// backslashes, NUL, encoded slashes, and (unless allowed) names starting with a dot.
// Symlinks are checked later, against the real path.

const ENCODED_SEPARATOR = /%(2f|5c|00)/i;

/**
 * Splits `relative` (percent-decoded, no leading '/') into segments. The last one is '' when
 * the path ends with '/'. `rawPath` is the path as it arrived, to see encoded separators.
 */
export function safeSegments(relative: string, rawPath: Buffer, dotfiles: boolean): string[] | null {
  // Decoding has already turned %2F into '/', which would make "a%2Fb" the file a/b.
  if (ENCODED_SEPARATOR.test(rawPath.toString('latin1'))) return null;
  const segments = relative.split('/');
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    if (s === '') {
      if (i === segments.length - 1) continue;
      return null;
    }
    if (s === '.' || s === '..' || s.includes('\\') || s.includes('\0')) return null;
    if (process.platform === 'win32' && s.includes(':')) return null; // drive letters, NTFS streams
    if (!dotfiles && s.startsWith('.')) return null;
  }
  return segments;
}
