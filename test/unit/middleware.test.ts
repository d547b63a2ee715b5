// Middleware: origin checks, cookies, signed sessions (memory and Redis stores), auth with
// login/logout, driven in-process and on a real server.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import type { Application, HttpScope } from '../../src/asgi/types.ts';
import { createServer } from '../../src/server/server.ts';
import { HttpCommunicator, WebsocketCommunicator } from '../../src/testing/index.ts';
import {
  AllowedHostsOriginValidator,
  AuthMiddlewareStack,
  CookieMiddleware,
  OriginValidator,
  RedisSessionStore,
  SessionMiddleware,
  Signer,
  login,
  logout,
  originMatches,
  parseCookies,
  serializeCookie,
} from '../../src/middleware/index.ts';
import { requireRedis, uniquePrefix, cleanPrefix } from '../redis/helpers.ts';

const SECRET = ['a-long-enough-secret-key', 'an-older-rotated-secret-key'];

const accept: Application = async (_scope, receive, send) => {
  await receive();
  await send({ type: 'websocket.accept' });
  await receive();
};

describe('OriginValidator', () => {
  it('matches scheme, port, leading-dot subdomains and *', () => {
    assert.ok(originMatches('https://example.com', 'example.com'));
    assert.ok(originMatches('http://example.com:8080', 'example.com'));
    assert.ok(originMatches('https://chat.example.com', '.example.com'));
    assert.ok(originMatches('https://example.com', '.example.com'));
    assert.ok(!originMatches('https://evilexample.com', '.example.com'));
    assert.ok(originMatches('https://example.com', 'https://example.com'));
    assert.ok(!originMatches('http://example.com', 'https://example.com'));
    assert.ok(originMatches('https://example.com', 'example.com:443'));
    assert.ok(!originMatches('https://example.com:8443', 'example.com:443'));
    assert.ok(originMatches('http://anything.test', '*'));
    assert.ok(!originMatches('not a url', 'example.com'));
  });

  it('refuses other origins and a missing Origin, allows listed ones', async () => {
    const app = OriginValidator(accept, ['example.com', '.example.org']);
    const ok = await new WebsocketCommunicator(app, '/ws/', {
      headers: [['origin', 'https://chat.example.org']],
    }).connect();
    assert.equal(ok.connected, true);
    const evil = await new WebsocketCommunicator(app, '/ws/', { headers: [['origin', 'https://evil.test']] }).connect();
    assert.equal(evil.connected, false);
    const none = await new WebsocketCommunicator(app, '/ws/').connect();
    assert.equal(none.connected, false, 'no Origin is refused unless * is allowed');
    const star = await new WebsocketCommunicator(OriginValidator(accept, ['*']), '/ws/').connect();
    assert.equal(star.connected, true);
    assert.throws(() => OriginValidator(accept, 'example.com' as unknown as string[]), { code: 'ERR_INVALID_OPTION' });
  });

  it('a page from another origin cannot open a WebSocket on a real server (403)', async () => {
    const server = createServer(
      AllowedHostsOriginValidator(
        async (s, r, send) => (s.type === 'lifespan' ? undefined : accept(s, r, send)),
        ['localhost', '127.0.0.1'],
      ),
      { port: 0 },
    );
    const { port } = await server.listen();
    try {
      const status = await new Promise<number>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/`, { origin: 'https://attacker.test' });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode!));
        ws.on('open', () => resolve(101));
        ws.on('error', () => {});
      });
      assert.equal(status, 403);
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/`, { origin: `http://127.0.0.1:${port}` });
      await new Promise<void>((resolve, reject) => {
        ws.on('open', () => resolve());
        ws.on('error', reject);
      });
      ws.close();
    } finally {
      await server.close();
    }
  });
});

