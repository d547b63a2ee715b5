// `canal serve --proxy-headers` on real sockets: requests from 127.0.0.1 with forged forwarding
// headers are believed when loopback is trusted and ignored when it is not; X-Forwarded-For
// chains, Forwarded with IPv6, WebSocket scopes, the access log, --forwarded-host with the
// allowed-hosts check, and --root-path under a router.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { FIXTURES, runCli, serve, stop } from './cli-helpers.ts';
import { rawRequest } from './raw-request.ts';

const APP = join(FIXTURES, 'proxy-app.ts');

interface Seen {
  client: [string, number] | null;
  scheme: string;
  host: string | null;
  path: string;
  root_path: string;
  route: { kwargs: Record<string, unknown> } | null;
}

/** GET `path` from 127.0.0.1 with `headers` (a list value: one header line per entry). */
function get(
  url: string,
  path: string,
  headers: Record<string, string | string[]> = {},
): Promise<{ status: number; body: string; seen: Seen | null }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        let seen: Seen | null = null;
        try {
          seen = JSON.parse(body) as Seen;
        } catch {}
        resolve({ status: res.statusCode!, body, seen });
      });
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('timed out')));
    req.end();
  });
}

/** Opens a WebSocket from 127.0.0.1 with `headers` and returns the scope the app reported. */
function wsSeen(url: string, headers: Record<string, string>): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`, { headers });
    ws.once('message', (data) => resolve(JSON.parse(String(data)) as Seen));
    ws.once('error', reject);
    setTimeout(() => reject(new Error('no message within 5 s')), 5000).unref();
  });
}

const FORGED = {
  'x-forwarded-for': '198.51.100.7',
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'public.example',
};

describe('canal serve --proxy-headers', { concurrency: 3 }, () => {
  it('believes a trusted peer (loopback by default): client, scheme, chains, Forwarded, WebSocket, log', async () => {
    const cli = await serve([APP, '--port', '0', '--proxy-headers', '--access-log', '-']);
    try {
      const forged = (await get(cli.url, '/forged', FORGED)).seen!;
      assert.deepEqual(forged.client, ['198.51.100.7', 0]);
      assert.equal(forged.scheme, 'https');
      assert.match(forged.host!, /^127\.0\.0\.1:\d+$/, 'the host is taken only with --forwarded-host');

      // Walking from the right: 127.0.0.1 is a trusted proxy, 198.51.100.2 is the client;
      // 203.0.113.9 is whatever the client claimed and is not believed.
      const chain = (await get(cli.url, '/chain', { 'x-forwarded-for': '203.0.113.9, 198.51.100.2, 127.0.0.1' })).seen!;
      assert.deepEqual(chain.client, ['198.51.100.2', 0]);
      const lines = (await get(cli.url, '/lines', { 'x-forwarded-for': ['203.0.113.9', '198.51.100.3'] })).seen!;
      assert.deepEqual(lines.client, ['198.51.100.3', 0], 'header lines are one list, in order');

      const v6 = (await get(cli.url, '/v6', { forwarded: 'for="[2001:db8:cafe::17]:4711";proto=https' })).seen!;
      assert.deepEqual(v6.client, ['2001:db8:cafe::17', 4711]);
      assert.equal(v6.scheme, 'https');

      const bad = await get(cli.url, '/bad', { 'x-forwarded-for': 'nonsense', 'x-forwarded-proto': 'gopher' });
      assert.equal(bad.status, 200, 'malformed values are ignored, never an error');
      assert.equal(bad.seen!.client![0], '127.0.0.1');
      assert.equal(bad.seen!.scheme, 'http');
      const badForwarded = await get(cli.url, '/bad', { forwarded: 'for=[::1]:80' });
      assert.equal(badForwarded.status, 200);
      assert.equal(badForwarded.seen!.client![0], '127.0.0.1');

      const ws = await wsSeen(cli.url, { 'x-forwarded-for': '198.51.100.8', 'x-forwarded-proto': 'https' });
      assert.deepEqual(ws.client, ['198.51.100.8', 0]);
      assert.equal(ws.scheme, 'wss');
      const wsForwarded = await wsSeen(cli.url, { forwarded: 'for="[2001:db8::9]";proto=http' });
      assert.deepEqual(wsForwarded.client, ['2001:db8::9', 0]);
      assert.equal(wsForwarded.scheme, 'ws');

      await cli.waitFor(/WSDISCONNECT \/ws 2001:db8::9:0/);
      assert.match(cli.stdout(), /^198\.51\.100\.7:0 - - \[[^\]]+\] "GET \/forged HTTP\/1\.1" 200 /m);
      assert.match(cli.stdout(), /^WSCONNECT \/ws 198\.51\.100\.8:0$/m);
    } finally {
      assert.equal(await stop(cli), 0);
    }
  });

  it('ignores them from a peer not in --forwarded-allow-ips, which wins over FORWARDED_ALLOW_IPS', async () => {
    const cli = await serve([APP, '--port', '0', '--proxy-headers', '--forwarded-allow-ips', '10.0.0.1,fd00::/8'], {
      env: { FORWARDED_ALLOW_IPS: '*' },
    });
    try {
      const forgeries: Record<string, string>[] = [
        FORGED,
        { 'x-forwarded-for': '203.0.113.9, 198.51.100.2, 127.0.0.1' },
        { forwarded: 'for="[2001:db8:cafe::17]:4711";proto=https' },
      ];
      for (const headers of forgeries) {
        const seen = (await get(cli.url, '/', headers)).seen!;
        assert.equal(seen.client![0], '127.0.0.1');
        assert.equal(seen.scheme, 'http');
      }
      const ws = await wsSeen(cli.url, FORGED);
      assert.equal(ws.client![0], '127.0.0.1');
      assert.equal(ws.scheme, 'ws');
    } finally {
      assert.equal(await stop(cli), 0);
    }
  });

  it('reads the trusted list from FORWARDED_ALLOW_IPS when the flag is not given', async () => {
    const cli = await serve([APP, '--port', '0', '--proxy-headers'], { env: { FORWARDED_ALLOW_IPS: '10.0.0.0/8' } });
    try {
      assert.equal((await get(cli.url, '/', FORGED)).seen!.client![0], '127.0.0.1');
    } finally {
      assert.equal(await stop(cli), 0);
    }
  });

  it('--forwarded-host: the host the app and AllowedHostsMiddleware see; two Host headers still get 400', async () => {
    const cli = await serve([APP, '--port', '0', '--proxy-headers', '--forwarded-host']);
    try {
      const ok = await get(cli.url, '/guarded', FORGED);
      assert.equal(ok.status, 200);
      assert.equal(ok.seen!.host, 'public.example');
      assert.equal((await get(cli.url, '/guarded')).status, 400, 'the Host sent by the proxy itself is not allowed');
      assert.equal((await get(cli.url, '/guarded', { 'x-forwarded-host': 'evil.example' })).status, 400);
      assert.equal((await wsSeen(cli.url, FORGED)).host, 'public.example');

      const port = new URL(cli.url).port;
      const twoHosts =
        `GET /guarded HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nHost: public.example\r\n` +
        `X-Forwarded-Host: public.example\r\nConnection: close\r\n\r\n`;
      assert.match(await rawRequest(Number(port), twoHosts), /^HTTP\/1\.1 400 /);
    } finally {
      assert.equal(await stop(cli), 0);
    }
  });

  it('--root-path: scope.path is the path as received, and a router matches below the root either way', async () => {
    const cli = await serve([APP, '--port', '0', '--root-path', '/api']);
    try {
      const kept = (await get(cli.url, '/api/items/3/')).seen!;
      assert.equal(kept.path, '/api/items/3/');
      assert.equal(kept.root_path, '/api');
      assert.deepEqual(kept.route?.kwargs, { id: 3 });
      // A proxy that strips the prefix: the path arrives without it, and still routes.
      const stripped = (await get(cli.url, '/items/4/')).seen!;
      assert.equal(stripped.path, '/items/4/');
      assert.deepEqual(stripped.route?.kwargs, { id: 4 });
    } finally {
      assert.equal(await stop(cli), 0);
    }
  });

  it('refuses --forwarded-allow-ips without --proxy-headers, and a bad entry, with exit 2', async () => {
    const stray = await runCli(['serve', APP, '--port', '0', '--forwarded-allow-ips', '10.0.0.1']);
    assert.equal(stray.code, 2);
    assert.match(stray.stderr, /--forwarded-allow-ips needs --proxy-headers/);
    const bad = await runCli(['serve', APP, '--port', '0', '--proxy-headers', '--forwarded-allow-ips', '10.0.0.0/99']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--forwarded-allow-ips: "10\.0\.0\.0\/99" is not an IP address, a CIDR block/);
  });
});
