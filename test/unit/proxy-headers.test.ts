// Proxy headers, read without a socket: the trusted list, RFC 7239 Forwarded, address nodes,
// the walk from the right past trusted proxies, and what a scope takes from them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import type { HttpScope, WebsocketScope } from '../../src/asgi/types.ts';
import {
  applyProxyHeaders,
  clientIndex,
  parseForwarded,
  parseNode,
  proxyHeadersFrom,
  splitAddressList,
  trustedPeers,
} from '../../src/server/proxy-headers.ts';
import { proxyHeadersFromFlags } from '../../src/cli/proxy-headers-flags.ts';
import { resolveServerOptions } from '../../src/server/options.ts';

describe('trustedPeers', () => {
  it('matches addresses and CIDR blocks of both families, IPv4-mapped IPv6 peers included', () => {
    const trusts = trustedPeers(['127.0.0.1', '::1', '10.0.0.0/8', 'fd00::/8', ' 192.168.1.7 '], 'test');
    for (const a of ['127.0.0.1', '::1', '10.1.2.3', '::ffff:10.9.9.9', '::ffff:127.0.0.1', 'fd12::1', '192.168.1.7'])
      assert.equal(trusts(a), true, a);
    for (const a of ['127.0.0.2', '11.0.0.1', '2001:db8::1', '', undefined, 'localhost', '192.168.1.8'])
      assert.equal(trusts(a), false, String(a));
  });

  it("'*' trusts every peer, one without an address too", () => {
    const trusts = trustedPeers(['10.0.0.1', '*'], 'test');
    assert.equal(trusts('203.0.113.9'), true);
    assert.equal(trusts(undefined), true);
  });

  it('refuses what is not an address, a CIDR block or *, naming the entry and the label', () => {
    for (const bad of ['localhost', '10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/x', '1.2.3.4.5', '10.0.0.300']) {
      assert.throws(() => trustedPeers([bad], '--forwarded-allow-ips'), {
        code: 'ERR_INVALID_OPTION',
        message: new RegExp(`^--forwarded-allow-ips: ${JSON.stringify(bad).replace(/[.*[\]/]/g, '\\$&')} is not`),
      });
    }
    assert.throws(() => trustedPeers([], 'x'), /non-empty list/);
  });

  it('splits a comma-separated list, dropping blanks', () => {
    assert.deepEqual(splitAddressList(' 10.0.0.1, ::1 ,,172.16.0.0/12 '), ['10.0.0.1', '::1', '172.16.0.0/12']);
  });
});

describe('the proxyHeaders server option', () => {
  it('is off by default and with false; true trusts loopback only', () => {
    assert.equal(resolveServerOptions({}).proxyHeaders, false);
    assert.equal(proxyHeadersFrom(false), null);
    const p = proxyHeadersFrom(true)!;
    assert.equal(p.host, false);
    assert.equal(p.trusts('127.0.0.1'), true);
    assert.equal(p.trusts('::1'), true);
    assert.equal(p.trusts('10.0.0.1'), false);
  });

  it('refuses bad values with a message naming them', () => {
    assert.throws(() => resolveServerOptions({ proxyHeaders: { trusted: ['nope'] } }), {
      code: 'ERR_INVALID_OPTION',
      message: /server option 'proxyHeaders.trusted': "nope" is not an IP address/,
    });
    assert.throws(
      () => resolveServerOptions({ proxyHeaders: { trusted: '10.0.0.1' as unknown as string[] } }),
      /non-empty list/,
    );
    assert.throws(
      () => resolveServerOptions({ proxyHeaders: { hosts: true } as never }),
      /unknown key 'hosts' in server option 'proxyHeaders'/,
    );
    assert.throws(() => resolveServerOptions({ proxyHeaders: { host: 'yes' as never } }), /must be true or false/);
    assert.throws(() => resolveServerOptions({ proxyHeaders: 'on' as never }), /must be true, false or/);
  });
});

describe('parseForwarded (RFC 7239)', () => {
  it('reads elements, parameters and quoted values, IPv6 with a port among them', () => {
    assert.deepEqual(parseForwarded('for=192.0.2.60;proto=http;by=203.0.113.43'), [
      { for: '192.0.2.60', proto: 'http', by: '203.0.113.43' },
    ]);
    assert.deepEqual(parseForwarded('For="[2001:db8:cafe::17]:4711", for=198.51.100.17 ; Proto=HTTPS'), [
      { for: '[2001:db8:cafe::17]:4711' },
      { for: '198.51.100.17', proto: 'HTTPS' },
    ]);
    assert.deepEqual(parseForwarded('for="a\\"b", ,for=unknown'), [{ for: 'a"b' }, { for: 'unknown' }]);
    assert.deepEqual(parseForwarded('host="example.com:8443";for="_hidden"'), [
      { host: 'example.com:8443', for: '_hidden' },
    ]);
  });

  it('gives null for text that does not follow the grammar', () => {
    for (const bad of [
      'for',
      'for=',
      '=1.2.3.4',
      'for=1.2.3.4:80',
      'for=[::1]',
      'for="unterminated',
      'for=1.2.3.4;for=5.6.7.8',
      'for=1.2.3.4 proto=http',
      'for="x"y',
    ]) {
      assert.equal(parseForwarded(bad), null, bad);
    }
  });
});