describe('cookies and signing', () => {
  it('parses and serialises cookies with their attributes', () => {
    // A null-prototype object: spread to compare with a plain one.
    const parsed = parseCookies('a=1; b="two"; c=x%20y; a=ignored; d=%E0%A4%A; =nameless');
    assert.deepEqual({ ...parsed }, { a: '1', b: 'two', c: 'x y', d: '%E0%A4%A' });
    assert.equal(Object.getPrototypeOf(Object.getPrototypeOf(parsed)), null, 'no Object.prototype up the chain');
    assert.deepEqual({ ...parseCookies(null) }, {});
    assert.equal(
      serializeCookie('sid', 'v 1', {
        maxAge: 60,
        domain: 'example.com',
        secure: true,
        httpOnly: true,
        sameSite: 'Strict',
      }),
      'sid=v%201; Max-Age=60; Domain=example.com; Path=/; HttpOnly; Secure; SameSite=Strict',
    );
    assert.equal(serializeCookie('x', 'y'), 'x=y; Path=/; SameSite=Lax');
    const none = serializeCookie('x', 'y', { sameSite: 'None', maxAge: 9.7 });
    assert.equal(none, 'x=y; Max-Age=9; Path=/; Secure; SameSite=None');
    assert.equal(serializeCookie('x', 'y', { sameSite: false }), 'x=y; Path=/');
    assert.throws(() => serializeCookie('bad name', 'v'), { code: 'ERR_INVALID_OPTION' });
    assert.throws(() => serializeCookie('a/b', 'v'), { code: 'ERR_INVALID_OPTION' }, 'a name is a token');
  });

  it('refuses attributes that would break the Set-Cookie header, naming the cookie', () => {
    const bad: [Parameters<typeof serializeCookie>[2], RegExp][] = [
      [{ path: '/; Domain=evil.test' }, /path is invalid/],
      [{ domain: 'evil.test; HttpOnly' }, /domain is invalid/],
      [{ expires: new Date(Number.NaN) }, /expires is invalid/],
      [{ maxAge: Number.POSITIVE_INFINITY }, /maxAge must be a number/],
      [{ sameSite: 'Loose' as 'Lax' }, /sameSite is invalid/],
    ];
    for (const [options, message] of bad) {
      const named = (err: Error & { code?: string }) =>
        err.code === 'ERR_INVALID_OPTION' && message.test(err.message) && err.message.includes('"sid"');
      assert.throws(() => serializeCookie('sid', 'v', options), named, JSON.stringify(options));
    }
  });

  it('CookieMiddleware puts scope.cookies on a copy of the scope', async () => {
    let seen: Record<string, string> | undefined;
    const app = CookieMiddleware(async (scope, receive, send) => {
      seen = scope.cookies;
      await receive();
      await send({ type: 'http.response.start', status: 204 });
      await send({ type: 'http.response.body' });
    });
    await new HttpCommunicator(app, 'GET', '/', { headers: [['cookie', 'theme=dark; lang=fr']] }).getResponse();
    assert.deepEqual({ ...seen }, { theme: 'dark', lang: 'fr' });
  });

  it('signs with the first key, accepts any, refuses tampering', () => {
    const signer = new Signer(SECRET);
    const signed = signer.sign('session-key');
    assert.equal(signer.unsign(signed), 'session-key');
    const old = new Signer([SECRET[1]!]).sign('older');
    assert.equal(signer.unsign(old), 'older', 'a value signed with a rotated-out key still verifies');
    assert.equal(signer.unsign(signed.slice(0, -2) + 'xx'), null);
    assert.equal(signer.unsign('other-key' + signed.slice(signed.lastIndexOf('.'))), null);
    assert.equal(new Signer(['a-completely-different-key']).unsign(signed), null);
    assert.throws(() => new Signer(['short']), { code: 'ERR_INVALID_OPTION' });
  });
});

/** A counter app: each request increments `n` in the session and answers it. */
function counter(): Application {
  return async (scope, receive, send) => {
    await receive();
    const session = scope.session!;
    const n = (session.get<number>('n') ?? 0) + 1;
    session.set('n', n);
    await send({ type: 'http.response.start', status: 200 });
    await send({ type: 'http.response.body', body: String(n) });
  };
}

