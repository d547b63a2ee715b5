// clientAsset(): an HTTP app that serves canaljs/client as one JavaScript module, for pages
// without a bundler: `path('canal/client.js', clientAsset())`, then in the page
// `import { connect } from '/canal/client.js'`. The built package serves dist/client/index.js;
// a checkout running its TypeScript serves src/client/index.ts with the types stripped.
// It lives apart from src/client/, which holds only what browsers load.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import type { Application, HttpScope } from '../asgi/types.ts';
import { UnknownScopeTypeError } from '../errors.ts';
import { requestHeader } from '../request/request-header.ts';

export interface ClientAssetOptions {
  /** How long browsers may reuse the file without asking, in milliseconds (default a week). */
  maxAgeMs?: number;
}

let source: { body: Buffer; etag: string } | null = null;

/** The client's JavaScript, read once per process, and its ETag (a digest of the bytes). */
export function clientSource(): { body: Buffer; etag: string } {
  if (source) return source;
  const fromTs = import.meta.url.endsWith('.ts');
  const text = readFileSync(new URL(fromTs ? '../client/index.ts' : '../client/index.js', import.meta.url), 'utf8');
  // Stripping leaves spaces where the types were; lines are trimmed at their end.
  const body = Buffer.from(fromTs ? stripTypeScriptTypes(text).replace(/[ \t]+$/gm, '') : text);
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
  source = { body, etag };
  return source;
}

function matches(ifNoneMatch: string | null, etag: string): boolean {
  if (ifNoneMatch === null) return false;
  return ifNoneMatch.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag.replace(/^W\//, '') === etag;
  });
}

/** The HTTP app that serves the client module (GET and HEAD), with a long cache and an ETag. */
export function clientAsset(options: ClientAssetOptions = {}): Application {
  const { body, etag } = clientSource();
  const maxAge = Math.floor((options.maxAgeMs ?? 7 * 24 * 3600 * 1000) / 1000);
  return async (scope, _receive, send) => {
    if (scope.type !== 'http') {
      throw new UnknownScopeTypeError(`clientAsset serves http scopes, not '${scope.type}'`);
    }
    const { method, headers } = scope as HttpScope;
    if (method !== 'GET' && method !== 'HEAD') {
      await send({
        type: 'http.response.start',
        status: 405,
        headers: [
          ['allow', 'GET, HEAD'],
          ['content-length', '0'],
        ],
      });
      await send({ type: 'http.response.body' });
      return;
    }
    const common: [string, string][] = [
      ['etag', etag],
      ['cache-control', `public, max-age=${maxAge}`],
    ];
    if (matches(requestHeader(headers, 'if-none-match'), etag)) {
      await send({ type: 'http.response.start', status: 304, headers: common });
      await send({ type: 'http.response.body' });
      return;
    }
    await send({
      type: 'http.response.start',
      status: 200,
      headers: [['content-type', 'text/javascript; charset=utf-8'], ['content-length', String(body.length)], ...common],
    });
    await send({ type: 'http.response.body', body: method === 'HEAD' ? Buffer.alloc(0) : body });
  };
}
