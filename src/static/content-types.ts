// Content types by file extension, from the `mime-types` package (the IANA, Apache and nginx
// lists of mime-db): text types carry charset=utf-8, and so do JSON and web manifests; an
// unknown extension is a download. mime-types keeps its table in objects without a prototype,
// so an extension such as `.constructor` finds nothing.
import { extname } from 'node:path';
import { contentType } from 'mime-types';

// Where Canal answers otherwise than mime-db, by the extension in lower case:
// - every JavaScript file is text/javascript (RFC 9239): under `nosniff` a browser runs a
//   script only when it comes with a JavaScript type, and mime-db has `.cjs` as
//   application/node (and has moved `.js` between types before);
// - XML keeps the charset it has always been sent with.
const OVERRIDES = new Map<string, string>([
  ['js', 'text/javascript; charset=utf-8'],
  ['mjs', 'text/javascript; charset=utf-8'],
  ['cjs', 'text/javascript; charset=utf-8'],
  ['xml', 'application/xml; charset=utf-8'],
]);

/** The content-type header for a file name: `app.css` → `text/css; charset=utf-8`. */
export function contentTypeFor(name: string): string {
  // The extension alone: contentType() reads a string with a '/' as a type, not a path. A
  // dotfile such as `.env` has no extension and is a download.
  const ext = extname(name);
  return OVERRIDES.get(ext.slice(1).toLowerCase()) ?? ((ext && contentType(ext)) || 'application/octet-stream');
}
