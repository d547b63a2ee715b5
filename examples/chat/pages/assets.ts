// URLs of the page assets under /static/, each with a hash of its content, so a browser may
// keep an asset for a day and still fetches the new one after a deploy changes it.
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