describe('parseNode', () => {
  it('reads addresses with and without a port', () => {
    assert.deepEqual(parseNode(' 203.0.113.5 '), ['203.0.113.5', 0]);
    assert.deepEqual(parseNode('203.0.113.5:8080'), ['203.0.113.5', 8080]);
    assert.deepEqual(parseNode('2001:db8::1'), ['2001:db8::1', 0]);
    assert.deepEqual(parseNode('[2001:db8::1]'), ['2001:db8::1', 0]);
    assert.deepEqual(parseNode('[2001:db8::1]:443'), ['2001:db8::1', 443]);
    assert.deepEqual(parseNode('[2001:db8::1]:_obf'), ['2001:db8::1', 0]);
  });

  it('gives null for anything else', () => {
    for (const bad of [
      '',
      'unknown',
      '_hidden',
      'example.com',
      '1.2.3.4:99999',
      '[1.2.3.4]',
      '[::1',
      '::1]:80',
      '1.2.3',
    ])
      assert.equal(parseNode(bad), null, bad);
  });
});

describe('clientIndex: walking from the right past trusted proxies', () => {
  const trusts = trustedPeers(['127.0.0.1', '10.0.0.0/8'], 't');
  const chain = (...a: string[]) => a.map(parseNode);
  it('stops at the right-most entry that is not a trusted proxy', () => {
    assert.equal(clientIndex(chain('198.51.100.1', '203.0.113.7', '10.0.0.2', '127.0.0.1'), trusts), 1);
    assert.equal(clientIndex(chain('198.51.100.1'), trusts), 0);
  });
  it('takes the left-most when every entry is a trusted proxy, and stops at an entry that is no address', () => {
    assert.equal(clientIndex(chain('10.0.0.9', '127.0.0.1'), trusts), 0);
    assert.equal(clientIndex(chain('198.51.100.1', 'garbage', '10.0.0.2'), trusts), 1);
    assert.equal(clientIndex([], trusts), -1);
  });
});

function httpScope(headers: [string, string][] = [['host', 'internal:8000']]): HttpScope {
  return {
    type: 'http',
    scheme: 'http',
    headers: headers.map(([k, v]) => [Buffer.from(k), Buffer.from(v)]),
    client: ['127.0.0.1', 5000],
  } as unknown as HttpScope;
}
const socket = (remoteAddress: string | undefined) => ({ remoteAddress }) as Socket;
const raw = (pairs: [string, string][]) => pairs.flat();
const hostOf = (scope: HttpScope | WebsocketScope) =>
  scope.headers
    .filter(([k]) => k.toString() === 'host')
    .map(([, v]) => v.toString())
    .join('|');