async function request(app: Application, cookie?: string): Promise<{ body: string; setCookie: string | undefined }> {
  const res = await new HttpCommunicator(app, 'GET', '/', {
    headers: cookie ? [['cookie', cookie]] : [],
  }).getResponse();
  return { body: res.body.toString(), setCookie: res.header('set-cookie') };
}

describe('SessionMiddleware', () => {
  it('keeps data across requests through the signed cookie; a tampered cookie gives a fresh session', async () => {
    const app = SessionMiddleware(counter(), { secretKeys: SECRET });
    const first = await request(app);
    assert.equal(first.body, '1');
    assert.match(first.setCookie!, /^sessionid=[^;]+; Max-Age=1209600; Path=\/; HttpOnly; SameSite=Lax$/);
    const cookie = first.setCookie!.split(';')[0]!;
    assert.equal((await request(app, cookie)).body, '2');
    assert.equal((await request(app, cookie)).body, '3');
    const tampered = cookie.slice(0, -3) + 'AAA';
    assert.equal((await request(app, tampered)).body, '1', 'a tampered cookie is not trusted');
    const forged = `sessionid=${new Signer(['an-attacker-secret-key!']).sign('guess')}`;
    assert.equal((await request(app, forged)).body, '1');
  });

  it('WebSocket code saves explicitly, and HTTP sees it', async () => {
    const store = new (await import('../../src/middleware/session.ts')).MemorySessionStore();
    const http = SessionMiddleware(counter(), { secretKeys: SECRET, store });
    const { setCookie } = await request(http);
    const cookie = setCookie!.split(';')[0]!;
    const ws = SessionMiddleware(
      async (scope, receive, send) => {
        await receive();
        scope.session!.set('n', 41);
        await scope.session!.save();
        await send({ type: 'websocket.accept' });
        await receive();
      },
      { secretKeys: SECRET, store },
    );
    const c = new WebsocketCommunicator(ws, '/ws/', { headers: [['cookie', cookie]] });
    assert.equal((await c.connect()).connected, true);
    await c.disconnect();
    assert.equal((await request(http, cookie)).body, '42');
  });

  it('the Redis store keeps sessions across two server instances', async () => {
    const admin = await requireRedis();
    const prefix = `${uniquePrefix()}:session:`;
    const [a, b] = [new RedisSessionStore({ prefix }), new RedisSessionStore({ prefix })];
    try {
      const one = SessionMiddleware(counter(), { secretKeys: SECRET, store: a });
      const two = SessionMiddleware(counter(), { secretKeys: SECRET, store: b });
      const cookie = (await request(one)).setCookie!.split(';')[0]!;
      assert.equal((await request(two, cookie)).body, '2');
      assert.equal((await request(one, cookie)).body, '3');
      const keys = await admin.keys(`${prefix}*`);
      assert.equal(keys.length, 1);
      assert.ok((await admin.ttl(keys[0]!)) > 1_200_000);
    } finally {
      await a.close();
      await b.close();
      await cleanPrefix(admin, prefix);
      admin.disconnect();
    }
  });
});

