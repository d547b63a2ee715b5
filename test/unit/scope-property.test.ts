// Scope building from arbitrary request targets and header lists, checked against an oracle
// computed from the generated inputs (never by a second copy of the scope builder): each case
// is written as raw bytes on a `net` socket to one real server whose app records its scope.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import fc from 'fast-check';
import { createServer, type CanalServer } from '../../src/server/server.ts';
import type { HttpScope } from '../../src/asgi/types.ts';

let server: CanalServer;
let port = 0;
const scopes = new Map<string, HttpScope>();

before(async () => {
  server = createServer(
    async (scope, receive, send) => {
      if (scope.type !== 'http') return;
      const id = scope.headers.find(([k]) => k.toString('latin1') === 'x-case')?.[1].toString('latin1');
      if (id) scopes.set(id, scope);
      await receive();
      await send({ type: 'http.response.start', status: 200, headers: [['content-length', '2']] });
      await send({ type: 'http.response.body', body: 'ok' });
    },
    { port: 0 },
  );
  ({ port } = await server.listen());
});
after(() => server.close());

/** Sends raw bytes, resolves with the status line once the server answers (or fails after 2 s). */
function exchange(bytes: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = connect(port, '127.0.0.1', () => s.write(bytes));
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('no answer within 2 s'));
    }, 2000);
    s.on('data', (d) => chunks.push(d));
    s.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1').split('\r\n')[0]!);
    });
    s.on('error', () => {});
  });
}

// ---- generators: each piece carries its wire form and what the app must see -------------

interface Piece {
  wire: string;
  decoded: string;
}

const hex = (b: number, upper: boolean) => {
  const h = b.toString(16).padStart(2, '0');
  return upper ? h.toUpperCase() : h;
};

/** A character percent-encoded byte by byte from its UTF-8 form. */
const encodedChar: fc.Arbitrary<Piece> = fc
  .tuple(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }), fc.boolean())
  .map(([ch, upper]) => ({
    wire: [...Buffer.from(ch, 'utf8')].map((b) => '%' + hex(b, upper)).join(''),
    decoded: ch,
  }));

/** Characters a path may carry literally (unreserved and sub-delims, ':' and '@'). */
const literalChar: fc.Arbitrary<Piece> = fc
  .constantFrom(..."abcXYZ019-._~!$&'()*+,;=:@".split(''))
  .map((c) => ({ wire: c, decoded: c }));

/** Reserved characters that only appear encoded: '/', '?', '#', '%', space. */
const encodedReserved: fc.Arbitrary<Piece> = fc
  .constantFrom('/', '?', '#', '%', ' ')
  .map((c) => ({ wire: '%' + hex(c.charCodeAt(0), true), decoded: c }));

const segment = fc.array(fc.oneof(literalChar, encodedChar, encodedReserved), { maxLength: 6 });
const pathArb: fc.Arbitrary<Piece> = fc.array(segment, { minLength: 1, maxLength: 4 }).map((segs) => ({
  wire: '/' + segs.map((s) => s.map((p) => p.wire).join('')).join('/'),
  decoded: '/' + segs.map((s) => s.map((p) => p.decoded).join('')).join('/'),
}));

/** Query bytes as sent: any visible ASCII but '#', kept undecoded. */
const queryArb = fc.option(
  fc
    .array(
      fc.integer({ min: 0x21, max: 0x7e }).filter((b) => b !== 0x23),
      { maxLength: 40 },
    )
    .map((bytes) => Buffer.from(bytes)),
);

const TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".split('');
const headerName = fc.oneof(
  fc.array(fc.constantFrom(...TOKEN_CHARS), { minLength: 1, maxLength: 12 }).map((cs) => 'X-' + cs.join('')),
  fc.constantFrom('X-Dup', 'x-dup', 'X-DUP', 'Accept', 'Cookie'), // duplicates in several spellings
);
/** Values: visible ASCII, inner spaces/tabs and obs-text bytes; no leading/trailing whitespace. */
const valueByte = fc.oneof(
  fc.integer({ min: 0x21, max: 0x7e }),
  fc.integer({ min: 0x80, max: 0xff }),
  fc.constantFrom(0x20, 0x09),
);
const headerValue = fc
  .array(valueByte, { maxLength: 30 })
  .map((bytes) => Buffer.from(bytes))
  .filter(
    (b) => b.length === 0 || (b[0] !== 0x20 && b[0] !== 0x09 && b[b.length - 1] !== 0x20 && b[b.length - 1] !== 0x09),
  );
const headersArb = fc.array(fc.tuple(headerName, headerValue), { maxLength: 20 });

let caseId = 0;

describe('scope building from raw requests (property)', () => {
  it('path decoded, raw_path and query_string as sent, headers lowercased in order with duplicates', async () => {
    await fc.assert(
      fc.asyncProperty(pathArb, queryArb, headersArb, fc.boolean(), async (path, query, headers, absoluteForm) => {
        const id = String(++caseId);
        const target =
          (absoluteForm ? `http://example.test:${port}` : '') +
          path.wire +
          (query ? '?' + query.toString('latin1') : '');
        const head: Buffer[] = [Buffer.from(`GET ${target} HTTP/1.1\r\nHost: example.test\r\n`, 'latin1')];
        for (const [name, value] of headers) head.push(Buffer.from(name + ': ', 'latin1'), value, Buffer.from('\r\n'));
        head.push(Buffer.from(`X-Case: ${id}\r\nConnection: close\r\n\r\n`));

        const status = await exchange(Buffer.concat(head));
        assert.equal(status, 'HTTP/1.1 200 OK', `request ${JSON.stringify(target)} was refused`);
        const scope = scopes.get(id);
        assert.ok(scope, 'the app saw the request');
        scopes.delete(id);

        assert.equal(scope.type, 'http');
        assert.equal(scope.method, 'GET');
        assert.equal(scope.http_version, '1.1');
        assert.equal(scope.scheme, 'http');
        assert.equal(scope.path, path.decoded);
        assert.deepEqual(scope.raw_path, Buffer.from(path.wire, 'latin1'));
        assert.deepEqual(scope.query_string, query ?? Buffer.alloc(0));
        const expected: [Buffer, Buffer][] = [
          [Buffer.from('host'), Buffer.from('example.test')],
          ...headers.map(([n, v]): [Buffer, Buffer] => [Buffer.from(n.toLowerCase(), 'latin1'), v]),
          [Buffer.from('x-case'), Buffer.from(id)],
          [Buffer.from('connection'), Buffer.from('close')],
        ];
        assert.deepEqual(scope.headers, expected);
        assert.equal(scope.client?.[0], '127.0.0.1');
        assert.equal(scope.server?.[1], port);
      }),
      { numRuns: 100 },
    );
  });

  it('a path that is not percent-encoded UTF-8 gets 400 and the app is not called', async () => {
    const badByte = fc.oneof(
      fc.integer({ min: 0x80, max: 0xbf }).map((b) => '%' + hex(b, true)), // a lone continuation byte
      fc.integer({ min: 0xc2, max: 0xf4 }).map((b) => '%' + hex(b, false)), // a lead byte with nothing after it
      fc.constantFrom('%', '%G1', '%4', '%zz'), // not percent-encoding at all
    );
    await fc.assert(
      fc.asyncProperty(pathArb, badByte, async (path, bad) => {
        const id = String(++caseId);
        const status = await exchange(
          Buffer.from(`GET ${path.wire}${bad} HTTP/1.1\r\nHost: h\r\nX-Case: ${id}\r\n\r\n`, 'latin1'),
        );
        assert.match(status, /^HTTP\/1.1 400 /);
        assert.equal(scopes.has(id), false);
      }),
      { numRuns: 40 },
    );
  });
});
