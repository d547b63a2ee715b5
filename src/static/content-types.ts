// Content types by file extension for the files a web app serves. A short table written by
// hand: the full IANA list (mime-db) is thousands of entries, nearly all irrelevant to static
// assets. Text types are sent with charset=utf-8; an unknown extension is a download.

// A Map, not an object: an extension such as `.constructor` must not find Object's own keys.
const TYPES = new Map<string, string>(Object.entries({
  html: 'text/html',
  htm: 'text/html',
  css: 'text/css',
  js: 'text/javascript',
  mjs: 'text/javascript',
  cjs: 'text/javascript',
  json: 'application/json',
  map: 'application/json',
  webmanifest: 'application/manifest+json',
  txt: 'text/plain',
  md: 'text/markdown',
  csv: 'text/csv',
  xml: 'application/xml',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
  ico: 'image/x-icon',
  bmp: 'image/bmp',
  woff: 'font/woff',
  woff2: 'font/woff2',
  ttf: 'font/ttf',
  otf: 'font/otf',
  wasm: 'application/wasm',
  pdf: 'application/pdf',
  zip: 'application/zip',
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
  wav: 'audio/wav',
  mp4: 'video/mp4',
  webm: 'video/webm',
}));

const UTF8 = new Set(['application/json', 'application/manifest+json', 'application/xml']);

/** The content-type header for a file name: `app.css` → `text/css; charset=utf-8`. */
export function contentTypeFor(name: string): string {
  const dot = name.lastIndexOf('.');
  const type = (dot >= 0 ? TYPES.get(name.slice(dot + 1).toLowerCase()) : undefined) || 'application/octet-stream';
  return type.startsWith('text/') || UTF8.has(type) ? `${type}; charset=utf-8` : type;
}