describe('AuthMiddlewareStack', () => {
  const users = new Map([['7', { id: 7, isAuthenticated: true, name: 'Ada' }]]);
  const getUser = (id: string) => users.get(id) ?? null;

  const app = AuthMiddlewareStack(
    async (scope, receive, send) => {
      await receive();
      const path = (scope as HttpScope).path;
      if (path === '/login') await login(scope, users.get('7')!);
      if (path === '/logout') await logout(scope);
      await send({ type: 'http.response.start', status: 200 });
      await send({
        type: 'http.response.body',
        body: JSON.stringify({ user: scope.user!.isAuthenticated ? scope.user!.name : null, key: scope.session!.key }),
      });
    },
    { secretKeys: SECRET, getUser },
  );

  async function get(path: string, cookie?: string) {
    const res = await new HttpCommunicator(app, 'GET', path, {
      headers: cookie ? [['cookie', cookie]] : [],
    }).getResponse();
    return {
      ...(JSON.parse(res.body.toString()) as { user: string | null; key: string | null }),
      setCookie: res.header('set-cookie'),
    };
  }

  it('anonymous until login; login cycles the session key; logout forgets the user', async () => {
    assert.equal((await get('/')).user, null);
    const loggedIn = await get('/login');
    assert.equal(loggedIn.user, 'Ada');
    const cookie = loggedIn.setCookie!.split(';')[0]!;
    const again = await get('/', cookie);
    assert.equal(again.user, 'Ada', 'the user is loaded from the session');

    // a session that existed before login gets a new key at login (no fixation)
    const before = await new HttpCommunicator(
      SessionMiddleware(
        async (scope, receive, send) => {
          await receive();
          scope.session!.set('cart', ['book']);
          await send({ type: 'http.response.start', status: 204 });
          await send({ type: 'http.response.body' });
        },
        { secretKeys: SECRET },
      ),
      'GET',
      '/',
    ).getResponse();
    assert.ok(before.header('set-cookie'));
    const preKey = again.key;
    const relogin = await get('/login', cookie);
    assert.notEqual(relogin.key, preKey, 'login gives the session a new key');
    assert.notEqual(relogin.setCookie, undefined);

    const out = await get('/logout', relogin.setCookie!.split(';')[0]!);
    assert.equal(out.user, null);
    assert.match(out.setCookie!, /Max-Age=0/);
    assert.equal((await get('/', relogin.setCookie!.split(';')[0]!)).user, null, 'the old session is gone');
  });

  it('works on WebSocket scopes too', async () => {
    let who: string | null = null;
    const shared = AuthMiddlewareStack(
      async (scope, receive, send) => {
        if (scope.type === 'websocket') {
          await receive();
          who = scope.user!.isAuthenticated ? (scope.user!.name as string) : null;
          await send({ type: 'websocket.accept' });
          await receive();
          return;
        }
        await receive();
        await login(scope, users.get('7')!);
        await send({ type: 'http.response.start', status: 204 });
        await send({ type: 'http.response.body' });
      },
      { secretKeys: SECRET, getUser },
    );
    const res = await new HttpCommunicator(shared, 'POST', '/login').getResponse();
    const wsCookie = res.header('set-cookie')!.split(';')[0]!;
    const comm = new WebsocketCommunicator(shared, '/ws/', { headers: [['cookie', wsCookie]] });
    assert.equal((await comm.connect()).connected, true);
    assert.equal(who, 'Ada');
    await comm.disconnect();
  });
});

