// `canal serve --http2`: h2 over TLS (with --ssl-*), cleartext h2c without, on TCP and on a
// unix socket; a combination that cannot work is one line and exit 2.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { type ClientHttp2Session, connect } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { FIXTURES, runCli, startCli, stop, tempDir, type Cli } from './cli-helpers.ts';
import { makeCerts, type TestCerts } from './tls-certs.ts';

const APP = `${join(FIXTURES, 'scope-app.ts')}:scopeApp`;

let certs: TestCerts;
let tmp: ReturnType<typeof tempDir>;
before(() => {
  certs = makeCerts();
  tmp = tempDir();
});
after(() => {
  certs.remove();
  tmp.remove();
});

async function listening(cli: Cli): Promise<string> {
  return (await cli.waitFor(/canal: listening on (.+) \(pid \d+\)/))[1]!;
}

/** GET / on a new HTTP/2 connection: the scope app's JSON, and the protocol ALPN chose. */
// biome-ignore lint/suspicious/noExplicitAny: the app's JSON answer
async function askH2(client: ClientHttp2Session): Promise<any> {
  try {
    const text = await new Promise<string>((resolve, reject) => {
      const stream = client.request({ ':path': '/' });
      let body = '';
      stream.setEncoding('utf8');
      stream.on('data', (c: string) => (body += c));
      stream.on('end', () => resolve(body));
      stream.on('error', reject);
      client.on('error', reject);
      stream.end();
    });
    return { ...JSON.parse(text), alpn: client.alpnProtocol };
  } finally {
    client.close();
  }
}

describe('canal serve --http2', { concurrency: 2 }, () => {
  it('with --ssl-*: h2 by ALPN, https in the scope', async () => {
    const f = certs.files;
    const cli = startCli(
      ['serve', APP, '--port', '0', '--http2', '--ssl-keyfile', f.serverKey].concat(['--ssl-certfile', f.serverCert]),
    );
    try {
      const port = Number((await listening(cli)).match(/^https:\/\/127\.0\.0\.1:(\d+)$/)![1]);
      const said = await askH2(connect(`https://localhost:${port}`, { ca: certs.ca }));
      assert.equal(said.alpn, 'h2');
      assert.equal(said.scheme, 'https');
      assert.equal(said.tls.tls_version, 0x0304);
    } finally {
      assert.equal(await stop(cli), 0);
    }
  });

  it('without TLS: h2c on TCP and on a unix socket', async () => {
    const path = join(tmp.dir, 'h2c.sock');
    const cli = startCli(['serve', APP, '--port', '0', '--http2', '--uds', path]);
    try {
      const port = Number((await listening(cli)).match(/^http:\/\/127\.0\.0\.1:(\d+), unix:/)![1]);
      const said = await askH2(connect(`http://127.0.0.1:${port}`));
      assert.equal(said.scheme, 'http');
      assert.equal(said.client[0], '127.0.0.1');
      const viaUnix = await askH2(connect('http://localhost', { createConnection: () => netConnect(path) }));
      assert.equal(viaUnix.scheme, 'http');
      assert.deepEqual(viaUnix.server, [path, null]);
    } finally {
      assert.equal(await stop(cli), 0);
    }
  });

  it("--http2 with a config file's transport: one line naming both, exit 2", async () => {
    const config = join(tmp.dir, 'canal.config.ts');
    writeFileSync(
      config,
      `import { createServer } from 'node:http';\n` +
        `export default { application: ${JSON.stringify(APP)}, server: { transport: (o) => createServer(o) } };\n`,
    );
    const r = await runCli(['serve', '--config', config, '--http2']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, "canal: --http2 does not go with the config file's server.transport: remove one of them\n");
  });
});