describe('applyProxyHeaders', () => {
  const proxy = proxyHeadersFrom({ trusted: ['127.0.0.1', '10.0.0.0/8'], host: true })!;

  it('takes client, scheme and host from X-Forwarded-* when the peer is trusted', () => {
    const scope = httpScope();
    applyProxyHeaders(
      scope,
      raw([
        ['X-Forwarded-For', '203.0.113.7, 10.0.0.5'],
        ['X-Forwarded-Proto', 'https'],
        ['X-Forwarded-Host', 'example.com'],
      ]),
      socket('127.0.0.1'),
      proxy,
    );
    assert.deepEqual(scope.client, ['203.0.113.7', 0]);
    assert.equal(scope.scheme, 'https');
    assert.equal(hostOf(scope), 'example.com');
    assert.equal(Object.isFrozen(scope.client), true);
  });

  it('leaves the scope alone when the peer is not trusted', () => {
    const scope = httpScope();
    const before = httpScope();
    applyProxyHeaders(
      scope,
      raw([
        ['x-forwarded-for', '203.0.113.7'],
        ['x-forwarded-proto', 'https'],
      ]),
      socket('198.51.100.3'),
      proxy,
    );
    assert.deepEqual(scope, before);
  });

  it('joins repeated header lines in order, and picks the proto and host of the client hop', () => {
    const scope = httpScope();
    applyProxyHeaders(
      scope,
      raw([
        ['x-forwarded-for', '198.51.100.1'],
        ['x-forwarded-for', '203.0.113.7, 10.0.0.5'],
        ['x-forwarded-proto', 'http, https, http'],
        ['x-forwarded-host', 'a.example, b.example, c.internal'],
      ]),
      socket('10.0.0.9'),
      proxy,
    );
    assert.deepEqual(scope.client, ['203.0.113.7', 0]);
    assert.equal(scope.scheme, 'https');
    assert.equal(hostOf(scope), 'b.example');
  });

  it('reads Forwarded when no X-Forwarded-* header is there; ws/wss for WebSockets', () => {
    const scope = { ...httpScope(), type: 'websocket', scheme: 'ws' } as unknown as WebsocketScope;
    applyProxyHeaders(
      scope,
      raw([['Forwarded', 'for="[2001:db8::7]:4711";proto=https;host=chat.example, for=10.0.0.5;proto=http']]),
      socket('::ffff:127.0.0.1'),
      proxy,
    );
    assert.deepEqual(scope.client, ['2001:db8::7', 4711]);
    assert.equal(scope.scheme, 'wss');
    assert.equal(hostOf(scope), 'chat.example');
  });

  it('ignores Forwarded when X-Forwarded-For is there', () => {
    const scope = httpScope();
    applyProxyHeaders(
      scope,
      raw([
        ['forwarded', 'for=192.0.2.1;proto=https'],
        ['x-forwarded-for', '203.0.113.7'],
      ]),
      socket('127.0.0.1'),
      proxy,
    );
    assert.deepEqual(scope.client, ['203.0.113.7', 0]);
    assert.equal(scope.scheme, 'http');
  });

  it('ignores malformed values, keeping what the socket says', () => {
    for (const headers of [
      [['x-forwarded-for', 'not-an-address']],
      [['x-forwarded-for', '203.0.113.7, bogus']],
      [['x-forwarded-proto', 'ftp']],
      [['x-forwarded-host', 'evil.example/path']],
      [['x-forwarded-host', 'a b']],
      [['forwarded', 'for=1.2.3.4;for=5.6.7.8']],
      [['forwarded', 'for=unknown;proto=gopher']],
      [['forwarded', 'for="[::1"']],
    ] as [string, string][][]) {
      const scope = httpScope();
      applyProxyHeaders(scope, raw(headers), socket('127.0.0.1'), proxy);
      assert.deepEqual(scope.client, ['127.0.0.1', 5000], JSON.stringify(headers));
      assert.equal(scope.scheme, 'http');
      assert.equal(hostOf(scope), 'internal:8000');
    }
  });

  it('leaves the host header alone unless host is opted in; adds one to a request that had none', () => {
    const scope = httpScope();
    applyProxyHeaders(scope, raw([['x-forwarded-host', 'example.com']]), socket('127.0.0.1'), proxyHeadersFrom(true)!);
    assert.equal(hostOf(scope), 'internal:8000');
    const bare = httpScope([]);
    applyProxyHeaders(bare, raw([['x-forwarded-host', '[2001:db8::1]:8443']]), socket('127.0.0.1'), proxy);
    assert.equal(hostOf(bare), '[2001:db8::1]:8443');
  });
});

describe('proxyHeadersFromFlags', () => {
  it('is off without --proxy-headers, and refuses its refinements then', () => {
    assert.equal(proxyHeadersFromFlags({}, undefined, {}), undefined);
    assert.equal(proxyHeadersFromFlags({}, undefined, { FORWARDED_ALLOW_IPS: '*' }), undefined);
    assert.throws(() => proxyHeadersFromFlags({ 'forwarded-allow-ips': '*' }, undefined, {}), {
      code: 'ERR_INVALID_OPTION',
      message: '--forwarded-allow-ips needs --proxy-headers (or proxyHeaders in the config)',
    });
    assert.throws(() => proxyHeadersFromFlags({ 'forwarded-host': true }, false, {}), /--forwarded-host needs/);
  });

  it('takes the list from the flag, else FORWARDED_ALLOW_IPS, else the config', () => {
    const config = { trusted: ['10.1.1.1'] };
    assert.deepEqual(proxyHeadersFromFlags({ 'proxy-headers': true }, undefined, {}), {});
    assert.deepEqual(proxyHeadersFromFlags({}, config, {}), config);
    assert.deepEqual(proxyHeadersFromFlags({}, config, { FORWARDED_ALLOW_IPS: '10.0.0.1, ::1' }), {
      trusted: ['10.0.0.1', '::1'],
    });
    assert.deepEqual(
      proxyHeadersFromFlags({ 'proxy-headers': true, 'forwarded-allow-ips': '*', 'forwarded-host': true }, undefined, {
        FORWARDED_ALLOW_IPS: '10.0.0.1',
      }),
      { trusted: ['*'], host: true },
    );
  });

  it('names the flag or the variable a bad entry came from', () => {
    assert.throws(
      () => proxyHeadersFromFlags({ 'proxy-headers': true, 'forwarded-allow-ips': '10.0.0.1,bad' }, undefined, {}),
      /^InvalidOptionError: --forwarded-allow-ips: "bad" is not an IP address/,
    );
    assert.throws(
      () => proxyHeadersFromFlags({ 'proxy-headers': true }, undefined, { FORWARDED_ALLOW_IPS: 'x' }),
      /FORWARDED_ALLOW_IPS: "x" is not/,
    );
  });
});