describe('TokenAuthMiddleware and AllowedHostsMiddleware', async () => {
  const { TokenAuthMiddleware, AllowedHostsMiddleware } = await import('../../src/middleware/index.ts');
  const { SignJWT } = await import('jose');
  const secret = 'a-shared-jwt-signing-secret';
  const token = await new SignJWT({ name: 'Grace' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('12')
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(secret));
  let who: unknown = null;
  const inner: Application = async (scope, receive, send) => {
    who = scope.user;
    await receive();
    if (scope.type === 'websocket') {
      await send({ type: 'websocket.accept', subprotocol: scope.subprotocols.includes('bearer') ? 'bearer' : null });
      await receive();
    } else {
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: 'ok' });
    }
  };
  const app = TokenAuthMiddleware(inner, { jwtKey: secret });

  it('accepts a valid JWT from the subprotocol header or the query; scope.user from its claims', async () => {
    const viaProtocol = await new WebsocketCommunicator(app, '/ws/', { subprotocols: ['bearer', token] }).connect();
    assert.equal(viaProtocol.connected, true);
    assert.equal(viaProtocol.subprotocol, 'bearer');
    assert.deepEqual(
      { id: (who as { id: string }).id, name: (who as { name: string }).name },
      { id: '12', name: 'Grace' },
    );
    const viaQuery = await new WebsocketCommunicator(app, `/ws/?token=${token}`).connect();
    assert.equal(viaQuery.connected, true);
  });

  it('denies a missing, forged or expired token with 401', async () => {
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('12')
      .sign(new TextEncoder().encode('another-secret-entirely'));
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('12')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(new TextEncoder().encode(secret));
    for (const path of ['/ws/', `/ws/?token=${forged}`, `/ws/?token=${expired}`, '/ws/?token=garbage']) {
      const r = await new WebsocketCommunicator(app, path).connect();
      assert.equal(r.connected, false, path);
      assert.equal(r.response?.status, 401, path);
    }
    assert.equal((await new HttpCommunicator(app, 'GET', '/api').getResponse()).status, 401);
    assert.equal(
      (
        await new HttpCommunicator(app, 'GET', '/api', {
          headers: [['authorization', `Bearer ${token}`]],
        }).getResponse()
      ).status,
      200,
    );
  });

  it('a verify callback can stand in for JWT', async () => {
    const cb = TokenAuthMiddleware(inner, {
      verify: (t) => (t === 'letmein' ? { id: 1, isAuthenticated: true } : null),
    });
    assert.equal((await new WebsocketCommunicator(cb, '/ws/?token=letmein').connect()).connected, true);
    assert.equal((await new WebsocketCommunicator(cb, '/ws/?token=nope').connect()).response?.status, 401);
  });

  it('AllowedHostsMiddleware answers 400 for an unknown Host', async () => {
    const hosts = AllowedHostsMiddleware(inner, ['example.com', '.example.org']);
    assert.equal(
      (await new HttpCommunicator(hosts, 'GET', '/', { headers: [['host', 'example.com:8000']] }).getResponse()).status,
      200,
    );
    assert.equal(
      (await new HttpCommunicator(hosts, 'GET', '/', { headers: [['host', 'api.example.org']] }).getResponse()).status,
      200,
    );
    assert.equal(
      (await new HttpCommunicator(hosts, 'GET', '/', { headers: [['host', 'evil.test']] }).getResponse()).status,
      400,
    );
    assert.equal((await new HttpCommunicator(hosts, 'GET', '/').getResponse()).status, 400, 'no Host at all');
  });
});

describe('CsrfMiddleware', async () => {
  const { CsrfMiddleware } = await import('../../src/middleware/index.ts');
  const app = CsrfMiddleware(
    async (_scope, receive, send) => {
      await receive();
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: 'done' });
    },
    { trustedOrigins: ['https://admin.example.com'] },
  );
  const post = (headers: [string, string][]) =>
    new HttpCommunicator(app, 'POST', '/transfer', { headers }).getResponse();

  it('gives safe requests a csrftoken cookie', async () => {
    const res = await new HttpCommunicator(app, 'GET', '/form').getResponse();
    assert.match(res.header('set-cookie')!, /^csrftoken=[\w-]+; Max-Age=31449600; Path=\/; SameSite=Lax$/);
  });

  it('refuses a cookie-carrying POST without the token or a same-site Origin', async () => {
    assert.equal(
      (
        await post([
          ['host', 'bank.test'],
          ['cookie', 'sessionid=abc; csrftoken=t0k3n'],
        ])
      ).status,
      403,
    );
    assert.equal(
      (
        await post([
          ['host', 'bank.test'],
          ['cookie', 'sessionid=abc; csrftoken=t0k3n'],
          ['origin', 'https://evil.test'],
        ])
      ).status,
      403,
    );
    assert.equal(
      (
        await post([
          ['host', 'bank.test'],
          ['cookie', 'sessionid=abc; csrftoken=t0k3n'],
          ['x-csrftoken', 'wrong'],
        ])
      ).status,
      403,
    );
  });

  it('accepts the double-submitted token, a same-site or trusted Origin, and cookie-less requests', async () => {
    assert.equal(
      (
        await post([
          ['host', 'bank.test'],
          ['cookie', 'sessionid=abc; csrftoken=t0k3n'],
          ['x-csrftoken', 't0k3n'],
        ])
      ).status,
      200,
    );
    assert.equal(
      (
        await post([
          ['host', 'bank.test'],
          ['cookie', 'sessionid=abc'],
          ['origin', 'https://bank.test'],
        ])
      ).status,
      200,
    );
    assert.equal(
      (
        await post([
          ['host', 'bank.test'],
          ['cookie', 'sessionid=abc'],
          ['origin', 'https://admin.example.com'],
        ])
      ).status,
      200,
    );
    assert.equal((await post([['host', 'bank.test']])).status, 200, 'no cookies: nothing to forge');
  });
});

