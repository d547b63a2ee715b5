// Certificates for the TLS tests, made with openssl in a temporary folder: a CA, a server
// certificate for localhost and 127.0.0.1 signed by it, and a client certificate signed by it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCerts {
  dir: string;
  /** File paths. */
  files: { caCert: string; serverKey: string; serverCert: string; clientKey: string; clientCert: string };
  ca: Buffer;
  serverKey: Buffer;
  serverCert: Buffer;
  clientKey: Buffer;
  clientCert: Buffer;
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function makeCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'canal-certs-'));
  openssl(
    ['req', '-x509', ...EC, '-subj', '/CN=Canal Test CA', '-days', '2', '-keyout', 'ca.key', '-out', 'ca.pem'],
    dir,
  );
  const sign = (name: string, subject: string, ext: string) => {
    openssl(['req', ...EC, '-subj', subject, '-keyout', `${name}.key`, '-out', `${name}.csr`], dir);
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '2',
      ].concat(['-extfile', `${name}.ext`, '-out', `${name}.pem`]),
      dir,
    );
  };
  sign('server', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  sign('client', '/C=FR/O=Canal Tests/CN=alice', 'extendedKeyUsage=clientAuth\n');
  const f = (n: string) => join(dir, n);
  const files = {
    caCert: f('ca.pem'),
    serverKey: f('server.key'),
    serverCert: f('server.pem'),
    clientKey: f('client.key'),
    clientCert: f('client.pem'),
  };
  return {
    dir,
    files,
    ca: readFileSync(files.caCert),
    serverKey: readFileSync(files.serverKey),
    serverCert: readFileSync(files.serverCert),
    clientKey: readFileSync(files.clientKey),
    clientCert: readFileSync(files.clientCert),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
