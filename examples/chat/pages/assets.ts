// URLs of the page assets under /static/, each with a hash of its content, so a browser may
// keep an asset for a day and still fetches the new one after a deploy changes it. The pages'
// scripts are ES modules; the import map of each page gives the modules they import (by
// their plain URL) the hashed one.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const STATIC_DIR = fileURLToPath(new URL('../static/', import.meta.url));

const versions = new Map<string, string>();

export function assetUrl(name: string): string {
  let v = versions.get(name);
  if (v === undefined) {
    v = createHash('sha256')
      .update(readFileSync(STATIC_DIR + name))
      .digest('hex')
      .slice(0, 12);
    versions.set(name, v);
  }
  return `/static/${name}?v=${v}`;
}

/** Where app.ts serves canaljs/client (clientAsset); the pages' scripts import it from there. */
export const CLIENT_PATH = '/static/canal-client.js';

/** The modules the pages' scripts import from one another. */
const SHARED_MODULES = ['connection-status.js'];

/** `{"imports": {"/static/x.js": "/static/x.js?v=…"}}`: a page's `<script type="importmap">`. */
export function importMap(): { imports: Record<string, string> } {
  return { imports: Object.fromEntries(SHARED_MODULES.map((name) => [`/static/${name}`, assetUrl(name)])) };
}