describe('signed-cookie sessions, scopeMiddleware, Redis sessions across processes', async () => {
  const { SignedCookieSessionStore, scopeMiddleware } = await import('../../src/middleware/index.ts');

  it('keeps the session in the signed cookie; tampering gives a fresh session', async () => {
    const app = SessionMiddleware(counter(), { secretKeys: SECRET, store: new SignedCookieSessionStore() });
    const first = await request(app);
    const cookie = first.setCookie!.split(';')[0]!;
    const second = await request(app, cookie);
    assert.equal(second.body, '2', 'the data came back from the cookie alone');
    assert.notEqual(second.setCookie, first.setCookie, 'each change rewrites the cookie');
    const [name, value] = cookie.split('=') as [string, string];
    const forgedData = Buffer.from(JSON.stringify({ d: { n: 100 }, e: Date.now() + 60_000 })).toString('base64url');
    const signed = decodeURIComponent(value);
    const forged = `${name}=${forgedData}${signed.slice(signed.lastIndexOf('.'))}`;
    assert.equal((await request(app, forged)).body, '1', 'data changed under the old signature is refused');
  });

  it('scopeMiddleware adds keys on a copy of the scope', async () => {
    const Tenant = scopeMiddleware(() => ({ tenant: 'acme' }));
    let seen: unknown;
    const inner: Application = async (scope, receive, send) => {
      seen = (scope as unknown as { tenant: string }).tenant;
      await receive();
      await send({ type: 'http.response.start', status: 204 });
      await send({ type: 'http.response.body' });
    };
    const c = new HttpCommunicator(Tenant(inner), 'GET', '/');
    await c.getResponse();
    assert.equal(seen, 'acme');
    assert.equal((c.scope as unknown as { tenant?: string }).tenant, undefined, 'the outer scope is untouched');
  });

  it('a session written by another process is read here through Redis', async () => {
    const { spawnSync } = await import('node:child_process');
    const admin = await requireRedis();
    const prefix = `${uniquePrefix()}:session:`;
    const store = new RedisSessionStore({ prefix });
    try {
      const child = spawnSync(process.execPath, ['test/fixtures/session-writer.ts'], {
        encoding: 'utf8',
        env: { ...process.env, PREFIX: prefix, NAME: 'from-another-process', SECRET: SECRET[0] },
        timeout: 20000,
      });
      assert.equal(child.status, 0, child.stderr);
      const cookie = child.stdout.trim();
      let name: unknown;
      const reader = SessionMiddleware(
        async (scope, receive, send) => {
          name = scope.session!.get('name');
          await receive();
          await send({ type: 'http.response.start', status: 204 });
          await send({ type: 'http.response.body' });
        },
        { secretKeys: SECRET, store },
      );
      await new HttpCommunicator(reader, 'GET', '/', { headers: [['cookie', cookie]] }).getResponse();
      assert.equal(name, 'from-another-process');
    } finally {
      await store.close();
      await cleanPrefix(admin, prefix);
      admin.disconnect();
    }
  });
});

it('an expired session gives a fresh one', async () => {
  const app = SessionMiddleware(counter(), { secretKeys: SECRET, maxAge: 1 });
  const cookie = (await request(app)).setCookie!.split(';')[0]!;
  assert.equal((await request(app, cookie)).body, '2');
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal((await request(app, cookie)).body, '1', 'past maxAge the store has forgotten it');
});
